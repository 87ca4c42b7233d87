import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseSelector, type SelectableMessage } from './selector.js';

const message = (
  headers: Record<string, string>,
  fields: Partial<SelectableMessage> = {},
): SelectableMessage => ({
  messageId: 'ID:b-1:1:1:1:7',
  destination: '/queue/orders',
  headers,
  priority: 4,
  persistent: true,
  expiresAtMs: 0,
  enqueuedAtMs: 1000,
  redeliveryCount: 0,
  ...fields,
});

const selects = (selector: string, m: SelectableMessage): boolean => parseSelector(selector)!(m);

describe('parseSelector', () => {
  it('has no selector for a missing or blank one', () => {
    expect(parseSelector(undefined)).toBeUndefined();
    expect(parseSelector('   ')).toBeUndefined();
  });

  it('compares string properties', () => {
    const red = message({ color: 'red' });
    expect(selects("color = 'red'", red)).toBe(true);
    expect(selects("color = 'blue'", red)).toBe(false);
    expect(selects("color <> 'blue'", red)).toBe(true);
    expect(selects("color = 'it''s'", message({ color: "it's" }))).toBe(true);
    expect(selects('"content-kind" = \'x\'', message({ 'content-kind': 'x' }))).toBe(true);
  });

  it('compares string properties that read as numbers as numbers, as ActiveMQ does for STOMP', () => {
    const m = message({ age: '21' });
    expect(selects('age > 18', m)).toBe(true);
    expect(selects('age BETWEEN 5 AND 20', m)).toBe(false);
    expect(selects('age = 21', m)).toBe(true);
    expect(selects("age = '21'", m)).toBe(true);
    expect(selects('flag = TRUE', message({ flag: 'true' }))).toBe(true);
    expect(selects('age > 18', message({ age: 'old' }))).toBe(false);
    expect(selects('convert_string_expressions:age > 18', m)).toBe(true);
    expect(selects('convert_string_expressions:age + 1 = 22', m)).toBe(true);
    expect(selects("flag = 'true' AND flag = true", message({ flag: 'true' }))).toBe(true);
    // A bare string property is no condition, "true" or not (ActiveMQ).
    expect(selects('convert_string_expressions:flag', message({ flag: 'true' }))).toBe(false);
  });

  it('reads the JMS header fields', () => {
    const m = message(
      { type: 'car', 'correlation-id': 'c-9', 'reply-to': '/queue/r' },
      { priority: 7, redeliveryCount: 2, persistent: false },
    );
    expect(selects("JMSType = 'car'", m)).toBe(true);
    expect(selects("JMSCorrelationID = 'c-9'", m)).toBe(true);
    expect(selects('JMSPriority > 5 AND JMSPriority BETWEEN 7 AND 9', m)).toBe(true);
    expect(selects("JMSMessageID LIKE 'ID:%:7'", m)).toBe(true);
    expect(selects("JMSDeliveryMode = 'NON_PERSISTENT'", m)).toBe(true);
    expect(selects('JMSRedelivered AND JMSXDeliveryCount = 3', m)).toBe(true);
    expect(selects('JMSTimestamp = 1000 AND JMSExpiration = 0', m)).toBe(true);
    expect(selects("JMSReplyTo = '/queue/r'", m)).toBe(true);
  });

  it('does LIKE with % _ and ESCAPE', () => {
    const m = message({ name: 'a_b%c.d' });
    expect(selects("name LIKE 'a%'", m)).toBe(true);
    expect(selects("name LIKE 'a_b%'", m)).toBe(true);
    expect(selects("name LIKE 'a\\_b\\%c._' ESCAPE '\\'", m)).toBe(true);
    expect(selects("name LIKE 'a\\_x%' ESCAPE '\\'", m)).toBe(false);
    expect(selects("name NOT LIKE 'z%'", m)).toBe(true);
    expect(selects("name LIKE 'a.b%'", m)).toBe(false);
  });

  it('does IN, BETWEEN and IS [NOT] NULL', () => {
    const m = message({ color: 'red' }, { priority: 5 });
    expect(selects("color IN ('red', 'green')", m)).toBe(true);
    expect(selects("color NOT IN ('red', 'green')", m)).toBe(false);
    expect(selects('JMSPriority NOT BETWEEN 6 AND 9', m)).toBe(true);
    expect(selects('size IS NULL', m)).toBe(true);
    expect(selects('color IS NOT NULL', m)).toBe(true);
  });

  it('does arithmetic with integer division and decimals', () => {
    const m = message({}, { priority: 7 });
    expect(selects('JMSPriority / 2 = 3', m)).toBe(true);
    expect(selects('JMSPriority / 2.0 = 3.5', m)).toBe(true);
    expect(selects('-JMSPriority * 2 + 20 = 6', m)).toBe(true);
    expect(selects('JMSPriority % 4 = 3', m)).toBe(true);
    expect(selects('0x10 = 16 AND 010 = 8 AND 1e2 = 100 AND 5L = 5', m)).toBe(true);
    expect(selects('JMSPriority / 0 = 1', m)).toBe(false);
  });

  it('uses three-valued logic: an unknown is never selected, even negated', () => {
    const m = message({});
    expect(selects("missing = 'x'", m)).toBe(false);
    expect(selects("NOT missing = 'x'", m)).toBe(false);
    expect(selects("missing = 'x' OR TRUE", m)).toBe(true);
    expect(selects("missing = 'x' AND FALSE", m)).toBe(false);
    expect(selects("NOT (missing = 'x' AND FALSE)", m)).toBe(true);
  });

  it('gives NOT, AND and OR their SQL precedence', () => {
    const m = message({ a: '1', b: '2' });
    expect(selects("NOT a = '2' AND b = '2'", m)).toBe(true);
    expect(selects("a = '9' AND b = '9' OR b = '2'", m)).toBe(true);
    expect(selects("a = '9' AND (b = '9' OR b = '2')", m)).toBe(false);
    expect(selects("not a = '1' or B = '2'", m)).toBe(false);
  });

  it.each([
    ["color = 'red", 'is not closed'],
    ['color =', 'ends too early'],
    ["color == 'red'", 'SQL writes "="'],
    ["color != 'red'", 'SQL writes "<>"'],
    ['color LIKE 5', 'LIKE needs a string pattern'],
    ['a IN (1, 2)', 'IN needs a list of strings'],
    ['1 + 2', 'must be a condition'],
    ["'x' AND TRUE", 'AND needs a condition'],
    ["a = 'x' b", 'unexpected "b"'],
    ['a BETWEEN 1 OR 2', 'expected AND'],
    ['a # 1', 'unexpected character "#"'],
    ["a LIKE 'x' ESCAPE 'ab'", 'exactly one character'],
  ])('refuses %s, saying why', (selector, why) => {
    expect(() => parseSelector(selector)).toThrow(why);
    expect(() => parseSelector(selector)).toThrow(`invalid selector "${selector}"`);
  });

  it('agrees with a direct comparison of string properties (property)', () => {
    const name = fc.constantFrom('a', 'b', 'color');
    const value = fc.string({ maxLength: 6 }).filter((s) => !s.includes("'"));
    fc.assert(
      fc.property(name, value, fc.dictionary(name, value), (key, wanted, headers) => {
        const m = message(headers);
        const eq = selects(`${key} = '${wanted}'`, m);
        const ne = selects(`${key} <> '${wanted}'`, m);
        const present = headers[key] !== undefined;
        expect(eq).toBe(present && headers[key] === wanted);
        // Unknown (a missing property) is neither equal nor unequal.
        expect(ne).toBe(present && headers[key] !== wanted);
        expect(selects(`${key} IS NULL`, m)).toBe(!present);
      }),
    );
  });

  it('LIKE without wildcards is equality, and % matches any suffix (property)', () => {
    const text = fc.string({ maxLength: 8 }).filter((s) => !/['%_\\]/.test(s));
    fc.assert(
      fc.property(text, text, (value, prefix) => {
        const m = message({ v: value });
        expect(selects(`v LIKE '${value}'`, m)).toBe(true);
        expect(selects(`v LIKE '${prefix}%'`, m)).toBe(value.startsWith(prefix));
      }),
    );
  });

  it('integer arithmetic matches BigInt arithmetic (property)', () => {
    const n = fc.bigInt({ min: -1000n, max: 1000n });
    fc.assert(
      fc.property(n, n, n, (a, b, c) => {
        const m = message({}, { priority: 0 });
        const lit = (x: bigint): string => (x < 0n ? `(${x})` : String(x));
        expect(selects(`${lit(a)} + ${lit(b)} * ${lit(c)} = ${lit(a + b * c)}`, m)).toBe(true);
        expect(selects(`${lit(a)} BETWEEN ${lit(b)} AND ${lit(c)}`, m)).toBe(a >= b && a <= c);
      }),
    );
  });
});
