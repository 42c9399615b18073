import pg from 'pg';
import { inlineParameters, literal } from './literals';

describe('inlineParameters', () => {
  it('puts each parameter in as a quoted literal, by number, reusing repeated ones', () => {
    expect(inlineParameters('select * from t where a = $1 and b = $2 or c = $1', ['x', 5])).toBe(
      "select * from t where a = 'x' and b = '5' or c = 'x'",
    );
  });

  it('reads $10 as the tenth parameter, not the first followed by 0', () => {
    const params = Array.from({ length: 10 }, (_, i) => `v${i + 1}`);
    expect(inlineParameters('select $10, $1', params)).toBe("select 'v10', 'v1'");
  });

  it('escapes quotes and backslashes so a value can never end its literal', () => {
    const sql = inlineParameters('select $1', ["it's \\'; drop table t; --"]);
    expect(sql).toBe(`select  E'it''s \\\\''; drop table t; --'`);
  });

  it('leaves placeholders inside strings, identifiers, comments and dollar quotes alone', () => {
    const text = `select '$1', "$1", E'\\'$1', $q$ $1 $q$, $$ $1 $$ -- $1
      /* $1 /* nested $1 */ $1 */ , $1`;
    const inlined = inlineParameters(text, ['v'])!;
    expect(inlined.endsWith(", 'v'")).toBe(true);
    expect(inlined.match(/'v'/g)).toHaveLength(1);
  });

  it('does not take a $n inside an identifier for a placeholder', () => {
    expect(inlineParameters('select a$1 from t where b = $1', ['v'])).toBe("select a$1 from t where b = 'v'");
  });

  it('refuses a text with a second statement, and a placeholder without a value', () => {
    expect(() => inlineParameters('select 1; select 2')).toThrow(/one statement/);
    expect(() => inlineParameters('select $2', ['only one'])).toThrow(/\$2/);
    expect(inlineParameters('select 1;  ')).toBe('select 1;  ');
  });

  it('gives up (undefined) on a value with a NUL character, which only a parameter can carry', () => {
    expect(inlineParameters('select $1', ['a\u0000b'])).toBeUndefined();
    expect(inlineParameters('select $1', [['ok', 'a\u0000b']])).toBeUndefined();
  });

  it('refuses unterminated strings and comments instead of guessing', () => {
    expect(() => inlineParameters("select 'open")).toThrow(/unterminated/);
    expect(() => inlineParameters('select /* open')).toThrow(/unterminated/);
    expect(() => inlineParameters('select $x$ open')).toThrow(/unterminated/);
  });
});

describe('literal', () => {
  it('writes null and undefined as NULL, the rest as the driver would send them', () => {
    expect(literal(null)).toBe('null');
    expect(literal(undefined)).toBe('null');
    expect(literal(true)).toBe("'true'");
    expect(literal(12.5)).toBe("'12.5'");
    expect(literal(['a', 'b"c', null])).toBe(pg.escapeLiteral('{"a","b\\"c",NULL}'));
    expect(literal({ a: 1 })).toBe(`'{"a":1}'`);
    expect(literal(Buffer.from([0xde, 0xad]))).toBe(" E'\\\\xdead'");
  });
});
