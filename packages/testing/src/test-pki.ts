import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A certificate authority: its certificate (PEM) and where it is on disk. */
export interface TestCa {
  readonly certPath: string;
  readonly cert: string;
  readonly keyPath: string;
  readonly key: string;
}

/** A leaf certificate with its private key, PEM contents and file paths. */
export interface TestCertificate {
  readonly certPath: string;
  readonly keyPath: string;
  readonly cert: string;
  readonly key: string;
}

/**
 * A throwaway PKI for mutual TLS tests. `server` is valid for `localhost` and `127.0.0.1`;
 * `client` (CN `replicator`) is signed by `ca`; `foreignClient` (CN `replicator` too) is signed
 * by `foreignCa`, which nothing trusts, so a server verifying against `ca` must refuse it.
 */
export interface TestPki {
  readonly dir: string;
  readonly ca: TestCa;
  readonly server: TestCertificate;
  readonly client: TestCertificate;
  readonly foreignCa: TestCa;
  readonly foreignClient: TestCertificate;
  /** Deletes what `createTestPki` wrote: the whole folder when it made it, else only its files. */
  cleanup(): Promise<void>;
}

const FILES = {
  ca: 'ca',
  server: 'server',
  client: 'client',
  foreignCa: 'foreign-ca',
  foreignClient: 'foreign-client',
} as const;

const DAYS = '3650';

/**
 * Makes a CA, a server certificate, a client certificate and a second, unrelated CA with its
 * own client certificate, with `openssl` (EC P-256 keys, so it takes tens of milliseconds).
 *
 * Without `dir` it writes into a fresh temporary folder. With `dir` it is idempotent: when the
 * folder already holds a complete PKI from an earlier call, that PKI is returned unchanged, so
 * several processes (or a restarted test) can share one set of certificates.
 */
export async function createTestPki(dir?: string): Promise<TestPki> {
  const ownsDir = dir === undefined;
  const root = dir ?? (await mkdtemp(join(tmpdir(), 'crdr-pki-')));
  await mkdir(root, { recursive: true });
  const paths = allPaths(root);

  if (!(await allExist(Object.values(paths).flat()))) {
    await Promise.all([
      createCa(root, FILES.ca, 'crdr test CA'),
      createCa(root, FILES.foreignCa, 'crdr foreign test CA'),
    ]);
    await Promise.all([
      createLeaf(root, FILES.server, FILES.ca, 'localhost', [
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        'extendedKeyUsage=serverAuth',
      ]),
      createLeaf(root, FILES.client, FILES.ca, 'replicator', ['extendedKeyUsage=clientAuth']),
      createLeaf(root, FILES.foreignClient, FILES.foreignCa, 'replicator', [
        'extendedKeyUsage=clientAuth',
      ]),
    ]);
  }

  const load = async (name: string) => ({
    certPath: join(root, `${name}.pem`),
    keyPath: join(root, `${name}.key`),
    cert: await readFile(join(root, `${name}.pem`), 'utf8'),
    key: await readFile(join(root, `${name}.key`), 'utf8'),
  });
  return {
    dir: root,
    ca: await load(FILES.ca),
    server: await load(FILES.server),
    client: await load(FILES.client),
    foreignCa: await load(FILES.foreignCa),
    foreignClient: await load(FILES.foreignClient),
    async cleanup() {
      if (ownsDir) await rm(root, { recursive: true, force: true });
      else
        await Promise.all(
          Object.values(paths)
            .flat()
            .map((path) => rm(path, { force: true })),
        );
    },
  };
}

function allPaths(root: string): Record<keyof typeof FILES, string[]> {
  const pair = (name: string) => [join(root, `${name}.pem`), join(root, `${name}.key`)];
  return {
    ca: pair(FILES.ca),
    server: pair(FILES.server),
    client: pair(FILES.client),
    foreignCa: pair(FILES.foreignCa),
    foreignClient: pair(FILES.foreignClient),
  };
}

async function allExist(paths: readonly string[]): Promise<boolean> {
  try {
    await Promise.all(paths.map((path) => access(path)));
    return true;
  } catch {
    return false;
  }
}

function openssl(cwd: string, args: readonly string[]): Promise<unknown> {
  return run('openssl', args, { cwd, timeout: 30_000 }).catch((error: unknown) => {
    throw new Error(`openssl ${args[0] ?? ''} failed`, { cause: error });
  });
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function createCa(root: string, name: string, commonName: string): Promise<void> {
  await openssl(root, [
    'req',
    '-x509',
    ...EC_KEY,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.pem`,
    '-days',
    DAYS,
    '-subj',
    `/CN=${commonName}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

async function createLeaf(
  root: string,
  name: string,
  caName: string,
  commonName: string,
  extensions: readonly string[],
): Promise<void> {
  const extFile = `${name}.ext`;
  const csrFile = `${name}.csr`;
  await writeFile(
    join(root, extFile),
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      ...extensions,
      '',
    ].join('\n'),
  );
  await openssl(root, [
    'req',
    '-new',
    ...EC_KEY,
    '-keyout',
    `${name}.key`,
    '-out',
    csrFile,
    '-subj',
    `/CN=${commonName}`,
  ]);
  await openssl(root, [
    'x509',
    '-req',
    '-in',
    csrFile,
    '-CA',
    `${caName}.pem`,
    '-CAkey',
    `${caName}.key`,
    // A random serial instead of a .srl file, so nothing else is left behind.
    '-set_serial',
    `0x${randomSerial()}`,
    '-days',
    DAYS,
    '-extfile',
    extFile,
    '-out',
    `${name}.pem`,
  ]);
  await Promise.all([rm(join(root, extFile)), rm(join(root, csrFile))]);
}

function randomSerial(): string {
  const bytes = randomBytes(8);
  bytes[0] = bytes[0]! & 0x7f; // a positive serial
  return bytes.toString('hex');
}
