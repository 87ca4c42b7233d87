import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectStomp, isStompServerError } from '@crdr/stomp';
import { isPasswordHash, verifyPassword } from '@crdr/service';
import { createPool } from '@crdr/store';
import { hostPort, waitFor } from '@crdr/testing';
import {
  appUser,
  createPair,
  replicationUser,
  startPromotionRegions,
  stompEndpoints,
  type PromotionRegions,
} from '../support/promotion-regions.js';

/**
 * Issue 12: no password in plain text at rest. The control plane hashes (scrypt) before it
 * records; brokers and the peer Region receive the hash; a user made later replicates its hash.
 */
const lateUser = { username: 'late-user', password: 'late-user-password-1' };
const secrets = [appUser.password, replicationUser.password, lateUser.password];

let regions: PromotionRegions;
let primaryId: string;
let replicaId: string;

/** Every row of a table as text, read straight from Postgres. */
async function tableText(dbUrl: string, query: string): Promise<string> {
  const pool = createPool(dbUrl, { max: 1 });
  try {
    const { rows } = await pool.query(query);
    return JSON.stringify(rows, (_key, value: unknown) =>
      typeof value === 'bigint' ? value.toString() : value,
    );
  } finally {
    await pool.end();
  }
}

async function storedHash(dbUrl: string, username: string): Promise<string | undefined> {
  const pool = createPool(dbUrl, { max: 1 });
  try {
    const { rows } = await pool.query<{ password_hash: string }>(
      'SELECT password_hash FROM users WHERE username = $1',
      [username],
    );
    return rows[0]?.password_hash;
  } finally {
    await pool.end();
  }
}

/** 'connected', or the broker's ERROR message, from any endpoint that answers as primary. */
async function login(endpoints: readonly string[], password: string): Promise<string> {
  let last = 'no endpoint';
  for (const endpoint of endpoints) {
    try {
      const client = await connectStomp({
        ...hostPort(endpoint),
        login: lateUser.username,
        passcode: password,
        connectTimeoutMs: 5_000,
      });
      await client.disconnect();
      return 'connected';
    } catch (error) {
      last = isStompServerError(error) ? (error.headers['message'] ?? '') : String(error);
      // A standby instance refuses the connection; the active one answers.
      if (isStompServerError(error)) return last;
    }
  }
  return last;
}

beforeAll(async () => {
  regions = await startPromotionRegions('pwrest');
  ({ primaryId, replicaId } = await createPair(regions, 'secrets'));
  await regions.a.client.createUser({
    brokerId: primaryId,
    ...lateUser,
    groups: ['apps'],
    consoleAccess: false,
    replicationUser: false,
  });
  const replicaDb = regions.b.brokerDbUrl(replicaId);
  await waitFor(
    async () => (await storedHash(replicaDb, lateUser.username)) !== undefined,
    'the new user to replicate to the replica',
  );
});

afterAll(async () => {
  await regions?.stop();
});

describe('passwords at rest', () => {
  it('the control planes record hashes: no password in either event store', async () => {
    for (const region of [regions.a, regions.b]) {
      const text = await tableText(region.dbUrl, 'SELECT data FROM broker_events');
      expect(text).toContain('passwordHash');
      for (const secret of secrets) expect(text, region.name).not.toContain(secret);
    }
  });

  it('the broker stores hold hashes only, and the replica got the same hash', async () => {
    const primaryDb = regions.a.brokerDbUrl(primaryId);
    const replicaDb = regions.b.brokerDbUrl(replicaId);
    for (const db of [primaryDb, replicaDb]) {
      const text = await tableText(db, 'SELECT * FROM users');
      for (const secret of secrets) expect(text).not.toContain(secret);
    }
    const onPrimary = await storedHash(primaryDb, lateUser.username);
    const onReplica = await storedHash(replicaDb, lateUser.username);
    expect(isPasswordHash(onReplica ?? '')).toBe(true);
    expect(onReplica).toBe(onPrimary);
    expect(await verifyPassword(lateUser.password, onReplica!)).toBe(true);
    expect(await verifyPassword('late-user-password-2', onReplica!)).toBe(false);
  });

  it('login works with the right password and fails with a wrong one', async () => {
    const endpoints = stompEndpoints(await regions.a.describe(primaryId));
    expect(await login(endpoints, lateUser.password)).toBe('connected');
    expect(await login(endpoints, 'late-user-password-2')).toBe('invalid username or password');
  });

  it('after a switchover, the replica logs the replicated user in with its hash', async () => {
    await regions.b.client.promote({ brokerId: replicaId, mode: 'SWITCHOVER' });
    const promoted = await regions.b.waitForBroker(
      replicaId,
      (d) =>
        d.dataReplicationMetadata?.dataReplicationRole === 'PRIMARY' &&
        d.dataReplicationMetadata.replicationStatus === 'PROMOTED' &&
        d.brokerState === 'RUNNING',
      'the replica, promoted',
    );
    const endpoints = stompEndpoints(promoted);
    expect(await login(endpoints, lateUser.password)).toBe('connected');
    expect(await login(endpoints, 'late-user-password-2')).toBe('invalid username or password');
  });
});
