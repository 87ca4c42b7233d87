#!/usr/bin/env node
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MissingPrerequisiteError } from './prerequisites.js';
import { isRegionName, regionNames, type RegionName } from './stack-layout.js';
import { stackDown, stackStatus, stackUp, type StackOptions } from './stack.js';

const usage = `usage: pnpm stack up [--region R] | down [--region R] [--purge] | status
  Regions: ${regionNames.join(', ')}. Endpoints are printed and written to .stack/endpoints.json.`;

function fail(message: string, code: number): never {
  process.stderr.write(`stack: ${message}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: process.argv.slice(2).filter((arg) => arg !== '--'),
      options: {
        region: { type: 'string' },
        purge: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    fail(`${(error as Error).message}\n${usage}`, 2);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  const [verb, ...extra] = positionals;
  if (verb === undefined) fail(`a verb is required\n${usage}`, 2);
  if (extra.length > 0) fail(`unexpected argument ${JSON.stringify(extra[0])}\n${usage}`, 2);
  let region: RegionName | undefined;
  if (values.region !== undefined) {
    if (!isRegionName(values.region)) {
      fail(
        `unknown region ${JSON.stringify(values.region)}: use one of ${regionNames.join(', ')}`,
        2,
      );
    }
    region = values.region;
  }
  const options: StackOptions = {
    root: resolve(dirname(fileURLToPath(import.meta.url)), '../../..'),
    env: process.env,
    progress: (line) => process.stderr.write(`  ${line}\n`),
  };
  switch (verb) {
    case 'up': {
      const started = Date.now();
      const endpoints = await stackUp(options, region);
      process.stderr.write(
        `stack up in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
          'console sign-in before any broker exists: see `pnpm stack status`\n',
      );
      process.stdout.write(`${JSON.stringify(endpoints, null, 2)}\n`);
      return;
    }
    case 'down':
      if (values.purge && region !== undefined)
        fail('--purge applies to the whole stack, not one region', 2);
      await stackDown(options, region, values.purge);
      return;
    case 'status': {
      if (region !== undefined) fail('status takes no --region', 2);
      const status = await stackStatus(options);
      if (status === undefined) {
        process.stdout.write('no stack here: run `pnpm stack up`\n');
        return;
      }
      for (const entry of status) {
        const services = Object.entries(entry.services)
          .map(([name, pid]) => `${name} ${pid === undefined ? 'DOWN' : `up (pid ${pid})`}`)
          .join(', ');
        process.stdout.write(
          `${entry.region}: ${services}; ${entry.otherProcesses} broker/replicator processes\n` +
            `  control plane ${entry.endpoints.controlPlane}  console ${entry.endpoints.console}  metrics ${entry.endpoints.metricsHttp}  nats ${entry.endpoints.nats}\n` +
            `  console bootstrap admin: ${entry.consoleAdmin}\n`,
        );
      }
      return;
    }
    default:
      fail(`unknown verb ${JSON.stringify(verb)}\n${usage}`, 2);
  }
}

main().catch((error: unknown) => {
  if (error instanceof MissingPrerequisiteError) fail(error.message, 3);
  fail((error as Error).message, 1);
});
