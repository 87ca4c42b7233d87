import type { VerbLookup } from './args/parse-command-line.js';
import { globalFlags } from './flags.js';
import type { Verb } from './verb.js';

/** The verbs the CLI knows, by name. */
export interface VerbRegistry extends VerbLookup {
  readonly verbs: readonly Verb[];
  find(name: string): Verb | undefined;
}

/**
 * Indexes the verbs, refusing two verbs of one name and a verb flag that shadows a global one
 * (`--region`, `--endpoint-url`, `--output`, `--help`): mistakes of whoever adds a verb.
 */
export function createVerbRegistry(verbs: readonly Verb[]): VerbRegistry {
  const byName = new Map<string, Verb>();
  for (const verb of verbs) {
    if (byName.has(verb.name)) throw new Error(`two verbs are named ${verb.name}`);
    for (const flag of Object.keys(verb.flags)) {
      if (flag in globalFlags) throw new Error(`${verb.name} redefines the global --${flag}`);
    }
    byName.set(verb.name, verb);
  }
  return {
    verbs,
    names: verbs.map((verb) => verb.name),
    find: (name) => byName.get(name),
    flagsOf: (name) => byName.get(name)?.flags,
  };
}
