import { setTimeout as sleep } from 'node:timers/promises';
import { connectStomp } from '@crdr/stomp';
import { createTestDatabase, hostPort, startServiceProcess } from '@crdr/testing';

const db = await createTestDatabase('scratch_nack');
const broker = await startServiceProcess({
  entry: 'services/broker/src/main.ts',
  args: ['--db-url', db.url, '--stomp-port', '0', '--ws-port', '0', '--grpc-port', '0', '--broker-id', 'scratch'],
  env: { BROKER_SCRYPT_COST: '1024', LOG_LEVEL: 'warn', BROKER_MAX_REDELIVERIES: process.env['MAXR'] ?? '2' },
});
const opts = { ...hostPort(broker.endpoints['stomp']!), login: 'admin', passcode: 'admin' };
const client = await connectStomp(opts);
let nacked = 0;
const mode = process.env['MODE'] ?? 'nack';
await client.subscribe('/queue/poison', (m) => {
  if (mode === 'nack') m.nack({ receipt: false }).then(() => nacked++, () => undefined);
}, { ack: 'client-individual', 'activemq.prefetchSize': 10 });
for (let i = 0; i < Number(process.env['N'] ?? 20); i++) { await client.send('/queue/poison', `p${i}`, { persistent: true }); await sleep(100); }
const t0 = Date.now();
const result = await Promise.race([client.disconnect().then(() => 'receipt'), sleep(5000).then(() => 'NO RECEIPT')]);
console.log('errors', client.receiveErrors().map((e) => e.headers['message']));
console.log(mode, 'disconnect:', result, Date.now() - t0, 'ms; nacked', nacked);
console.log(broker.logs().slice(-2000));
await broker.kill();
await db.drop();
process.exit(0);
