export { createTestDatabase, type TestDatabase } from './test-database.js';
export { freePort } from './free-port.js';
