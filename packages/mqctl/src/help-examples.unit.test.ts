import { describe, expect, it } from 'vitest';
import { parseCommandLine } from './args/parse-command-line.js';
import { parseUsers } from './args/users.js';
import { checkQuery } from './output/query.js';
import { createVerbRegistry } from './registry.js';
import { verbs } from './verbs/index.js';

/*
 * Every example `VERB --help` prints is a command line mqctl accepts as written (only the
 * placeholder ID stands for a real broker): it parses, its --query compiles, and its passwords
 * pass the broker's rule (12+ characters, 4 distinct, no , : =), so copying one never ends in a
 * usage error.
 */

const registry = createVerbRegistry(verbs);

/** Shell words: spaces split, '...' quotes (as the examples use them). */
function shellWords(line: string): string[] {
  const words: string[] = [];
  for (const match of line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)) {
    words.push(match[1] ?? match[2] ?? match[3] ?? '');
  }
  return words;
}

describe('help examples', () => {
  const examples = verbs.flatMap((verb) => verb.examples.map((example) => [verb.name, example]));

  it.each(examples)('%s: %s', (name, example) => {
    const words = shellWords(example);
    expect(words[0]).toBe('mqctl');
    const command = parseCommandLine(words.slice(1), registry);
    expect(command.kind).toBe('run');
    if (command.kind !== 'run') return;
    expect(command.verb).toBe(name);
    if (command.globals.query !== undefined) checkQuery(command.globals.query);
    const users = command.flags['users'] as readonly string[] | undefined;
    const passwords = [
      ...(users === undefined ? [] : parseUsers(users).map((user) => user.password)),
      ...(typeof command.flags['password'] === 'string' ? [command.flags['password']] : []),
    ];
    for (const password of passwords) {
      expect(password.length).toBeGreaterThanOrEqual(12);
      expect(new Set(password).size).toBeGreaterThanOrEqual(4);
      expect(password).not.toMatch(/[,:=]/);
    }
  });
});
