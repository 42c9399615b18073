import { averageRating, centsAsNumber, countsFor } from './community';
import { importedName } from './sql';

describe('averageRating', () => {
  test('reads the stored two-decimal average as a JSON number, null while unrated', () => {
    expect(averageRating('4.50')).toBe(4.5);
    expect(averageRating('4.33')).toBe(4.33);
    expect(averageRating('5.00')).toBe(5);
    expect(averageRating(null)).toBeNull();
  });
});

describe('importedName', () => {
  test("keeps the original's name while it is free, else names a copy", () => {
    expect(importedName('Code review', new Set())).toBe('Code review');
    expect(importedName('Code review', new Set(['other']))).toBe('Code review');
    expect(importedName('Code review', new Set(['code review']))).toBe('Code review (copy)');
    expect(importedName('Code Review', new Set(['code review', 'code review (copy)']))).toBe('Code Review (copy 2)');
  });

  test('stays within 100 characters', () => {
    const long = 'x'.repeat(100);
    const name = importedName(long, new Set([long]));
    expect([...name].length).toBeLessThanOrEqual(100);
    expect(name.endsWith(' (copy)')).toBe(true);
  });
});

describe('countsFor', () => {
  test('has every key, 0 where nothing was counted, and nothing else', () => {
    expect(countsFor(['manual', 'habit', 'reflex', 'api'] as const, { manual: 3, api: 1, other: 9 })).toEqual({ manual: 3, habit: 0, reflex: 0, api: 1 });
  });
});

describe('centsAsNumber', () => {
  test('is the exact decimal as a number', () => {
    expect(centsAsNumber('0.0000')).toBe(0);
    expect(centsAsNumber('12.0150')).toBe(12.015);
    expect(String(centsAsNumber('225.5000'))).toBe('225.5');
    expect(String(centsAsNumber('99999999999.9999'))).toBe('99999999999.9999');
  });

  test('refuses anything that is not an amount of cents', () => {
    expect(() => centsAsNumber('1e3')).toThrow();
    expect(() => centsAsNumber('12.5')).toThrow();
    expect(() => centsAsNumber('')).toThrow();
  });
});
