import type { Metadata } from '@grpc/grpc-js';
import { forbidden, unauthenticated } from '@crdr/errors';
import { parseBasicAuth } from '@crdr/proto';
import { sourceAddress } from '@crdr/service';
import type { BrokerEngine, Principal } from '../../engine/engine.types.js';

/**
 * The caller of a gRPC call, from its `authorization: Basic ...` metadata. Every call
 * authenticates; any caching and throttling is the engine's.
 */
export async function authenticateCall(
  engine: BrokerEngine,
  call: { readonly metadata: Metadata; getPeer(): string },
): Promise<Principal> {
  const { metadata } = call;
  const credentials = parseBasicAuth(metadata);
  if (!credentials) {
    throw unauthenticated(
      'missing or malformed credentials: send "authorization: Basic base64(username:password)"',
    );
  }
  return engine.authenticate(
    credentials.username,
    credentials.password,
    sourceAddress(call.getPeer()),
  );
}

/** Admin calls need a user with console access. */
export async function authenticateConsoleUser(
  engine: BrokerEngine,
  call: { readonly metadata: Metadata; getPeer(): string },
): Promise<Principal> {
  const principal = await authenticateCall(engine, call);
  if (!principal.consoleAccess) throw forbidden(`user ${principal.username} has no console access`);
  return principal;
}
