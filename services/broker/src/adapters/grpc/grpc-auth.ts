import type { Metadata } from '@grpc/grpc-js';
import { forbidden, unauthenticated } from '@crdr/errors';
import { parseBasicAuth } from '@crdr/proto';
import type { BrokerEngine, Principal } from '../../engine/engine.types.js';

/**
 * The caller of a gRPC call, from its `authorization: Basic ...` metadata. Every call
 * authenticates; any caching is the engine's.
 */
export async function authenticateCall(
  engine: BrokerEngine,
  metadata: Metadata,
): Promise<Principal> {
  const credentials = parseBasicAuth(metadata);
  if (!credentials) {
    throw unauthenticated(
      'missing or malformed credentials: send "authorization: Basic base64(username:password)"',
    );
  }
  return engine.authenticate(credentials.username, credentials.password);
}

/** Admin calls need a user with console access. */
export async function authenticateConsoleUser(
  engine: BrokerEngine,
  metadata: Metadata,
): Promise<Principal> {
  const principal = await authenticateCall(engine, metadata);
  if (!principal.consoleAccess) throw forbidden(`user ${principal.username} has no console access`);
  return principal;
}
