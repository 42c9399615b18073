import { API_CALL_LEASE_BLOCK, API_CALL_LEASE_MAX_BLOCK, nextLeaseSize } from './api-call-leases';

describe('how many calls a lease asks for', () => {
  const now = 1_000_000;

  test('a first lease asks for the base block', () => {
    expect(nextLeaseSize(undefined, now)).toBe(API_CALL_LEASE_BLOCK);
  });

  test('a block handed out within a second doubles the next, up to the cap', () => {
    expect(nextLeaseSize({ asked: 100, grantedAt: now - 300 }, now)).toBe(200);
    expect(nextLeaseSize({ asked: 800, grantedAt: now - 300 }, now)).toBe(API_CALL_LEASE_MAX_BLOCK);
    expect(nextLeaseSize({ asked: API_CALL_LEASE_MAX_BLOCK, grantedAt: now }, now)).toBe(API_CALL_LEASE_MAX_BLOCK);
  });

  test('a block lasting one to four seconds keeps its size', () => {
    expect(nextLeaseSize({ asked: 400, grantedAt: now - 1000 }, now)).toBe(400);
    expect(nextLeaseSize({ asked: 400, grantedAt: now - 4000 }, now)).toBe(400);
  });

  test('a block lasting longer halves the next, never below the base block', () => {
    expect(nextLeaseSize({ asked: 400, grantedAt: now - 4001 }, now)).toBe(200);
    expect(nextLeaseSize({ asked: API_CALL_LEASE_BLOCK, grantedAt: now - 9000 }, now)).toBe(API_CALL_LEASE_BLOCK);
  });
});
