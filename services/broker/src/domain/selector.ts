import { badRequest } from '@crdr/errors';

/**
 * JMS message selectors (SQL-92 subset) as ActiveMQ 5.x implements them: comparisons, LIKE with
 * ESCAPE, IN, BETWEEN, IS [NOT] NULL, arithmetic, AND/OR/NOT with SQL's three-valued logic, over
 * JMS header fields (JMSMessageID, JMSPriority, ...) and message properties (STOMP headers).
 *
 * As ActiveMQ does for STOMP (its STOMP transport prefixes every selector with
 * `convert_string_expressions:`; checked against ActiveMQ 5.17 by the differential suite), a
 * string property that reads as a number compares as one, and "true"/"false" as booleans. An
 * explicit `convert_string_expressions:` prefix is accepted and changes nothing (ActiveMQ refuses
 * it, doubled). Arithmetic on such a string converts it too, where ActiveMQ fails the dispatch
 * (docs/interface.md). Integers are exact (bigint) and
 * divide as integers, as ActiveMQ's longs do; decimals are doubles. NOT binds looser than the
 * comparisons, as the JMS specification says (`NOT a = 1` is `NOT (a = 1)`).
 *
 * A selector is parsed once (`parseSelector`) into a closure evaluated per message.
 */

/** The parts of a message a selector can see. */
export interface SelectableMessage {
  readonly messageId: string;
  readonly destination: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly priority: number;
  readonly persistent: boolean;
  readonly expiresAtMs: number;
  readonly enqueuedAtMs?: number;
  readonly timestampMs?: number;
  readonly redeliveryCount?: number;
}

/** True when the message is selected. */
export type Selector = (message: SelectableMessage) => boolean;

type Value = string | number | bigint | boolean | null;
type Eval = (message: SelectableMessage) => Value;

interface Node {
  readonly eval: Eval;
  /** What the node yields when known: used to refuse `1 AND 2` at parse time. */
  readonly type: 'boolean' | 'number' | 'string' | 'any' | 'null';
}

const convertPrefix = 'convert_string_expressions:';

/**
 * Parses a selector; undefined for none (a missing or blank one). Throws a bad-request error
 * that says what is wrong and where.
 */
export function parseSelector(text: string | undefined): Selector | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  let source = text;
  const convert = true;
  if (source.trimStart().toLowerCase().startsWith(convertPrefix)) {
    source = source.trimStart().slice(convertPrefix.length);
  }
  const parser = new Parser(tokenize(source, text), text, convert);
  const node = parser.parse();
  if (node.type !== 'boolean' && node.type !== 'any') {
    throw selectorError(text, 'it must be a condition (true or false), not a value');
  }
  const evaluate = node.eval;
  return (message) => evaluate(message) === true;
}

function selectorError(text: string, why: string): Error {
  return badRequest(`invalid selector "${text.slice(0, 200)}": ${why}`, {
    details: { field: 'selector' },
  });
}

// ---------------------------------------------------------------------------------------------
// Tokens

type Token =
  | { readonly kind: 'string'; readonly value: string; readonly at: number }
  | { readonly kind: 'number'; readonly value: number | bigint; readonly at: number }
  | { readonly kind: 'id'; readonly value: string; readonly at: number }
  | { readonly kind: 'keyword'; readonly value: string; readonly at: number }
  | { readonly kind: 'op'; readonly value: string; readonly at: number }
  | { readonly kind: 'end'; readonly value: ''; readonly at: number };

const keywords = new Set([
  'NOT',
  'AND',
  'OR',
  'BETWEEN',
  'LIKE',
  'ESCAPE',
  'IN',
  'IS',
  'NULL',
  'TRUE',
  'FALSE',
]);
const idStart = /[A-Za-z_$]/;
const idPart = /[A-Za-z0-9_$.]/;
const operators = ['<>', '>=', '<=', '=', '>', '<', '+', '-', '*', '/', '%', '(', ')', ','];

