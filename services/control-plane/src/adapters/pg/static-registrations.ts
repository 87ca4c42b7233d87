import type pg from 'pg';
import type { BrokerInstanceInfo } from '../provisioning/provisioner.js';

/** A broker instance's last registration (static provisioning). */
export interface StaticRegistration {
  readonly brokerId: string;
  readonly instance: BrokerInstanceInfo;
  readonly lastSeen: Date;
}

/**
 * The static provisioner's registrations, kept in the control plane's database so that a
 * restarted control plane knows the instances at once (a creation or reboot it resumes does not
 * wait for the next heartbeat, and DescribeBroker shows them). One row per instance; a
 * re-registration (the brokers repeat it as a heartbeat) updates its endpoints and last_seen.
 */
export interface StaticRegistrationStore {
  migrate(): Promise<void>;
  save(brokerId: string, instance: BrokerInstanceInfo): Promise<Date>;
  list(): Promise<StaticRegistration[]>;
  /** Forgets a deleted broker's instances. */
  remove(brokerId: string): Promise<void>;
}

interface Row {
  broker_id: string;
  instance_id: string;
  stomp: string;
  ws: string;
  grpc: string;
  last_seen: Date;
}

export function createStaticRegistrationStore(
  pool: pg.Pool,
  table = 'static_broker_instances',
): StaticRegistrationStore {
  return {
    async migrate() {
      await pool.query(`
        CREATE TABLE IF NOT EXISTS ${table} (
          broker_id text NOT NULL,
          instance_id text NOT NULL,
          stomp text NOT NULL,
          ws text NOT NULL,
          grpc text NOT NULL,
          last_seen timestamptz NOT NULL DEFAULT now(),
          PRIMARY KEY (broker_id, instance_id)
        )`);
    },
    async save(brokerId, instance) {
      const { rows } = await pool.query<{ last_seen: Date }>(
        `INSERT INTO ${table} (broker_id, instance_id, stomp, ws, grpc, last_seen)
         VALUES ($1, $2, $3, $4, $5, now())
         ON CONFLICT (broker_id, instance_id) DO UPDATE
           SET stomp = EXCLUDED.stomp, ws = EXCLUDED.ws, grpc = EXCLUDED.grpc, last_seen = now()
         RETURNING last_seen`,
        [brokerId, instance.instanceId, instance.stomp, instance.ws, instance.grpc],
      );
      return rows[0]!.last_seen;
    },
    async list() {
      const { rows } = await pool.query<Row>(
        `SELECT broker_id, instance_id, stomp, ws, grpc, last_seen FROM ${table}`,
      );
      return rows.map((r) => ({
        brokerId: r.broker_id,
        instance: { instanceId: r.instance_id, stomp: r.stomp, ws: r.ws, grpc: r.grpc },
        lastSeen: r.last_seen,
      }));
    },
    async remove(brokerId) {
      await pool.query(`DELETE FROM ${table} WHERE broker_id = $1`, [brokerId]);
    },
  };
}
