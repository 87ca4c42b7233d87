import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';
import type { FlagSpec, FlagSpecs, GlobalFlagValues } from '../flags.js';
import { globalFlags } from '../flags.js';
import { mergeCliInput, readCliInput, type RawValue } from './cli-input.js';
import { closestName } from './closest-name.js';

/*
 * node:util parseArgs tokenizes (`--name value`, `--name=value`, `--`); this module gives the
 * tokens aws's meaning, which parseArgs alone cannot express on Node 20: lists that take every
 * value up to the next option (`--users A B`, `--groups a b`), `--no-NAME` negation, options on
 * either side of the verb, and errors in our words (naming the verb, the option and its values).
 */

type OptionConfig = Record<
  string,
  { type: 'string' | 'boolean'; multiple?: boolean; short?: string }
>;

/** A command line, understood. */
export type CommandLine =
  | {
      readonly kind: 'help';
      /** Help for this verb; the CLI's help when undefined. */
      readonly verb?: string;
      readonly globals: GlobalFlagValues;
    }
  | {
      /** `--generate-cli-skeleton`: print the verb's --cli-input-json object, call nothing. */
      readonly kind: 'skeleton';
      readonly verb: string;
      readonly globals: GlobalFlagValues;
    }
  | {
      readonly kind: 'run';
      readonly verb: string;
      readonly globals: GlobalFlagValues;
      /** The verb's flag values, validated against its specs (see `FlagValues`). */
      readonly flags: Readonly<Record<string, unknown>>;
    };

/** What the parser needs to know about the verbs. */
export interface VerbLookup {
  readonly names: readonly string[];
  flagsOf(verb: string): FlagSpecs | undefined;
}

function optionConfig(specs: FlagSpecs): OptionConfig {
  const config: OptionConfig = {};
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.type === 'boolean') {
      config[name] = { type: 'boolean' };
      if (spec.negatable === true) config[`no-${name}`] = { type: 'boolean' };
    } else {
      config[name] = { type: 'string', multiple: spec.type === 'list' };
    }
  }
  return config;
}

