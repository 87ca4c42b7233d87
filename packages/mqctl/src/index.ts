/**
 * mqctl: an `aws mq`-like CLI for a Region's control plane (docs/interface.md, "mqctl").
 *
 * - `runCli(io)`: runs one command line, returns the exit status.
 * - Verbs: one file per verb under src/verbs/, written with `defineVerb` and listed in
 *   src/verbs/index.ts. A verb declares its flags (typed values), its endpoint (the key of its
 *   address in `.stack/endpoints.json`, default `controlPlane`) and a `run` returning the
 *   document to print.
 */
export { runCli, defaultRegistry, type CliIo } from './cli.js';
export { createVerbRegistry, type VerbRegistry } from './registry.js';
export {
  controlPlaneEndpoint,
  defineVerb,
  type ControlPlaneClient,
  type OutputFormat,
  type Verb,
  type VerbContext,
  type VerbDefinition,
  type VerbEndpoint,
} from './verb.js';
export type {
  BooleanFlag,
  FlagSpec,
  FlagSpecs,
  FlagValues,
  IntegerFlag,
  ListFlag,
  StringFlag,
} from './flags.js';
export type { Document, DocumentObject } from './aws-shape.js';
export { UsageError, exitCodes } from './errors.js';
export { verbs } from './verbs/index.js';
