import { describe, expect, it } from 'vitest';
import { renderJson } from './json.js';

describe('renderJson', () => {
  it('indents as aws does, writes bigints as exact numbers and skips undefined fields', () => {
    expect(
      renderJson({
        BrokerId: 'b',
        Sequence: 9007199254740993n,
        Gone: undefined,
        Users: [],
        Empty: {},
        Ok: true,
      }),
    ).toBe(
      [
        '{',
        '    "BrokerId": "b",',
        '    "Sequence": 9007199254740993,',
        '    "Users": [],',
        '    "Empty": {},',
        '    "Ok": true',
        '}',
      ].join('\n'),
    );
  });

  it('nests lists and objects, and escapes strings', () => {
    const text = renderJson({ A: [{ B: 'x"y' }, 1, null] });
    expect(JSON.parse(text)).toEqual({ A: [{ B: 'x"y' }, 1, null] });
    expect(text).toContain('        {\n            "B": "x\\"y"\n        }');
  });
});