function tokenize(args: readonly string[], specs: FlagSpecs) {
  const { tokens } = parseArgs({
    args: [...args],
    options: { ...optionConfig(specs), help: { type: 'boolean', short: 'h' } },
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  return tokens;
}

/** Collects option values, refusing repeats (except lists) and options without their value. */
class RawValues {
  readonly values = new Map<string, RawValue>();

  set(name: string, spec: FlagSpec, value: string | undefined, inline: boolean): void {
    if (spec.type === 'boolean') {
      if (value !== undefined) throw new UsageError(`--${name} takes no value (got "${value}")`);
      this.setBoolean(name, true);
      return;
    }
    // parseArgs hands the next argument to a string option whatever it is; `--broker-id --mode X`
    // means the value was forgotten (`--password=--secret` passes a value that starts with --).
    if (value === undefined || (!inline && value.startsWith('--'))) {
      throw new UsageError(`--${name} needs a value`);
    }
    if (spec.type === 'list') {
      const list = this.values.get(name);
      if (Array.isArray(list)) list.push(value);
      else this.values.set(name, [value]);
      return;
    }
    if (this.values.has(name)) throw new UsageError(`--${name} was given more than once`);
    this.values.set(name, value);
  }

  setBoolean(name: string, value: boolean): void {
    const existing = this.values.get(name);
    if (existing !== undefined && existing !== value) {
      throw new UsageError(`--${name} and --no-${name} were both given`);
    }
    this.values.set(name, value);
  }

  appendToList(name: string, value: string): void {
    const list = this.values.get(name);
    if (Array.isArray(list)) list.push(value);
  }
}

/** The verb's options listed for an error message. */
function describeOptions(verb: string, specs: FlagSpecs): string {
  const names = Object.entries(specs).flatMap(([name, spec]) =>
    spec.type === 'boolean' && spec.negatable === true
      ? [`--${name}`, `--no-${name}`]
      : [`--${name}`],
  );
  const own = names.length === 0 ? `${verb} takes no options` : `${verb} takes ${names.join(', ')}`;
  return `${own} (and the global --region, --endpoint-url, --output, --query, --cli-input-json, --cli-read-timeout)`;
}

function unknownOption(raw: string, verb: string | undefined, specs: FlagSpecs): UsageError {
  if (verb === undefined) {
    return new UsageError(
      `unknown option ${raw} before the verb; options of a verb go after it (mqctl VERB --option ...)`,
    );
  }
  const known = Object.keys(specs).flatMap((name) => [name, `no-${name}`]);
  const guess = closestName(raw.replace(/^-+/, '').split('=')[0] ?? '', known);
  const hint = guess === undefined ? '' : ` (did you mean --${guess}?)`;
  return new UsageError(
    `unknown option ${raw} for ${verb}${hint}; ${describeOptions(verb, specs)}`,
  );
}

function unknownVerb(name: string, verbs: readonly string[]): UsageError {
  const guess = closestName(name, verbs);
  const hint = guess === undefined ? '' : ` (did you mean ${guess}?)`;
  return new UsageError(`unknown verb "${name}"${hint}; verbs: ${verbs.join(', ')}`);
}

/** Checks a string against its choices, case-insensitively; returns the canonical spelling. */
function choose(name: string, value: string, choices: readonly string[]): string {
  const match = choices.find((choice) => choice.toLowerCase() === value.toLowerCase());
  if (match === undefined) {
    throw new UsageError(`bad value "${value}" for --${name}; allowed: ${choices.join(', ')}`);
  }
  return match;
}

function toInteger(name: string, value: string, min?: number, max?: number): number {
  const range =
    min !== undefined && max !== undefined
      ? ` from ${min} to ${max}`
      : min !== undefined
        ? ` of at least ${min}`
        : '';
  const parsed = /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  if (
    !Number.isSafeInteger(parsed) ||
    (min !== undefined && parsed < min) ||
    (max !== undefined && parsed > max)
  ) {
    throw new UsageError(`bad value "${value}" for --${name}; expected a whole number${range}`);
  }
  return parsed;
}

/** Turns the raw values into the verb's typed values and checks what is required. */
export function validateFlags(
  specs: FlagSpecs,
  raw: ReadonlyMap<string, RawValue>,
): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const value = raw.get(name);
    if (value === undefined) {
      if (spec.required === true) throw new UsageError(`missing required option --${name}`);
      result[name] = undefined;
      continue;
    }
    switch (spec.type) {
      case 'boolean':
        result[name] = value;
        break;
      case 'list': {
        const list = value as string[];
        if (list.some((item) => item.length === 0)) {
          throw new UsageError(`--${name} got an empty value`);
        }
        result[name] = list;
        break;
      }
      case 'string': {
        const text = value as string;
        if (text.length === 0) throw new UsageError(`--${name} must not be empty`);
        result[name] = spec.choices === undefined ? text : choose(name, text, spec.choices);
        break;
      }
      case 'integer':
        result[name] = toInteger(name, value as string, spec.min, spec.max);
        break;
    }
  }
  return result;
}

/** Applies one option token to the values, by the specs it may belong to. */
function applyOption(
  token: {
    name: string;
    rawName: string;
    value?: string | undefined;
    inlineValue?: boolean | undefined;
  },
  verb: string | undefined,
  verbSpecs: FlagSpecs,
  globals: RawValues,
  flags: RawValues,
): void {
  const { name } = token;
  const inline = token.inlineValue === true;
  const globalSpec = (globalFlags as FlagSpecs)[name];
  if (globalSpec !== undefined) {
    globals.set(name, globalSpec, token.value, inline);
    return;
  }
  const spec = verbSpecs[name];
  if (spec !== undefined) {
    flags.set(name, spec, token.value, inline);
    return;
  }
  if (name.startsWith('no-')) {
    const positive = name.slice(3);
    const negated = verbSpecs[positive];
    if (negated?.type === 'boolean' && negated.negatable === true) {
      if (token.value !== undefined) {
        throw new UsageError(`--${name} takes no value (got "${token.value}")`);
      }
      flags.setBoolean(positive, false);
      return;
    }
  }
  throw unknownOption(token.rawName, verb, verbSpecs);
}

