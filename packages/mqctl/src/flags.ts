/**
 * How a verb declares its options. Names are spelled as on the command line, without the dashes
 * (`broker-id`), exactly as `aws mq` spells them.
 */
interface FlagBase {
  /** One line for `--help`. */
  readonly description: string;
  /** Refused when absent. */
  readonly required?: boolean;
  /**
   * The API's name of the value, as --cli-input-json and --generate-cli-skeleton spell it
   * (default: the flag name in PascalCase, `broker-id` → `BrokerId`).
   */
  readonly inputName?: string;
  /** The placeholder --generate-cli-skeleton shows (default: by type, "" or 0 or true or [""]). */
  readonly skeleton?: unknown;
}

/** `--name VALUE`. With `choices`, the value must be one of them (matched case-insensitively). */
export interface StringFlag extends FlagBase {
  readonly type: 'string';
  readonly choices?: readonly string[];
  /** Shown in help: `--broker-id ID`. */
  readonly valueName?: string;
}

/** `--name N`, a whole number within [min, max]. */
export interface IntegerFlag extends FlagBase {
  readonly type: 'integer';
  readonly min?: number;
  readonly max?: number;
  readonly valueName?: string;
}

/** `--name` (true), and `--no-name` (false) when negatable; undefined when neither is given. */
export interface BooleanFlag extends FlagBase {
  readonly type: 'boolean';
  readonly negatable?: boolean;
}

/**
 * `--name A B C`, as aws takes lists: every value up to the next option, and the option may be
 * repeated (`--name A --name B`); the values accumulate in order.
 */
export interface ListFlag extends FlagBase {
  readonly type: 'list';
  readonly valueName?: string;
}

export type FlagSpec = StringFlag | IntegerFlag | BooleanFlag | ListFlag;
export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

type Required<S extends FlagSpec, T> = S extends { readonly required: true } ? T : T | undefined;

/** The parsed value of one flag. */
export type FlagValue<S extends FlagSpec> = S extends StringFlag
  ? Required<S, string>
  : S extends IntegerFlag
    ? Required<S, number>
    : S extends BooleanFlag
      ? boolean | undefined
      : S extends ListFlag
        ? Required<S, readonly string[]>
        : never;

/** The parsed values of a verb's flags, keyed by flag name. */
export type FlagValues<S extends FlagSpecs> = { readonly [K in keyof S]: FlagValue<S[K]> };

/** The options every verb accepts, before or after the verb (as aws takes them). */
export const globalFlags = {
  region: {
    type: 'string',
    valueName: 'REGION',
    description: 'The Region to talk to (default: $MQCTL_REGION, else region-a).',
  },
  'endpoint-url': {
    type: 'string',
    valueName: 'HOST:PORT',
    description:
      "The gRPC address of the service the verb calls (default: the Region's entry in .stack/endpoints.json).",
  },
  'cli-read-timeout': {
    type: 'integer',
    min: 1,
    max: 3600,
    valueName: 'SECONDS',
    description: 'How long each call may take (default 30), as aws --cli-read-timeout.',
  },
  output: {
    type: 'string',
    choices: ['json', 'table', 'text', 'yaml'],
    description:
      'Output format (default: table on a terminal, json otherwise); text is tab-separated as aws prints it.',
  },
  query: {
    type: 'string',
    valueName: 'JMESPATH',
    description:
      "A JMESPath query applied to the result, as aws --query (e.g. 'BrokerSummaries[].BrokerId').",
  },
  'cli-input-json': {
    type: 'string',
    valueName: 'JSON|file://PATH',
    description:
      "The verb's options as one JSON object with the API's names (see --generate-cli-skeleton); options on the command line win.",
  },
  'generate-cli-skeleton': {
    type: 'string',
    choices: ['input'],
    description:
      'Print the JSON object --cli-input-json takes for this verb, and call nothing (value optional: input).',
  },
  'no-cli-pager': { type: 'boolean', description: 'Accepted for aws scripts; mqctl never pages.' },
  'no-paginate': {
    type: 'boolean',
    description: 'Accepted for aws scripts; list verbs return one page (see --max-results).',
  },
  help: { type: 'boolean', description: 'Show help.' },
  version: { type: 'boolean', description: "Print mqctl's version and exit." },
} as const satisfies FlagSpecs;

export type GlobalFlagValues = FlagValues<typeof globalFlags>;
