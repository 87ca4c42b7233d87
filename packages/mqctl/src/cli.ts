import { setTimeout as delay } from 'node:timers/promises';
import type * as grpc from '@grpc/grpc-js';
import type { PromiseClient, ServiceClientConstructor } from '@crdr/proto';
import { createClient, loadProto } from '@crdr/proto';
import { parseCommandLine } from './args/parse-command-line.js';
import type { Document } from './aws-shape.js';
import {
  endpointFromFile,
  findEndpointsFile,
  loadEndpointsFile,
  normalizeEndpoint,
  resolveRegion,
} from './endpoints.js';
import type { ErrorContext } from './errors.js';
import { errorDocument, exitCodes, formatError, markServiceError } from './errors.js';
import { cliSkeleton } from './args/cli-input.js';
import { cliHelp, verbHelp } from './help.js';
import { renderJson } from './output/json.js';
import { applyQuery, checkQuery } from './output/query.js';
import { renderTable } from './output/table.js';
import { renderText } from './output/text.js';
import { renderYaml } from './output/yaml.js';
import type { VerbRegistry } from './registry.js';
import { createVerbRegistry } from './registry.js';
import type { OutputFormat, Verb, VerbContext, VerbEndpoint } from './verb.js';
import { controlPlaneEndpoint } from './verb.js';
import { versionLine } from './version.js';
import { verbs } from './verbs/index.js';

/** The process as the CLI sees it, so tests can run it in process. */
export interface CliIo {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly stdoutIsTty: boolean;
  writeStdout(text: string): void;
  writeStderr(text: string): void;
}

/** The deadline of each call unless `--cli-read-timeout` says otherwise. */
export const defaultReadTimeoutSeconds = 30;

export const defaultRegistry: VerbRegistry = createVerbRegistry(verbs);

const outputFormats: readonly OutputFormat[] = ['json', 'table', 'text', 'yaml'];

/**
 * The output format before the command line is understood (for reporting a usage error): an
 * explicit `--output FORMAT` if it can be spotted, else by whether stdout is a terminal.
 */
export function outputFormatHint(argv: readonly string[], stdoutIsTty: boolean): OutputFormat {
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index] ?? '';
    const value =
      arg === '--output' ? argv[index + 1] : arg.startsWith('--output=') ? arg.slice(9) : undefined;
    const format = outputFormats.find((known) => known === value?.toLowerCase());
    if (format !== undefined) return format;
  }
  return stdoutIsTty ? 'table' : 'json';
}

const renderers: Readonly<Record<OutputFormat, (document: Document) => string>> = {
  json: renderJson,
  table: renderTable,
  text: renderText,
  yaml: renderYaml,
};

function render(document: Document, format: OutputFormat): string {
  const text = renderers[format](document);
  return text.length === 0 ? '' : `${text}\n`;
}

/**
 * The client with every call's failure marked as the service's answer (exit 254), unless grpc-js
 * made it up because the service was not reached (UNAVAILABLE, DEADLINE_EXCEEDED: exit 255).
 */
function markingServiceErrors<T extends object>(client: T): T {
  return new Proxy(client, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || property === 'close') return value;
      return (...args: unknown[]) => {
        const result: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (!(result instanceof Promise)) return result;
        return result.catch((error: unknown) => {
          const transport = (error as { details?: Record<string, string> }).details?.grpcStatus;
          if (transport !== 'UNAVAILABLE' && transport !== 'DEADLINE_EXCEEDED') {
            markServiceError(error);
          }
          throw error;
        });
      };
    },
  });
}

interface Connection {
  readonly address: string;
  readonly source: string;
}

/**
 * Runs one mqctl command and returns its exit status, as the aws CLI's: 0 done, 252 the command
 * line is wrong, 254 the service answered with an error, 255 anything else. The result (after
 * `--query`) goes to stdout; errors are one line on stderr and, when the output is JSON,
 * `{"Error": {"Code", "Message"}}` on stdout.
 */
