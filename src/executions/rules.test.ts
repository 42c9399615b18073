import Decimal from 'decimal.js';
import fc from 'fast-check';
import { Problem } from '../problems';
import { centsNumber, createdWindow, csvCell, csvLine, dayWindow, MAX_WINDOW_DAYS, paging, shownOutput } from './rules';

describe('centsNumber', () => {
  test('every numeric(14, 4) amount becomes the number whose JSON text is that amount', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 14n - 1n }), (units) => {
        const exact = new Decimal(units.toString()).div(10_000).toFixed(4);
        const shown = JSON.stringify(centsNumber(exact));
        expect(new Decimal(shown).equals(new Decimal(exact))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  test('the usual amounts', () => {
    expect(JSON.stringify(centsNumber('0.0150'))).toBe('0.015');
    expect(centsNumber('0.0000')).toBe(0);
    expect(JSON.stringify(centsNumber('9999999999.9999'))).toBe('9999999999.9999');
  });
});

describe('shownOutput', () => {
  test('text formats show their text and no JSON value', () => {
    expect(shownOutput('# Title', 'markdown', 'completed')).toEqual({ output: '# Title', outputJson: null });
    expect(shownOutput(null, 'text', 'pending')).toEqual({ output: null, outputJson: null });
  });

  test('a json run shows its JSON text and keeps the value, a JSON string included', () => {
    expect(shownOutput({ a: [1, 'x'] }, 'json', 'completed')).toEqual({ output: '{"a":[1,"x"]}', outputJson: { a: [1, 'x'] } });
    expect(shownOutput('plain', 'json', 'completed')).toEqual({ output: '"plain"', outputJson: 'plain' });
    expect(shownOutput(null, 'json', 'completed')).toEqual({ output: 'null', outputJson: null });
    expect(shownOutput(null, 'json', 'pending')).toEqual({ output: null, outputJson: null });
  });

  test('a run that has not completed shows the raw text streamed so far, a json one too', () => {
    expect(shownOutput('{"verdict": "o', 'json', 'running')).toEqual({ output: '{"verdict": "o', outputJson: null });
    expect(shownOutput('{"verdict": "o', 'json', 'cancelled')).toEqual({ output: '{"verdict": "o', outputJson: null });
    expect(shownOutput('# Tit', 'markdown', 'running')).toEqual({ output: '# Tit', outputJson: null });
    expect(shownOutput(null, 'markdown', 'running')).toEqual({ output: null, outputJson: null });
  });

  test('a value stored without a known format is still shown as text', () => {
    expect(shownOutput({ a: 1 }, null, 'completed')).toEqual({ output: '{"a":1}', outputJson: null });
  });
});

function problemOf(run: () => unknown): Problem {
  try {
    run();
  } catch (error) {
    if (error instanceof Problem) return error;
    throw error;
  }
  throw new Error('no problem was thrown');
}

describe('createdWindow', () => {
  test('the frontend names and ours give the same kind of window', () => {
    expect(createdWindow({ startDate: '2026-01-01T00:00:00Z', endDate: '2026-01-02T00:00:00Z' })).toEqual({
      from: '2026-01-01T00:00:00Z',
      before: null,
      through: '2026-01-02T00:00:00Z',
    });
    expect(createdWindow({ from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z' })).toEqual({
      from: '2026-01-01T00:00:00Z',
      before: '2026-01-02T00:00:00Z',
      through: null,
    });
    expect(createdWindow({})).toEqual({ from: null, before: null, through: null });
  });

  test('both names of one end, or an end before the start, are a 400', () => {
    const both = problemOf(() => createdWindow({ from: '2026-01-01T00:00:00Z', startDate: '2026-01-01T00:00:00Z' }));
    expect(both.status).toBe(400);
    expect(both.errors?.[0]?.path).toBe('/query/startDate');
    expect(problemOf(() => createdWindow({ to: '2026-01-01T00:00:00Z', endDate: '2026-01-01T00:00:00Z' })).errors?.[0]?.path).toBe('/query/endDate');
    expect(problemOf(() => createdWindow({ startDate: '2026-01-02T00:00:00Z', endDate: '2026-01-01T00:00:00Z' })).status).toBe(400);
    expect(problemOf(() => createdWindow({ from: '2026-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z' })).status).toBe(400);
    // An inclusive end may equal the start: one instant.
    expect(createdWindow({ startDate: '2026-01-01T00:00:00Z', endDate: '2026-01-01T00:00:00Z' }).through).toBe('2026-01-01T00:00:00Z');
  });
});

describe('dayWindow', () => {
  const now = new Date('2026-11-30T10:00:00Z');

  test('by default the given number of days up to now, today included', () => {
    const window = dayWindow({}, now, 14);
    expect(window.firstDay).toBe('2026-11-17');
    expect(window.lastDay).toBe('2026-11-30');
    expect(window.to).toEqual(now);
  });

  test(`at most ${MAX_WINDOW_DAYS} days, and never backwards`, () => {
    expect(dayWindow({ startDate: '2025-11-30T00:00:00Z' }, now, 30).firstDay).toBe('2025-11-30');
    expect(problemOf(() => dayWindow({ startDate: '2025-11-29T23:59:59Z' }, now, 30)).status).toBe(400);
    expect(problemOf(() => dayWindow({ startDate: '2026-12-01T00:00:00Z' }, now, 30)).status).toBe(400);
  });
});

describe('paging', () => {
  test('page/pageSize by default, limit/offset when sent, never both', () => {
    expect(paging({ page: 3, pageSize: 10 }, new Set(['page', 'pageSize']))).toEqual({ page: 3, pageSize: 10 });
    expect(paging({ page: 1, pageSize: 20, limit: 10, offset: 25 }, new Set(['limit', 'offset']))).toEqual({ page: 3, pageSize: 10, offset: 25 });
    expect(paging({ page: 1, pageSize: 20, offset: 5 }, new Set(['offset']))).toEqual({ page: 1, pageSize: 20, offset: 5 });
    const mixed = problemOf(() => paging({ page: 2, pageSize: 20, limit: 10 }, new Set(['page', 'limit'])));
    expect(mixed.status).toBe(400);
    expect(mixed.errors?.[0]?.path).toBe('/query/page');
  });
});

describe('CSV', () => {
  test('cells are quoted when they hold a quote, comma or line break', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell('cr\r')).toBe('"cr\r"');
    expect(csvCell(null)).toBe('');
    expect(csvCell(12)).toBe('12');
  });

  test('a cell a spreadsheet would run as a formula starts with an apostrophe', () => {
    for (const start of ['=', '+', '-', '@', '\t', '\r']) {
      expect(csvCell(`${start}SUM(A1)`)).toBe(`"'${start}SUM(A1)"`);
    }
    expect(csvCell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvCell('a=b')).toBe('a=b');
  });

  test('a line ends with CRLF', () => {
    expect(csvLine(['a', null, 1])).toBe('a,,1\r\n');
  });

  test('any text survives a round trip through a minimal RFC 4180 reader', () => {
    const read = (line: string): string[] => {
      const cells: string[] = [];
      let i = 0;
      while (i <= line.length) {
        if (line[i] === '"') {
          let value = '';
          i += 1;
          for (;;) {
            if (line[i] === '"' && line[i + 1] === '"') {
              value += '"';
              i += 2;
            } else if (line[i] === '"') {
              i += 1;
              break;
            } else {
              value += line[i];
              i += 1;
            }
          }
          cells.push(value);
          i += 1;
        } else {
          const end = line.indexOf(',', i);
          cells.push(line.slice(i, end < 0 ? line.length : end));
          i = end < 0 ? line.length + 1 : end + 1;
        }
      }
      return cells;
    };
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary' }), { minLength: 1, maxLength: 5 }), (texts) => {
        const line = csvLine(texts).slice(0, -2);
        const unguard = (text: string) => (/^'[=+\-@\t\r]/.test(text) ? text.slice(1) : text);
        expect(read(line).map(unguard)).toEqual(texts);
      }),
    );
  });
});
