import type { FlagSpec, FlagSpecs } from './flags.js';
import { globalFlags } from './flags.js';
import type { VerbRegistry } from './registry.js';
import type { Verb } from './verb.js';

function usageOf(name: string, spec: FlagSpec): string {
  switch (spec.type) {
    case 'boolean':
      return spec.negatable === true ? `--${name} | --no-${name}` : `--${name}`;
    case 'string':
      return `--${name} ${spec.choices?.join('|') ?? spec.valueName ?? 'VALUE'}`;
    case 'integer':
      return `--${name} ${spec.valueName ?? 'N'}`;
    case 'list':
      return `--${name} ${spec.valueName ?? 'VALUE ...'} ...`;
  }
}

function optionLines(specs: FlagSpecs): string[] {
  const rows = Object.entries(specs).map(([name, spec]) => {
    const required = spec.required === true ? ' (required)' : '';
    return [usageOf(name, spec), `${spec.description}${required}`] as const;
  });
  const width = Math.min(48, Math.max(0, ...rows.map(([usage]) => usage.length)));
  return rows.map(([usage, description]) =>
    usage.length > width
      ? `  ${usage}\n  ${' '.repeat(width)}  ${description}`
      : `  ${usage.padEnd(width)}  ${description}`,
  );
}

/** Wraps prose at `width` columns on word boundaries. */
export function wrap(text: string, width = 96): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((item) => item.length > 0)) {
    if (line.length > 0 && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line.length === 0 ? word : `${line} ${word}`;
    }
  }
  if (line.length > 0) lines.push(line);
  return lines;
}

const globalUsage =
  '[--region R] [--endpoint-url HOST:PORT] [--output json|table] [--cli-read-timeout S]';

/** `mqctl --help`. */
export function cliHelp(registry: VerbRegistry): string {
  const width = Math.max(...registry.names.map((name) => name.length));
  return [
    `usage: pnpm mqctl ${globalUsage} VERB [OPTIONS]`,
    '',
    "Drives a Region's control plane as `aws mq` drives Amazon MQ. Output is JSON with AWS field",
    'names when stdout is not a terminal, a table when it is.',
    '',
    'Verbs:',
    ...registry.verbs.map((verb) => `  ${verb.name.padEnd(width)}  ${verb.summary}`),
    '',
    'Global options:',
    ...optionLines(globalFlags),
    '',
    'Environment: MQCTL_REGION (default Region), MQCTL_ENDPOINTS_FILE (instead of the',
    '.stack/endpoints.json found from the current directory upward).',
    'Exit status: 0 done, 1 the call failed, 2 the command line is wrong.',
    'Run `pnpm mqctl VERB --help` for the options of a verb.',
  ].join('\n');
}

/** `mqctl VERB --help`. */
export function verbHelp(verb: Verb): string {
  const required = Object.entries(verb.flags)
    .filter(([, spec]) => spec.required === true)
    .map(([name, spec]) => usageOf(name, spec));
  const hasOptional = Object.values(verb.flags).some((spec) => spec.required !== true);
  const usage = [`usage: pnpm mqctl [GLOBAL OPTIONS] ${verb.name}`, ...required];
  if (hasOptional) usage.push('[OPTIONS]');
  const lines = [usage.join(' \\\n    '), '', verb.summary];
  if (verb.details !== undefined) lines.push('', ...wrap(verb.details));
  if (Object.keys(verb.flags).length > 0) lines.push('', 'Options:', ...optionLines(verb.flags));
  if (verb.examples.length > 0) {
    lines.push('', 'Examples:', ...verb.examples.map((example) => `  pnpm ${example}`));
  }
  lines.push('', `Global options: ${globalUsage}; see pnpm mqctl --help.`);
  return lines.join('\n');
}