/**
 * Parses `[GLOBAL OPTIONS] VERB [OPTIONS]` (global options may also follow the verb). Throws a
 * `UsageError` naming what is wrong; `--help`/`-h`/`help` anywhere asks for help instead.
 */
/** aws's `--generate-cli-skeleton` takes its value optionally: alone, it means `input`. */
function withSkeletonValue(args: readonly string[]): string[] {
  const result: string[] = [];
  args.forEach((arg, index) => {
    result.push(arg);
    const next = args[index + 1];
    if (arg === '--generate-cli-skeleton' && (next === undefined || next.startsWith('-'))) {
      result.push('input');
    }
  });
  return result;
}

export function parseCommandLine(argv: readonly string[], verbs: VerbLookup): CommandLine {
  const args = withSkeletonValue(argv);
  const globals = new RawValues();
  let wantsHelp = false;

  // Before the verb, only global options are known; the first positional is the verb.
  let verbIndex = -1;
  for (const token of tokenize(args, globalFlags)) {
    if (token.kind === 'positional') {
      verbIndex = token.index;
      break;
    }
    if (token.kind === 'option-terminator') continue;
    if (token.name === 'help' || token.name === 'h') {
      wantsHelp = true;
      continue;
    }
    applyOption(token, undefined, {}, globals, new RawValues());
  }

  const globalValues = (): GlobalFlagValues =>
    validateFlags(globalFlags, globals.values) as GlobalFlagValues;

  if (verbIndex < 0) {
    if (wantsHelp) return { kind: 'help', globals: globalValues() };
    throw new UsageError(`no verb given; verbs: ${verbs.names.join(', ')}`);
  }
  const verb = args[verbIndex] ?? '';
  if (verb === 'help') {
    const topic = args[verbIndex + 1];
    if (topic !== undefined && verbs.flagsOf(topic) === undefined) {
      throw unknownVerb(topic, verbs.names);
    }
    return {
      kind: 'help',
      ...(topic === undefined ? {} : { verb: topic }),
      globals: globalValues(),
    };
  }
  const specs = verbs.flagsOf(verb);
  if (specs === undefined) throw unknownVerb(verb, verbs.names);

  const flags = new RawValues();
  let openList: string | undefined;
  for (const token of tokenize(args.slice(verbIndex + 1), { ...globalFlags, ...specs })) {
    if (token.kind === 'option-terminator') continue;
    if (token.kind === 'positional') {
      // aws's lists take every value up to the next option; `help` after the verb asks for help.
      if (openList !== undefined) flags.appendToList(openList, token.value);
      else if (token.value === 'help') wantsHelp = true;
      else throw new UsageError(`unexpected argument "${token.value}" for ${verb}`);
      continue;
    }
    openList = undefined;
    if (token.name === 'help' || token.name === 'h') {
      wantsHelp = true;
      continue;
    }
    applyOption(token, verb, specs, globals, flags);
    if (specs[token.name]?.type === 'list') openList = token.name;
  }

  if (wantsHelp) return { kind: 'help', verb, globals: globalValues() };
  const parsedGlobals = globalValues();
  if (parsedGlobals['generate-cli-skeleton'] !== undefined) {
    return { kind: 'skeleton', verb, globals: parsedGlobals };
  }
  const input = parsedGlobals['cli-input-json'];
  if (input !== undefined) mergeCliInput(readCliInput(input), verb, specs, flags.values);
  return {
    kind: 'run',
    verb,
    globals: parsedGlobals,
    flags: validateFlags(specs, flags.values),
  };
}
