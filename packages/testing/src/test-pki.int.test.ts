import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestPki, type TestPki } from './test-pki.js';

describe('createTestPki', () => {
  const made: TestPki[] = [];
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(made.map((pki) => pki.cleanup()));
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('makes a CA, a server and a client certificate it signed, and an unrelated CA and client', async () => {
    const pki = await createTestPki();
    made.push(pki);
    const ca = new X509Certificate(pki.ca.cert);
    const foreignCa = new X509Certificate(pki.foreignCa.cert);
    const server = new X509Certificate(pki.server.cert);
    const client = new X509Certificate(pki.client.cert);
    const foreignClient = new X509Certificate(pki.foreignClient.cert);

    expect(ca.ca).toBe(true);
    expect(foreignCa.ca).toBe(true);
    expect(server.checkIssued(ca) && server.verify(ca.publicKey)).toBe(true);
    expect(client.checkIssued(ca) && client.verify(ca.publicKey)).toBe(true);
    expect(foreignClient.checkIssued(foreignCa)).toBe(true);
    expect(foreignClient.checkIssued(ca)).toBe(false);
    expect(foreignClient.verify(ca.publicKey)).toBe(false);

    expect(server.subjectAltName).toContain('DNS:localhost');
    expect(server.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(server.checkHost('localhost')).toBe('localhost');
    expect(server.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(client.subject).toContain('CN=replicator');
    expect(createPublicKey(pki.client.cert).asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    // Each key belongs to its certificate.
    for (const leaf of [pki.server, pki.client, pki.foreignClient]) {
      expect(new X509Certificate(leaf.cert).checkPrivateKey(createPrivateKey(leaf.key))).toBe(true);
      expect(existsSync(leaf.certPath) && existsSync(leaf.keyPath)).toBe(true);
    }
  });

  it('returns the same PKI when asked again for the same folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'crdr-pki-test-'));
    dirs.push(dir);
    const first = await createTestPki(dir);
    const second = await createTestPki(dir);
    expect(second.ca.cert).toBe(first.ca.cert);
    expect(second.client.key).toBe(first.client.key);

    await second.cleanup();
    expect(existsSync(first.ca.certPath)).toBe(false);
    expect(existsSync(dir)).toBe(true); // a folder it did not make is left in place
  });

  it('removes its own temporary folder on cleanup', async () => {
    const pki = await createTestPki();
    await pki.cleanup();
    expect(existsSync(pki.dir)).toBe(false);
  });
});
