import { burstHeaders, createBurstLimiter } from './rate-limit';

describe('the session burst limiter', () => {
  test('allows the burst at once, then refills at the rate', () => {
    let now = 1_000_000;
    const limiter = createBurstLimiter({ ratePerSecond: 2, burst: 4 }, () => now);
    const verdicts = Array.from({ length: 5 }, () => limiter.take('u'));
    expect(verdicts.map((v) => v.allowed)).toEqual([true, true, true, true, false]);
    expect(verdicts[4]!.retryAfterSeconds).toBe(1);
    now += 500;
    expect(limiter.take('u').allowed).toBe(true);
    expect(limiter.take('u').allowed).toBe(false);
  });

  test('keeps one bucket per user', () => {
    const limiter = createBurstLimiter({ ratePerSecond: 1, burst: 1 }, () => 0);
    expect(limiter.take('a').allowed).toBe(true);
    expect(limiter.take('a').allowed).toBe(false);
    expect(limiter.take('b').allowed).toBe(true);
  });

  test('speaks the draft RateLimit syntax', () => {
    const settings = { ratePerSecond: 20, burst: 40 };
    const limiter = createBurstLimiter(settings, () => 0);
    const verdict = limiter.take('u');
    expect(burstHeaders(settings, verdict)).toEqual({ 'RateLimit-Policy': '"burst";q=40;w=2', RateLimit: '"burst";r=39;t=1' });
  });
});
