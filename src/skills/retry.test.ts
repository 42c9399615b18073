import { afterFailure, isTransientFailure } from './retry';

describe('isTransientFailure', () => {
  test('timeouts, unreachable runners, lost workers, 408, 429 and 5xx are transient', () => {
    for (const code of ['runner_timeout', 'runner_unreachable', 'worker_lost', 'runner_http_408', 'runner_http_429', 'runner_http_500', 'runner_http_502', 'runner_http_503', 'runner_http_599']) {
      expect([code, isTransientFailure(code)]).toEqual([code, true]);
    }
  });

  test('failures of the skill, its input or the answer are final', () => {
    for (const code of [
      'invalid_input',
      'prompt_too_large',
      'runner_bad_response',
      'runner_error',
      'skill_deleted',
      'skill_inactive',
      'cancelled',
      'runner_http_400',
      'runner_http_401',
      'runner_http_404',
      'runner_http_422',
      'runner_http_600',
      'runner_http_5000',
      'runner_http_',
    ]) {
      expect([code, isTransientFailure(code)]).toEqual([code, false]);
    }
  });
});

describe('afterFailure', () => {
  const policy = { maxAttempts: 4, baseDelayMs: 1000, maxDelayMs: 3000 };

  test('a transient failure is retried while attempts remain, the delay doubling and capped', () => {
    const top = () => 1;
    expect(afterFailure('runner_http_503', 1, policy, top)).toEqual({ retry: true, delayMs: 1000 });
    expect(afterFailure('runner_http_503', 2, policy, top)).toEqual({ retry: true, delayMs: 2000 });
    expect(afterFailure('runner_http_503', 3, policy, top)).toEqual({ retry: true, delayMs: 3000 });
    expect(afterFailure('runner_http_503', 4, policy, top)).toEqual({ retry: false });
  });

  test('jitter keeps each delay within the upper half of its step', () => {
    expect(afterFailure('runner_timeout', 2, policy, () => 0)).toEqual({ retry: true, delayMs: 1000 });
    for (let i = 0; i < 100; i++) {
      const outcome = afterFailure('runner_timeout', 2, policy);
      if (!outcome.retry) throw new Error('expected a retry');
      expect(outcome.delayMs).toBeGreaterThanOrEqual(1000);
      expect(outcome.delayMs).toBeLessThanOrEqual(2000);
    }
  });

  test('a permanent failure is final on the first attempt; one attempt in all means no retry', () => {
    expect(afterFailure('invalid_input', 1, policy)).toEqual({ retry: false });
    expect(afterFailure('runner_http_429', 1, { ...policy, maxAttempts: 1 })).toEqual({ retry: false });
  });
});
