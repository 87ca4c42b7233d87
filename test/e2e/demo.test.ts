import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTsx, stackCli, testStackEnv } from '../support/stack-cli.js';

// `pnpm demo` from a clean state: it starts its own stack and must hold at every step.
describe('pnpm demo', () => {
  let env: Record<string, string>;

  beforeAll(async () => {
    env = await testStackEnv();
  });

  afterAll(async () => {
    await stackCli(['down', '--purge'], env);
  });

  it('runs the seed walkthrough end to end and exits 0', async () => {
    const demo = await runTsx('scripts/demo.ts', [], env, 300_000);
    expect(demo.stdout).toMatch(/The walkthrough held at every step/);
    expect(demo.code, `${demo.stdout}\n${demo.stderr}`).toBe(0);
    for (const step of [
      /create the primary broker in region-a .*\n.*\n\s+\.\.\. ok/,
      /create its replica in region-b .*\n.*\n\s+\.\.\. ok/,
      /reboot the primary to start replication\n.*\n\s+\.\.\. ok/,
      /send 10 persistent messages to TestQueue .*\n\s+\.\.\. ok/,
      /a client connecting to the replica is refused, with the primary named\n\s+\.\.\. ok .*ERROR ".*replica.*"/,
      /promote the replica from region-b by switchover .*\n.*\n\s+\.\.\. ok/,
      /read the 10 messages from the new primary in region-b\n\s+\.\.\. ok .*"CRDR test message 1" \.\.\. "CRDR test message 10"/,
    ]) {
      expect(demo.stdout).toMatch(step);
    }
  });
});
