import { Webhook } from 'standardwebhooks';
import { DEFAULT_RETRY_SCHEDULE_SECONDS, isSuccess, newWebhookSecret, parseRetrySchedule, retryDelayMs, shouldPause, signedHeaders } from './rules';

describe('signing', () => {
  test('a new secret is whsec_ and 32 bytes of base64, as Standard Webhooks libraries take it', () => {
    const secret = newWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
    expect(newWebhookSecret()).not.toBe(secret);
  });

  test('the headers verify with the standardwebhooks package, and not with another secret or body', () => {
    const secret = newWebhookSecret();
    const body = JSON.stringify({ type: 'execution.completed', data: { id: 1 } });
    const headers = signedHeaders(secret, 'msg_evt_42', new Date(), body);
    expect(headers['webhook-id']).toBe('msg_evt_42');
    expect(headers['webhook-signature']).toMatch(/^v1,/);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(newWebhookSecret()).verify(body, headers)).toThrow();
    expect(() => new Webhook(secret).verify(`${body} `, headers)).toThrow();
  });
});

describe('retries', () => {
  test('the default schedule spans about a day over seven retries', () => {
    const total = DEFAULT_RETRY_SCHEDULE_SECONDS.reduce((a, b) => a + b, 0);
    expect(DEFAULT_RETRY_SCHEDULE_SECONDS).toHaveLength(7);
    expect(total / 3600).toBeGreaterThan(20);
    expect(total / 3600).toBeLessThan(30);
  });

  test('each failed attempt waits its step, spread by at most a tenth; after the last there is none', () => {
    const schedule = [5, 300];
    expect(retryDelayMs(1, schedule, 0.5)).toBe(5000);
    expect(retryDelayMs(1, schedule, 0)).toBe(4500);
    expect(retryDelayMs(1, schedule, 0.999999)).toBe(5500);
    expect(retryDelayMs(2, schedule, 0.5)).toBe(300_000);
    expect(retryDelayMs(3, schedule, 0.5)).toBeNull();
  });

  test('only a 2xx answer is a success', () => {
    expect([200, 201, 204, 299].every(isSuccess)).toBe(true);
    expect([undefined, 199, 301, 302, 400, 410, 500].some(isSuccess)).toBe(false);
  });

  test('WEBHOOK_RETRY_SCHEDULE', () => {
    expect(parseRetrySchedule(undefined)).toEqual(DEFAULT_RETRY_SCHEDULE_SECONDS);
    expect(parseRetrySchedule('0, 1.5,60')).toEqual([0, 1.5, 60]);
    expect(() => parseRetrySchedule('5,soon')).toThrow(/WEBHOOK_RETRY_SCHEDULE/);
    expect(() => parseRetrySchedule('-1')).toThrow(/WEBHOOK_RETRY_SCHEDULE/);
  });
});

describe('pausing a failing endpoint', () => {
  const limits = { afterFailures: 3, afterMs: 5 * 86_400_000 };
  test('after enough final failures in a row, or after failing for days', () => {
    expect(shouldPause({ consecutiveFailures: 2, failingForMs: 86_400_000 }, limits)).toBe(false);
    expect(shouldPause({ consecutiveFailures: 3, failingForMs: 86_400_000 }, limits)).toBe(true);
    expect(shouldPause({ consecutiveFailures: 1, failingForMs: 5 * 86_400_000 }, limits)).toBe(true);
    expect(shouldPause({ consecutiveFailures: 1, failingForMs: null }, limits)).toBe(false);
  });
});
