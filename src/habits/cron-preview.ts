import type { operations } from '../generated/openapi';
import { problems } from '../problems';
import { canonicalTimezone, describeCron, localTime, parseCron } from './cron';

type CronCheck = operations['validateHabitCron']['requestBody']['content']['application/json'];
export type CronVerdict = operations['validateHabitCron']['responses']['200']['content']['application/json'];

/**
 * What a schedule means and when it runs next: the answer of
 * POST /habits/validate-cron, computed without the database. An invalid
 * schedule or time zone is a verdict (isValid: false, with the reason in
 * `error`), not an error response; only a preview start outside 1970-9998 is
 * the caller's 400.
 */
export function previewCron(check: CronCheck, now = new Date()): CronVerdict {
  const from = check.from ? new Date(check.from) : now;
  // Time zone rules before 1970 are guesses (local mean time) and years past 9999 do not exist here.
  if (from.getTime() < 0 || from.getUTCFullYear() > 9998) {
    throw problems.validation('The preview can start from 1970 to 9998.', [
      { path: '/body/from', message: 'must be from 1970-01-01T00:00:00Z to 9998-12-31T23:59:59Z' },
    ]);
  }
  const timezone = canonicalTimezone(check.timezone ?? 'UTC');
  const verdict: CronVerdict = {
    cron: check.cron,
    timezone: check.timezone ?? 'UTC',
    isValid: false,
    error: null,
    description: null,
    nextRuns: [],
    nextRunsLocal: [],
  };
  if (!timezone) {
    verdict.error = `"${check.timezone}" is not a known IANA time zone (for example Europe/Amsterdam or UTC).`;
    return verdict;
  }
  verdict.timezone = timezone;
  const parsed = parseCron(check.cron, timezone);
  if (!parsed.valid) {
    verdict.error = parsed.reason;
    return verdict;
  }
  verdict.isValid = true;
  verdict.description = describeCron(check.cron, timezone);
  const runs = parsed.cron.nextRuns(5, from);
  verdict.nextRuns = runs.map((at) => at.toISOString());
  verdict.nextRunsLocal = runs.map((at) => ({ at: at.toISOString(), local: localTime(at, timezone) }));
  return verdict;
}
