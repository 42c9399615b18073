import { covers, parseSnapshot, visibleIn } from './snapshot';

describe('snapshots as PostgreSQL writes them', () => {
  test('reads xmin, xmax and the transactions in progress', () => {
    const snapshot = parseSnapshot('100:110:103,107')!;
    expect(snapshot).toMatchObject({ xmin: 100n, xmax: 110n, text: '100:110:103,107' });
    expect([...snapshot.inProgress]).toEqual([103n, 107n]);
    expect(parseSnapshot('5:5:')).toMatchObject({ xmin: 5n, xmax: 5n });
  });

  test.each([
    ['empty', ''],
    ['words', 'abc'],
    ['xmin above xmax', '10:5:'],
    ['in progress below xmin', '10:20:9'],
    ['in progress at xmax', '10:20:20'],
    ['negative', '-1:5:'],
    ['trailing comma', '10:20:11,'],
    ['too long', `1:${'9'.repeat(5000)}:`],
    ['beyond xid8', '1:18446744073709551616:'],
  ])('refuses %s', (_name, text) => {
    expect(parseSnapshot(text)).toBeUndefined();
  });

  test('a transaction is visible when it ended before the snapshot was taken', () => {
    const snapshot = parseSnapshot('100:110:103,107')!;
    expect(visibleIn(99n, snapshot)).toBe(true);
    expect(visibleIn(100n, snapshot)).toBe(true);
    expect(visibleIn(103n, snapshot)).toBe(false);
    expect(visibleIn(105n, snapshot)).toBe(true);
    expect(visibleIn(107n, snapshot)).toBe(false);
    expect(visibleIn(110n, snapshot)).toBe(false);
    expect(visibleIn(200n, snapshot)).toBe(false);
  });
});

describe('which snapshot was taken later', () => {
  test('a later snapshot sees what an earlier one saw', () => {
    const earlier = parseSnapshot('100:110:103,107')!;
    expect(covers(parseSnapshot('100:112:103,107,111')!, earlier)).toBe(true);
    expect(covers(parseSnapshot('107:115:107')!, earlier)).toBe(true);
    expect(covers(earlier, earlier)).toBe(true);
  });

  test('an earlier one does not', () => {
    const later = parseSnapshot('107:115:107')!;
    expect(covers(parseSnapshot('100:110:103,107')!, later)).toBe(false);
    // 105 committed in `later` but was in progress in this one.
    expect(covers(parseSnapshot('100:115:105')!, parseSnapshot('100:115:')!)).toBe(false);
  });
});
