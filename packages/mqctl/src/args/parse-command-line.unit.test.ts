import { describe, expect, it } from 'vitest';
import { UsageError } from '../errors.js';
import { defaultRegistry } from '../cli.js';
import type { CommandLine } from './parse-command-line.js';
import { parseCommandLine } from './parse-command-line.js';

function parse(...args: string[]): CommandLine {
  return parseCommandLine(args, defaultRegistry);
}

function run(...args: string[]) {
  const command = parse(...args);
  if (command.kind !== 'run') throw new Error(`expected a command, got ${command.kind}`);
  return command;
}

function usageError(...args: string[]): string {
  try {
    parse(...args);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as UsageError).message;
  }
  throw new Error(`expected a usage error for ${args.join(' ')}`);
}

const createBrokerArgs = [
  'create-broker',
  '--broker-name',
  'orders',
  '--engine-type',
  'ACTIVEMQ',
  '--engine-version',
  '5.18.4',
  '--host-instance-type',
  'mq.m5.large',
  '--deployment-mode',
  'ACTIVE_STANDBY_MULTI_AZ',
];

describe('parseCommandLine', () => {
  it('reads the verb and its flags', () => {
    const command = run('describe-broker', '--broker-id', 'b-1');
    expect(command.verb).toBe('describe-broker');
    expect(command.flags).toEqual({ 'broker-id': 'b-1' });
    expect(command.globals).toEqual({
      region: undefined,
      'endpoint-url': undefined,
      output: undefined,
      'cli-read-timeout': undefined,
      help: undefined,
    });
  });

  it('takes global options before and after the verb, and --name=value', () => {
    const command = run(
      '--region',
      'region-b',
      'describe-broker',
      '--broker-id=b-1',
      '--output',
      'json',
    );
    expect(command.globals.region).toBe('region-b');
    expect(command.globals.output).toBe('json');
    expect(command.flags['broker-id']).toBe('b-1');
    expect(run('list-brokers', '--cli-read-timeout', '5').globals['cli-read-timeout']).toBe(5);
  });

  it('takes several values after one list option, and the option repeated', () => {
    const command = run(
      ...createBrokerArgs,
      '--users',
      'Username=a,Password=pa',
      'Username=b,Password=pb',
      '--creator-request-id',
      'token',
      '--users',
      'Username=c,Password=pc',
    );
    expect(command.flags.users).toEqual([
      'Username=a,Password=pa',
      'Username=b,Password=pb',
      'Username=c,Password=pc',
    ]);
    expect(command.flags['creator-request-id']).toBe('token');
  });

  it('reads --flag and --no-flag, leaving absent booleans undefined', () => {
    const on = run(
      'create-user',
      '--broker-id',
      'b',
      '--username',
      'u',
      '--password',
      'p',
      '--console-access',
    );
    expect(on.flags['console-access']).toBe(true);
    expect(on.flags['replication-user']).toBeUndefined();
    const off = run(
      'update-user',
      '--broker-id',
      'b',
      '--username',
      'u',
      '--no-console-access',
      '--groups',
      'g1',
      'g2',
    );
    expect(off.flags['console-access']).toBe(false);
    expect(off.flags.groups).toEqual(['g1', 'g2']);
    expect(
      usageError(
        'update-user',
        '--broker-id',
        'b',
        '--username',
        'u',
        '--console-access',
        '--no-console-access',
      ),
    ).toBe('--console-access and --no-console-access were both given');
  });

  it('matches choices case-insensitively and returns the canonical spelling', () => {
    const command = run('promote', '--broker-id', 'b', '--mode', 'switchover');
    expect(command.flags.mode).toBe('SWITCHOVER');
  });

  it('refuses a bad choice, naming the allowed values', () => {
    expect(usageError('promote', '--broker-id', 'b', '--mode', 'SIDEWAYS')).toBe(
      'bad value "SIDEWAYS" for --mode; allowed: SWITCHOVER, FAILOVER',
    );
    expect(usageError('--output', 'xml', 'list-brokers')).toBe(
      'bad value "xml" for --output; allowed: json, table, text, yaml',
    );
  });

  it('parses integers within their range', () => {
    expect(run('list-brokers', '--max-results', '20').flags['max-results']).toBe(20);
    expect(usageError('list-brokers', '--max-results', 'ten')).toBe(
      'bad value "ten" for --max-results; expected a whole number from 1 to 100',
    );
    expect(usageError('list-brokers', '--max-results', '0')).toContain('from 1 to 100');
  });

  it('names a missing required option', () => {
    expect(usageError('describe-broker')).toBe('missing required option --broker-id');
    expect(usageError('promote', '--broker-id', 'b')).toBe('missing required option --mode');
  });

  it('names an option without its value, even when another option follows', () => {
    expect(usageError('describe-broker', '--broker-id')).toBe('--broker-id needs a value');
    expect(usageError('promote', '--broker-id', '--mode', 'FAILOVER')).toBe(
      '--broker-id needs a value',
    );
    expect(
      run('create-user', '--broker-id', 'b', '--username', 'u', '--password=--odd').flags.password,
    ).toBe('--odd');
  });

  it('names an unknown option, with a guess and the options the verb takes', () => {
    expect(usageError('describe-broker', '--brokerid', 'b')).toBe(
      'unknown option --brokerid for describe-broker (did you mean --broker-id?); describe-broker takes --broker-id (and the global --region, --endpoint-url, --output, --query, --cli-input-json, --cli-read-timeout)',
    );
    expect(usageError('reboot-broker', '--broker-id', 'b', '--force')).toMatch(
      /^unknown option --force for reboot-broker; /,
    );
    expect(usageError('--broker-id', 'b', 'describe-broker')).toMatch(
      /^unknown option --broker-id before the verb/,
    );
  });

  it('names an unknown verb and lists the verbs', () => {
    const message = usageError('describe-brokers', '--broker-id', 'b');
    expect(message).toMatch(
      /^unknown verb "describe-brokers" \(did you mean describe-broker\?\); verbs: create-broker, /,
    );
    expect(message).toContain('resolve-divergent-tail');
    expect(usageError('frobnicate')).toMatch(/^unknown verb "frobnicate"; verbs: /);
    expect(usageError()).toMatch(/^no verb given; verbs: /);
  });

  it('refuses stray arguments and repeated single-valued options', () => {
    expect(usageError('describe-broker', '--broker-id', 'a', 'b')).toBe(
      'unexpected argument "b" for describe-broker',
    );
    expect(usageError('describe-broker', '--broker-id', 'a', '--broker-id', 'b')).toBe(
      '--broker-id was given more than once',
    );
    expect(usageError('promote', '--broker-id', 'b', '--mode', 'FAILOVER', '--wait=yes')).toBe(
      '--wait takes no value (got "yes")',
    );
    expect(usageError('describe-broker', '--broker-id', '')).toBe('--broker-id must not be empty');
  });

  it('asks for help with --help, -h or help, before checking required options', () => {
    const help = parse('--help');
    expect(help.kind).toBe('help');
    expect(help.kind === 'help' ? help.verb : 'not help').toBeUndefined();
    expect(parse('help')).toMatchObject({ kind: 'help' });
    expect(parse('help', 'promote')).toMatchObject({ kind: 'help', verb: 'promote' });
    expect(parse('promote', '--help')).toMatchObject({ kind: 'help', verb: 'promote' });
    expect(parse('create-broker', '-h')).toMatchObject({ kind: 'help', verb: 'create-broker' });
    expect(parse('describe-broker', 'help')).toMatchObject({
      kind: 'help',
      verb: 'describe-broker',
    });
    expect(usageError('help', 'nope')).toMatch(/^unknown verb "nope"/);
  });
});
