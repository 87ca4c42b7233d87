import type * as grpc from '@grpc/grpc-js';
import type { ClientOf, PromiseClient, ProtoGrpcType, ServiceClientConstructor } from '@crdr/proto';
import type { Document } from './aws-shape.js';
import type { FlagSpecs, FlagValues } from './flags.js';

export type ControlPlaneClient = ClientOf<
  ProtoGrpcType['crdr']['controlplane']['v1']['ControlPlaneService']
>;

export type OutputFormat = 'json' | 'table' | 'text' | 'yaml';

/**
 * Which service a verb calls: the key of its address in `.stack/endpoints.json`
 * (`regions[R][key]`, e.g. `controlPlane`, or `metricsGrpc` for the metrics service's gRPC) and
 * how messages name it. `--endpoint-url` overrides the address.
 */
export interface VerbEndpoint {
  readonly key: string;
  /** "control plane", "metrics service": used in "cannot reach the control plane of region-a at ...". */
  readonly label: string;
}

/** The control plane: what every verb calls unless it says otherwise. */
export const controlPlaneEndpoint: VerbEndpoint = { key: 'controlPlane', label: 'control plane' };

/** What a verb gets besides its flags. Nothing is resolved or connected until asked for. */
export interface VerbContext {
  readonly region: string;
  readonly output: OutputFormat;
  /**
   * A client of `ServiceClient` at the verb's endpoint (see {@link VerbEndpoint}); closed by the
   * CLI when the verb ends. Wrap idempotent calls in `withRetry` from @crdr/proto.
   */
  connect<C extends grpc.Client, D extends grpc.ServiceDefinition>(
    ServiceClient: ServiceClientConstructor<C, D>,
  ): PromiseClient<C, D>;
  /** A client of the Region's ControlPlaneService (at `--endpoint-url` only when it is the verb's endpoint). */
  controlPlane(): ControlPlaneClient;
  /** A progress line for a person: on stdout for a table, else on stderr. */
  progress(line: string): void;
  /** Milliseconds since the epoch. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** A verb as written in its file, with typed flag values. */
export interface VerbDefinition<S extends FlagSpecs> {
  /** As typed on the command line: `describe-broker`. */
  readonly name: string;
  /** One line for the verb list. */
  readonly summary: string;
  /** More help, shown by `VERB --help`. */
  readonly details?: string;
  readonly flags: S;
  /** Default: the control plane. */
  readonly endpoint?: VerbEndpoint;
  readonly examples?: readonly string[];
  /** Runs the verb; the document it returns is printed (JSON or table). */
  run(flags: FlagValues<S>, context: VerbContext): Promise<Document>;
  /** Reshapes the document for `--output table` (e.g. fewer columns); JSON is never reshaped. */
  readonly tableView?: (document: Document) => Document;
}

/** A verb as the registry holds it. */
export interface Verb {
  readonly name: string;
  readonly summary: string;
  readonly details?: string;
  readonly flags: FlagSpecs;
  readonly endpoint: VerbEndpoint;
  readonly examples: readonly string[];
  run(flags: Readonly<Record<string, unknown>>, context: VerbContext): Promise<Document>;
  readonly tableView?: (document: Document) => Document;
}

/**
 * Declares a verb. The flag values `run` receives are typed from the specs (`required: true`
 * flags are never undefined) and already validated by the parser (choices, integers, required).
 */
export function defineVerb<const S extends FlagSpecs>(definition: VerbDefinition<S>): Verb {
  return {
    name: definition.name,
    summary: definition.summary,
    ...(definition.details === undefined ? {} : { details: definition.details }),
    flags: definition.flags,
    endpoint: definition.endpoint ?? controlPlaneEndpoint,
    examples: definition.examples ?? [],
    ...(definition.tableView === undefined ? {} : { tableView: definition.tableView }),
    // The parser validated the values against these very specs.
    run: (flags, context) => definition.run(flags as FlagValues<S>, context),
  };
}
