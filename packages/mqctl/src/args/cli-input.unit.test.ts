import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createVerbRegistry } from '../registry.js';
import { verbs } from '../verbs/index.js';
import { cliSkeleton } from './cli-input.js';
import { parseCommandLine } from './parse-command-line.js';
import { parseStructure } from './structure.js';

const registry = createVerbRegistry(verbs);

describe('--cli-input-json and --generate-cli-skeleton', () => {
  it('takes the options by their API names; the command line wins', () => {
    const command = parseCommandLine(
      [
        'create-broker',
        '--cli-input-json',
        JSON.stringify({
          BrokerName: 'from-json',
          EngineType: 'ACTIVEMQ',
          EngineVersion: '5.18.4',
          HostInstanceType: 'mq.m5.large',
          DeploymentMode: 'SINGLE_INSTANCE',
          Users: [{ Username: 'admin', Password: 'admin-secret-1' }],
          PubliclyAccessible: false,
          Tags: { team: 'payments' },
          SecurityGroups: ['sg-1', 'sg-2'],
        }),
        '--broker-name',
        'from-flag',
      ],
      registry,
    );
    expect(command.kind).toBe('run');
    if (command.kind !== 'run') return;
    expect(command.flags).toMatchObject({
      'broker-name': 'from-flag',
      'engine-type': 'ACTIVEMQ',
      'publicly-accessible': false,
      tags: '{"team":"payments"}',
      'security-groups': ['sg-1', 'sg-2'],
      users: ['[{"Username":"admin","Password":"admin-secret-1"}]'],
    });
  });

  it('reads file://PATH and refuses unknown keys, wrong types and bad JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mqctl-input-'));
    const file = join(dir, 'input.json');
    writeFileSync(file, '{"BrokerId": "b-7"}');
    const command = parseCommandLine(
      ['describe-broker', '--cli-input-json', `file://${file}`],
      registry,
    );
    expect(command.kind === 'run' && command.flags['broker-id']).toBe('b-7');
    expect(() =>
      parseCommandLine(['describe-broker', '--cli-input-json', '{"BrokerID": "b"}'], registry),
    ).toThrow(
      '--cli-input-json: unknown parameter BrokerID for describe-broker; it takes BrokerId',
    );
    expect(() =>
      parseCommandLine(['list-brokers', '--cli-input-json', '{"MaxResults": "ten"}'], registry),
    ).toThrow('--cli-input-json: MaxResults must be a whole number (got "ten")');
    expect(() => parseCommandLine(['list-brokers', '--cli-input-json', '{'], registry)).toThrow(
      /^--cli-input-json is not valid JSON/,
    );
  });

  it('generates the skeleton of a verb without needing its required options', () => {
    const command = parseCommandLine(['describe-broker', '--generate-cli-skeleton'], registry);
    expect(command.kind).toBe('skeleton');
    expect(cliSkeleton(registry.find('describe-broker')!.flags)).toEqual({ BrokerId: '' });
    const create = cliSkeleton(registry.find('create-broker')!.flags);
    expect(create).toMatchObject({
      BrokerName: '',
      EngineType: 'ACTIVEMQ',
      PubliclyAccessible: true,
      Tags: { KeyName: '' },
      DataReplicationPrimaryBrokerArn: '',
    });
    expect(
      parseCommandLine(['describe-broker', '--generate-cli-skeleton', 'input'], registry).kind,
    ).toBe('skeleton');
  });
});

describe('structure options (shorthand or JSON)', () => {
  it('reads Key=Value pairs and JSON, checking the keys', () => {
    expect(parseStructure('logs', 'general=true,Audit=false', ['General', 'Audit'])).toEqual({
      General: 'true',
      Audit: 'false',
    });
    expect(parseStructure('tags', '{"a": "1", "b": "x,y"}', undefined)).toEqual({
      a: '1',
      b: 'x,y',
    });
    expect(parseStructure('tags', 'a=1,b="x,y"', undefined)).toEqual({ a: '1', b: 'x,y' });
    expect(() => parseStructure('logs', 'Verbose=true', ['General', 'Audit'])).toThrow(
      '--logs: unknown key "Verbose"; allowed: General, Audit',
    );
    expect(() => parseStructure('tags', 'novalue', undefined)).toThrow(
      '--tags: expected Key=Value, got "novalue"',
    );
  });
});
