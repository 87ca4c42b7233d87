import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'nats';
import type { BrokerConfig } from '../../config.js';

/** NATS connection options from the broker's configuration (credentials, TLS files). */
export function natsOptions(config: Readonly<BrokerConfig>): ConnectionOptions {
  const tls =
    config.BROKER_NATS_TLS_CA === undefined && config.BROKER_NATS_TLS_CERT === undefined
      ? undefined
      : {
          ...(config.BROKER_NATS_TLS_CA === undefined
            ? {}
            : { ca: readFileSync(config.BROKER_NATS_TLS_CA, 'utf8') }),
          ...(config.BROKER_NATS_TLS_CERT === undefined
            ? {}
            : { cert: readFileSync(config.BROKER_NATS_TLS_CERT, 'utf8') }),
          ...(config.BROKER_NATS_TLS_KEY === undefined
            ? {}
            : { key: readFileSync(config.BROKER_NATS_TLS_KEY, 'utf8') }),
        };
  return {
    servers: config.BROKER_NATS_URL,
    ...(config.BROKER_NATS_USER === undefined ? {} : { user: config.BROKER_NATS_USER }),
    ...(config.BROKER_NATS_PASSWORD === undefined ? {} : { pass: config.BROKER_NATS_PASSWORD }),
    ...(tls === undefined ? {} : { tls }),
  };
}