export async function runCli(io: CliIo, registry: VerbRegistry = defaultRegistry): Promise<number> {
  let format = outputFormatHint(io.argv, io.stdoutIsTty);
  let errorContext: ErrorContext = {};
  const clients: { close(): void }[] = [];
  try {
    if (io.argv.includes('--version')) {
      io.writeStdout(`${versionLine()}\n`);
      return exitCodes.ok;
    }
    const command = parseCommandLine(io.argv, registry);
    if (command.globals.output !== undefined) format = command.globals.output as OutputFormat;
    if (command.kind === 'help') {
      const verb = command.verb === undefined ? undefined : registry.find(command.verb);
      io.writeStdout(`${verb === undefined ? cliHelp(registry) : verbHelp(verb)}\n`);
      return exitCodes.ok;
    }
    if (command.kind === 'skeleton') {
      const verb = registry.find(command.verb) as Verb;
      io.writeStdout(`${renderJson(cliSkeleton(verb.flags) as Document)}\n`);
      return exitCodes.ok;
    }
    const verb = registry.find(command.verb) as Verb;
    if (command.globals.query !== undefined) checkQuery(command.globals.query);
    const region = resolveRegion(command.globals.region, io.env);
    errorContext = { region, serviceLabel: `the ${verb.endpoint.label}` };

    const deadlineMs = (command.globals['cli-read-timeout'] ?? defaultReadTimeoutSeconds) * 1000;
    // --endpoint-url stands for the verb's own service; other services come from the file.
    const connections = new Map<string, Connection>();
    const resolve = (key: string): Connection => {
      const known = connections.get(key);
      if (known !== undefined) return known;
      const url = command.globals['endpoint-url'];
      let connection: Connection;
      if (url !== undefined && key === verb.endpoint.key) {
        connection = {
          address: normalizeEndpoint(url, '--endpoint-url'),
          source: '--endpoint-url',
        };
      } else {
        const file = loadEndpointsFile(findEndpointsFile(io.cwd, io.env));
        connection = { address: endpointFromFile(file, region, key), source: file.path };
      }
      connections.set(key, connection);
      return connection;
    };
    const clientOf = <C extends grpc.Client, D extends grpc.ServiceDefinition>(
      ServiceClient: ServiceClientConstructor<C, D>,
      endpoint: VerbEndpoint,
    ): PromiseClient<C, D> => {
      const { address, source } = resolve(endpoint.key);
      errorContext = {
        region,
        serviceLabel: `the ${endpoint.label}`,
        endpoint: address,
        endpointSource: source,
      };
      const client = createClient(ServiceClient, address, { deadlineMs });
      clients.push(client);
      return markingServiceErrors(client);
    };
    const outputFormat = format;
    const context: VerbContext = {
      region,
      output: outputFormat,
      connect: (ServiceClient) => clientOf(ServiceClient, verb.endpoint),
      controlPlane: () =>
        clientOf(loadProto().crdr.controlplane.v1.ControlPlaneService, controlPlaneEndpoint),
      progress(line) {
        // Only a table is for a person; other formats are for scripts and keep stdout clean.
        if (outputFormat === 'table') io.writeStdout(`${line}\n`);
        else io.writeStderr(`${line}\n`);
      },
      now: () => Date.now(),
      sleep: (ms) => delay(ms),
    };
    const document = await verb.run(command.flags, context);
    const query = command.globals.query;
    const shown =
      query !== undefined
        ? applyQuery(document, query)
        : format === 'table' && verb.tableView
          ? verb.tableView(document)
          : document;
    io.writeStdout(render(shown, format));
    return exitCodes.ok;
  } catch (error) {
    const formatted = formatError(error, errorContext);
    io.writeStderr(`mqctl: ${formatted.message}\n`);
    if (format === 'json') io.writeStdout(`${renderJson(errorDocument(formatted))}\n`);
    return formatted.exitCode;
  } finally {
    for (const client of clients) client.close();
  }
}
