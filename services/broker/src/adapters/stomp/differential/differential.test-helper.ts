import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/**
 * Shared pieces of the differential suite (activemq-differential.int.test.ts): the broker under
 * test as a client sees it, the scenario table's row type, the external drivers, and the
 * normalisation of what legitimately differs between ActiveMQ and our broker.
 */

/** A STOMP endpoint on loopback: ActiveMQ's or ours. */
export interface Target {
  readonly name: 'activemq' | 'ours';
  readonly host: string;
  readonly stompPort: number;
}

/** One row of the table: what a client does, and what it observed, as JSON. */
export interface Scenario {
  readonly name: string;
  readonly client: 'stomp.py' | 'ruby stomp' | '@stomp/stompjs' | 'stompit';
  run(target: Target): Promise<unknown>;
}

const run = promisify(execFile);
const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));
const python = process.env['STOMP_PY_PYTHON'] ?? '/usr/bin/python3';
const ruby = process.env['STOMP_RUBY'] ?? '/usr/bin/ruby';

async function driver(command: string, args: readonly string[], hint: string): Promise<unknown> {
  try {
    const { stdout } = await run(command, [...args], {
      timeout: 240_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return JSON.parse(stdout) as unknown;
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; message?: string };
    throw new Error(
      `${command} ${args.join(' ')} failed (${hint}): ${e.message ?? ''}\n${e.stderr ?? ''}\n${e.stdout ?? ''}`,
    );
  }
}

/** A scenario of stomp-py-driver.py (Debian's python3-stomp). */
export const stompPy = (name: string): Scenario => ({
  name,
  client: 'stomp.py',
  run: (target) =>
    driver(
      python,
      [here('./stomp-py-driver.py'), name, target.host, String(target.stompPort)],
      'stomp.py: run scripts/ensure-stomp-clients.sh',
    ),
});

/** A scenario of ruby-stomp-driver.rb (Debian's ruby-stomp). */
export const rubyStomp = (name: string): Scenario => ({
  name,
  client: 'ruby stomp',
  run: (target) =>
    driver(
      ruby,
      [here('./ruby-stomp-driver.rb'), name, target.host, String(target.stompPort)],
      'the Ruby stomp gem: run scripts/ensure-stomp-clients.sh',
    ),
});

/** Headers compared as they are. Anything else a broker adds is its own business. */
const comparedHeaders = new Set([
  'destination',
  'subscription',
  'content-length',
  'content-type',
  'redelivered',
  'original-destination',
  'reply-to',
  'type',
  // The scenarios' own properties.
  'color',
  'price',
  'level',
  'n',
  'size',
  'name',
  'tag',
  // Not compared: JMSXGroupID, which ActiveMQ's STOMP MESSAGE leaves out and our broker passes
  // on like any other header (docs/interface.md).
]);
/** Headers whose presence is compared, not their value (ids, timestamps). */
const presentHeaders = new Set(['message-id', 'ack']);

/** What both brokers must agree on: message ids and timestamps reduced to their presence. */
export function normalise(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalise);
  if (typeof value === 'string') return normaliseTempNames(value);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
    out[key] = key === 'headers' ? normaliseHeaders(inner) : normalise(inner);
  }
  return out;
}

function normaliseHeaders(headers: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (headers === null || typeof headers !== 'object') return out;
  for (const [key, value] of Object.entries(headers as Record<string, unknown>)) {
    if (comparedHeaders.has(key))
      out[key] = typeof value === 'string' ? normaliseTempNames(value) : value;
    else if (presentHeaders.has(key)) out[key] = value !== undefined && value !== '';
  }
  return out;
}

/**
 * Another connection's temporary destination is `/remote-temp-queue/ID:...` (or -topic) with an
 * id each broker generates its own way (ActiveMQ's has its host, port and a clock); the kind and
 * the presence of the id are compared.
 */
const normaliseTempNames = (value: string): string =>
  value.replace(/\/remote-temp-(queue|topic)\/ID:[^,\s]+/g, '/remote-temp-$1/ID:generated');