function tokenize(source: string, original: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const fail = (why: string): never => {
    throw selectorError(original, why);
  };
  while (i < source.length) {
    const c = source[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const at = i;
    if (c === "'") {
      let value = '';
      i++;
      for (;;) {
        if (i >= source.length) fail(`the string starting at position ${at + 1} is not closed`);
        const d = source[i]!;
        if (d === "'") {
          if (source[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += d;
        i++;
      }
      tokens.push({ kind: 'string', value, at });
      continue;
    }
    if (c === '"') {
      // A quoted identifier, as ActiveMQ allows for property names that are not identifiers.
      let value = '';
      i++;
      for (;;) {
        if (i >= source.length)
          fail(`the quoted name starting at position ${at + 1} is not closed`);
        const d = source[i]!;
        if (d === '"') {
          if (source[i + 1] === '"') {
            value += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += d;
        i++;
      }
      tokens.push({ kind: 'id', value, at });
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(source[i + 1] ?? ''))) {
      const rest = source.slice(i);
      const hex = /^0[xX][0-9a-fA-F]+[lL]?/.exec(rest);
      const decimal =
        /^(?:[0-9]+\.[0-9]*(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+)[dDfF]?/.exec(
          rest,
        );
      const integer = /^[0-9]+[lL]?/.exec(rest);
      let text: string;
      let value: number | bigint;
      if (hex !== null) {
        text = hex[0];
        value = BigInt(text.replace(/[lL]$/, ''));
      } else if (decimal !== null) {
        text = decimal[0];
        value = Number(text.replace(/[dDfF]$/, ''));
      } else {
        text = integer![0];
        const digits = text.replace(/[lL]$/, '');
        // A leading 0 makes an octal literal, as in Java and ActiveMQ.
        if (digits.length > 1 && digits.startsWith('0')) {
          if (!/^[0-7]+$/.test(digits)) fail(`"${digits}" is not a valid octal number`);
          value = BigInt(`0o${digits.slice(1)}`);
        } else value = BigInt(digits);
      }
      i += text.length;
      if (idPart.test(source[i] ?? '') && source[i] !== '.')
        fail(`unexpected "${source[i]}" after the number at position ${at + 1}`);
      tokens.push({ kind: 'number', value, at });
      continue;
    }
    if (idStart.test(c)) {
      let j = i + 1;
      while (j < source.length && idPart.test(source[j]!)) j++;
      const word = source.slice(i, j);
      i = j;
      const upper = word.toUpperCase();
      tokens.push(
        keywords.has(upper)
          ? { kind: 'keyword', value: upper, at }
          : { kind: 'id', value: word, at },
      );
      continue;
    }
    if (c === '!' && source[i + 1] === '=') fail(`"!=" at position ${at + 1}: SQL writes "<>"`);
    const op = operators.find((o) => source.startsWith(o, i));
    if (op === undefined) fail(`unexpected character "${c}" at position ${at + 1}`);
    // `==` and `!=` are not SQL: say so rather than "unexpected =".
    if (op === '=' && source[i + 1] === '=') fail(`"==" at position ${at + 1}: SQL writes "="`);
    tokens.push({ kind: 'op', value: op!, at });
    i += op!.length;
  }
  tokens.push({ kind: 'end', value: '', at: source.length });
  return tokens;
}

// ---------------------------------------------------------------------------------------------
// Values

const isNumber = (v: Value): v is number | bigint => typeof v === 'number' || typeof v === 'bigint';

function toNumeric(v: Value, convert: boolean): number | bigint | null {
  if (isNumber(v)) return v;
  if (convert && typeof v === 'string') {
    const t = v.trim();
    if (/^[+-]?[0-9]+$/.test(t)) return BigInt(t);
    if (t !== '' && Number.isFinite(Number(t))) return Number(t);
  }
  return null;
}

/** "true"/"false" (any case, as Java's Boolean.valueOf) as booleans; anything else as it is. */
function toBoolean(v: Value): Value {
  if (typeof v !== 'string') return v;
  const t = v.toLowerCase();
  return t === 'true' ? true : t === 'false' ? false : v;
}

/** -1, 0, 1, or null when the two cannot be compared (different types, unknown). */
function compare(a: Value, b: Value, convert: boolean): number | null {
  if (a === null || b === null) return null;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'boolean' || typeof b === 'boolean') {
    const x = convert ? toBoolean(a) : a;
    const y = convert ? toBoolean(b) : b;
    if (typeof x !== 'boolean' || typeof y !== 'boolean') return null;
    return x === y ? 0 : x ? 1 : -1;
  }
  const x = toNumeric(a, convert);
  const y = toNumeric(b, convert);
  if (x === null || y === null) return null;
  if (typeof x === 'bigint' && typeof y === 'bigint') return x < y ? -1 : x > y ? 1 : 0;
  const fx = Number(x);
  const fy = Number(y);
  if (Number.isNaN(fx) || Number.isNaN(fy)) return null;
  return fx < fy ? -1 : fx > fy ? 1 : 0;
}

function arithmetic(op: string, a: Value, b: Value, convert: boolean): Value {
  const x = toNumeric(a, convert);
  const y = toNumeric(b, convert);
  if (x === null || y === null) return null;
  if (typeof x === 'bigint' && typeof y === 'bigint') {
    switch (op) {
      case '+':
        return x + y;
      case '-':
        return x - y;
      case '*':
        return x * y;
      case '/':
        return y === 0n ? null : x / y;
      default:
        return y === 0n ? null : x % y;
    }
  }
  const fx = Number(x);
  const fy = Number(y);
  switch (op) {
    case '+':
      return fx + fy;
    case '-':
      return fx - fy;
    case '*':
      return fx * fy;
    case '/':
      return fx / fy;
    default:
      return fx % fy;
  }
}

const not = (v: Value): Value => (v === null ? null : typeof v === 'boolean' ? !v : null);

function likeMatcher(pattern: string, escape: string | undefined): RegExp {
  let source = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (escape !== undefined && c === escape) {
      const next = pattern[i + 1];
      if (next !== undefined) {
        source += next.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        i++;
        continue;
      }
    }
    if (c === '%') source += '[\\s\\S]*';
    else if (c === '_') source += '[\\s\\S]';
    else source += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(source + '$', 'u');
}

/** JMS header fields as ActiveMQ maps them onto a STOMP message; anything else is a property. */
function identifier(name: string): Eval {
  switch (name) {
    case 'JMSMessageID':
      return (m) => m.messageId;
    case 'JMSPriority':
      return (m) => BigInt(m.priority);
    case 'JMSTimestamp':
      return (m) => BigInt(m.enqueuedAtMs ?? m.timestampMs ?? 0);
    case 'JMSExpiration':
      return (m) => BigInt(m.expiresAtMs);
    case 'JMSDeliveryMode':
      return (m) => (m.persistent ? 'PERSISTENT' : 'NON_PERSISTENT');
    case 'JMSRedelivered':
      return (m) => (m.redeliveryCount ?? 0) > 0;
    case 'JMSXDeliveryCount':
      return (m) => BigInt((m.redeliveryCount ?? 0) + 1);
    case 'JMSDestination':
      return (m) => m.destination;
    case 'JMSCorrelationID':
      return (m) => m.headers['correlation-id'] ?? null;
    case 'JMSType':
      return (m) => m.headers['type'] ?? null;
    case 'JMSReplyTo':
      return (m) => m.headers['reply-to'] ?? null;
    default:
      // A string as sent: comparisons convert it (compare), a bare one is not a condition.
      return (m) => m.headers[name] ?? null;
  }
}

// ---------------------------------------------------------------------------------------------
// Parser: a recursive descent over ActiveMQ's grammar, JMS precedence.

class Parser {
  #pos = 0;

  constructor(
    readonly tokens: readonly Token[],
    readonly text: string,
    readonly convert: boolean,
  ) {}

  parse(): Node {
    const node = this.#or();
    const next = this.#peek();
    if (next.kind !== 'end') this.#fail(`unexpected ${describe(next)}`);
    return node;
  }

  #peek(): Token {
    return this.tokens[this.#pos]!;
  }

  #next(): Token {
    return this.tokens[this.#pos++]!;
  }

  #fail(why: string): never {
    const at = this.#peek().at;
    throw selectorError(this.text, `${why} at position ${at + 1}`);
  }

  #isKeyword(word: string): boolean {
    const t = this.#peek();
    return t.kind === 'keyword' && t.value === word;
  }

  #isOp(op: string): boolean {
    const t = this.#peek();
    return t.kind === 'op' && t.value === op;
  }

  #expectOp(op: string): void {
    if (!this.#isOp(op)) this.#fail(`expected "${op}" but found ${describe(this.#peek())}`);
    this.#pos++;
  }

  #bool(node: Node, what: string): Eval {
    if (node.type !== 'boolean' && node.type !== 'any' && node.type !== 'null')
      this.#fail(`${what} needs a condition, not a ${node.type}`);
    return node.eval;
  }

  #or(): Node {
    let left = this.#and();
    while (this.#isKeyword('OR')) {
      this.#pos++;
      const a = this.#bool(left, 'OR');
      const b = this.#bool(this.#and(), 'OR');
      left = {
        type: 'boolean',
        eval: (m) => {
          const x = a(m);
          if (x === true) return true;
          const y = b(m);
          if (y === true) return true;
          return x === false && y === false ? false : null;
        },
      };
    }
    return left;
  }

  #and(): Node {
    let left = this.#not();
    while (this.#isKeyword('AND')) {
      this.#pos++;
      const a = this.#bool(left, 'AND');
      const b = this.#bool(this.#not(), 'AND');
      left = {
        type: 'boolean',
        eval: (m) => {
          const x = a(m);
          if (x === false) return false;
          const y = b(m);
          if (y === false) return false;
          return x === true && y === true ? true : null;
        },
      };
    }
    return left;
  }

  #not(): Node {
    if (this.#isKeyword('NOT')) {
      this.#pos++;
      const inner = this.#bool(this.#not(), 'NOT');
      return { type: 'boolean', eval: (m) => not(inner(m)) };
    }
    return this.#comparison();
  }

  #comparison(): Node {
    const left = this.#additive();
    const convert = this.convert;
    const t = this.#peek();
    if (t.kind === 'op' && ['=', '<>', '<', '>', '<=', '>='].includes(t.value)) {
      this.#pos++;
      const right = this.#additive();
      const a = left.eval;
      const b = right.eval;
      const test = comparisonTest(t.value);
      return {
        type: 'boolean',
        eval: (m) => {
          const x = a(m);
          const y = b(m);
          if (x === null || y === null) return null;
          const c = compare(x, y, convert);
          // Values of different types are not equal (ActiveMQ): = is false, <> true.
          if (c === null) return t.value === '=' ? false : t.value === '<>' ? true : null;
          return test(c);
        },
      };
    }
    if (this.#isKeyword('IS')) {
      this.#pos++;
      const negate = this.#isKeyword('NOT');
      if (negate) this.#pos++;
      if (!this.#isKeyword('NULL')) this.#fail(`expected NULL after IS${negate ? ' NOT' : ''}`);
      this.#pos++;
      const a = left.eval;
      return { type: 'boolean', eval: (m) => (a(m) === null) !== negate };
    }
    let negate = false;
    if (this.#isKeyword('NOT')) {
      const after = this.tokens[this.#pos + 1];
      if (
        after?.kind === 'keyword' &&
        (after.value === 'LIKE' || after.value === 'IN' || after.value === 'BETWEEN')
      ) {
        negate = true;
        this.#pos++;
      } else return left;
    }
    const wrap = (e: Eval): Node => ({
      type: 'boolean',
      eval: negate ? (m) => not(e(m)) : e,
    });
    if (this.#isKeyword('LIKE')) {
      this.#pos++;
      const pattern = this.#next();
      if (pattern.kind !== 'string') this.#fail('LIKE needs a string pattern');
      let escape: string | undefined;
      if (this.#isKeyword('ESCAPE')) {
        this.#pos++;
        const e = this.#next();
        if (e.kind !== 'string' || [...e.value].length !== 1)
          this.#fail('ESCAPE needs a string of exactly one character');
        escape = e.value;
      }
      const regex = likeMatcher(pattern.value, escape);
      const a = left.eval;
      return wrap((m) => {
        const v = a(m);
        if (v === null) return null;
        return typeof v === 'string' ? regex.test(v) : false;
      });
    }
    if (this.#isKeyword('IN')) {
      this.#pos++;
      this.#expectOp('(');
      const values = new Set<string>();
      for (;;) {
        const s = this.#next();
        if (s.kind !== 'string') {
          this.#pos--;
          this.#fail('IN needs a list of strings');
        }
        values.add(s.value);
        if (this.#isOp(',')) {
          this.#pos++;
          continue;
        }
        this.#expectOp(')');
        break;
      }
      const a = left.eval;
      return wrap((m) => {
        const v = a(m);
        if (v === null) return null;
        return typeof v === 'string' ? values.has(v) : false;
      });
    }
    if (this.#isKeyword('BETWEEN')) {
      this.#pos++;
      const low = this.#additive().eval;
      if (!this.#isKeyword('AND')) this.#fail('expected AND in BETWEEN ... AND ...');
      this.#pos++;
      const high = this.#additive().eval;
      const a = left.eval;
      return wrap((m) => {
        const v = a(m);
        const lo = low(m);
        const hi = high(m);
        if (v === null || lo === null || hi === null) return null;
        const c1 = compare(v, lo, convert);
        const c2 = compare(v, hi, convert);
        if (c1 === null || c2 === null) return false;
        return c1 >= 0 && c2 <= 0;
      });
    }
    return left;
  }

  #additive(): Node {
    let left = this.#multiplicative();
    while (this.#isOp('+') || this.#isOp('-')) {
      const op = String(this.#next().value);
      left = this.#arith(op, left, this.#multiplicative());
    }
    return left;
  }

  #multiplicative(): Node {
    let left = this.#unary();
    while (this.#isOp('*') || this.#isOp('/') || this.#isOp('%')) {
      const op = String(this.#next().value);
      left = this.#arith(op, left, this.#unary());
    }
    return left;
  }

  #arith(op: string, left: Node, right: Node): Node {
    for (const side of [left, right]) {
      if (side.type === 'boolean' || side.type === 'string')
        this.#fail(`"${op}" needs numbers, not a ${side.type}`);
    }
    const a = left.eval;
    const b = right.eval;
    const convert = this.convert;
    return { type: 'number', eval: (m) => arithmetic(op, a(m), b(m), convert) };
  }

  #unary(): Node {
    if (this.#isOp('-') || this.#isOp('+')) {
      const op = String(this.#next().value);
      const inner = this.#unary();
      if (inner.type === 'boolean' || inner.type === 'string')
        this.#fail(`"${op}" needs a number, not a ${inner.type}`);
      if (op === '+') return inner;
      const e = inner.eval;
      const convert = this.convert;
      return { type: 'number', eval: (m) => arithmetic('-', 0n, e(m), convert) };
    }
    return this.#primary();
  }

  #primary(): Node {
    const t = this.#next();
    switch (t.kind) {
      case 'string': {
        const v = t.value;
        return { type: 'string', eval: () => v };
      }
      case 'number': {
        const v = t.value;
        return { type: 'number', eval: () => v };
      }
      case 'id':
        return { type: 'any', eval: identifier(t.value) };
      case 'keyword':
        if (t.value === 'TRUE' || t.value === 'FALSE') {
          const v = t.value === 'TRUE';
          return { type: 'boolean', eval: () => v };
        }
        if (t.value === 'NULL') return { type: 'null', eval: () => null };
        break;
      case 'op':
        if (t.value === '(') {
          const inner = this.#or();
          this.#expectOp(')');
          return inner;
        }
        break;
      case 'end':
        this.#pos--;
        this.#fail('the selector ends too early');
    }
    this.#pos--;
    return this.#fail(`unexpected ${describe(t)}`);
  }
}

function comparisonTest(op: string): (c: number) => boolean {
  switch (op) {
    case '=':
      return (c) => c === 0;
    case '<>':
      return (c) => c !== 0;
    case '<':
      return (c) => c < 0;
    case '>':
      return (c) => c > 0;
    case '<=':
      return (c) => c <= 0;
    default:
      return (c) => c >= 0;
  }
}

function describe(t: Token): string {
  switch (t.kind) {
    case 'end':
      return 'the end of the selector';
    case 'string':
      return `the string '${t.value}'`;
    case 'number':
      return `the number ${String(t.value)}`;
    default:
      return `"${t.value}"`;
  }
}
