import { describe, expect, it } from 'vitest';
import { ConfigError } from '@crdr/config';
import { loadConfig } from './config.js';

const base = { REPLICATOR_PRIMARY_BROKER_ID: 'b-1', REPLICATOR_REPLICA_BROKER_ID: 'b-2' };

describe('loadConfig', () => {
  it('documents its defaults', () => {
    const config = loadConfig(base);
    expect(config).toMatchObject({
      REPLICATOR_BATCH_MAX_EVENTS: 500,
      REPLICATOR_BATCH_MAX_WAIT_MS: 20,
      REPLICATOR_GRPC_HOST: '127.0.0.1',
      REPLICATOR_GRPC_PORT: 0,
      REPLICATOR_BACKOFF_MIN_MS: 200,
      REPLICATOR_BACKOFF_MAX_MS: 10_000,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('needs both broker ids', () => {
    expect(() => loadConfig({})).toThrow(
      /REPLICATOR_PRIMARY_BROKER_ID.*REPLICATOR_REPLICA_BROKER_ID/,
    );
  });

  it('refuses inconsistent bounds and half a client certificate', () => {
    expect(() =>
      loadConfig({ ...base, REPLICATOR_BACKOFF_MIN_MS: '5000', REPLICATOR_BACKOFF_MAX_MS: '100' }),
    ).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, REPLICATOR_NATS_TLS_CERT: '/x.pem' })).toThrow(
      /REPLICATOR_NATS_TLS_KEY go together/,
    );
    expect(() => loadConfig({ ...base, REPLICATOR_BATCH_MAX_EVENTS: '0' })).toThrow(ConfigError);
  });
});
