import { describe, expect, it } from 'vitest';
import type { CliIo } from './cli.js';
import { outputFormatHint, runCli } from './cli.js';

/** Runs the CLI in process for command lines that stop before any I/O (help, usage errors). */
async function cli(argv: string[], stdoutIsTty = false) {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    argv,
    env: {},
    cwd: '/nonexistent',
    stdoutIsTty,
    writeStdout: (text) => (stdout += text),
    writeStderr: (text) => (stderr += text),
  };
  const exitCode = await runCli(io);
  return { exitCode, stdout, stderr };
}

describe('runCli', () => {
  it('prints help and exits 0', async () => {
    const general = await cli(['--help']);
    expect(general.exitCode).toBe(0);
    expect(general.stdout).toMatch(/^usage: pnpm mqctl /);
    expect(general.stdout).toContain('list-divergent-events');
    const verb = await cli(['resolve-divergent-tail', '--help']);
    expect(verb.stdout).toContain('--action REPUBLISH|DISCARD');
  });

  it('reports a usage error on stderr and, for JSON output, as an Error object on stdout', async () => {
    const result = await cli(['promote', '--broker-id', 'b', '--mode', 'NOW']);
    expect(result.exitCode).toBe(252);
    expect(result.stderr).toBe(
      'mqctl: bad value "NOW" for --mode; allowed: SWITCHOVER, FAILOVER\n',
    );
    expect(JSON.parse(result.stdout)).toEqual({
      Error: {
        Code: 'BadRequestException',
        Message: 'bad value "NOW" for --mode; allowed: SWITCHOVER, FAILOVER',
      },
    });
  });

  it('prints only the stderr line in table output', async () => {
    const result = await cli(['describe-broker'], true);
    expect(result.exitCode).toBe(252);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe('mqctl: missing required option --broker-id\n');
  });

  it('checks a verb own rules before connecting', async () => {
    const result = await cli([
      'create-broker',
      '--broker-name',
      'r',
      '--engine-type',
      'activemq',
      '--engine-version',
      '5.18.4',
      '--host-instance-type',
      'mq.m5.large',
      '--deployment-mode',
      'ACTIVE_STANDBY_MULTI_AZ',
      '--users',
      'Username=a,Password=p',
      '--data-replication-mode',
      'CRDR',
    ]);
    expect(result.exitCode).toBe(252);
    expect(result.stderr).toBe(
      'mqctl: --data-replication-mode CRDR needs --data-replication-primary-broker-arn ARN\n',
    );
  });

  it('spots --output before the command line is understood', () => {
    expect(outputFormatHint(['--output', 'table', 'bogus'], false)).toBe('table');
    expect(outputFormatHint(['bogus', '--output=json'], true)).toBe('json');
    expect(outputFormatHint(['bogus'], true)).toBe('table');
    expect(outputFormatHint(['bogus'], false)).toBe('json');
  });
});
