import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { host, startTestBroker, type TestBroker } from './broker.test-helper.js';

// The ActiveMQ-compatibility points of issue 13 as stomp.py (Debian's python3-stomp, installed
// by scripts/ensure-stomp-clients.sh) sees them: a name with "/", a wildcard subscription
// following a topic created after it, a selector, and NACK to ActiveMQ.DLQ.

const run = promisify(execFile);
const python = process.env['STOMP_PY_PYTHON'] ?? '/usr/bin/python3';
const script = fileURLToPath(new URL('./clients/stomp-py-scenarios.py', import.meta.url));

interface Observed {
  readonly slash: { readonly destination: string };
  readonly wildcard: readonly string[];
  readonly selector: readonly string[];
  readonly nack: { readonly queue: readonly string[]; readonly dlqOriginalDestination: string };
}

describe('stomp.py against the broker', () => {
  let broker: TestBroker;

  beforeAll(async () => {
    broker = await startTestBroker('stomp_py');
  });
  afterAll(async () => {
    await broker?.close();
  });

  it('sees names with "/", a wildcard, a selector and NACK as ActiveMQ 5.17 gives them', async () => {
    if (!existsSync(python)) {
      throw new Error(`${python} is missing: run scripts/ensure-stomp-clients.sh`);
    }
    await run(python, ['-c', 'import stomp']).catch((error: unknown) => {
      throw new Error(
        `stomp.py is not installed: run scripts/ensure-stomp-clients.sh (${String(error)})`,
      );
    });
    const prefix = `py${process.pid}`;
    const { stdout } = await run(python, [script, host, String(broker.stompPort), prefix], {
      timeout: 120_000,
    });
    const observed = JSON.parse(stdout) as Observed;
    expect(observed).toEqual({
      slash: { destination: `/queue/${prefix}/ruby/stomp/x` },
      wildcard: [`/topic/${prefix}.new.topic`],
      selector: ['red'],
      nack: { queue: ['refused', 'next'], dlqOriginalDestination: `/queue/${prefix}-nack` },
    });
  });
});
