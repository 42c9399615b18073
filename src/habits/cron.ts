import { Cron } from 'croner';

/**
 * Cron expressions and time zones for habits. croner does the parsing and the
 * calendar arithmetic (time zones and DST); this module pins the dialect to
 * classic five-field cron and turns croner's errors into messages for people.
 *
 * DST follows croner (and Vixie cron): a fixed time that falls in the spring
 * gap runs at the first valid time after it, the same day; a fixed time that
 * occurs twice in autumn runs once, at its first occurrence. Patterns with
 * steps, ranges or lists in the minute or hour fields skip the gap and run in
 * both copies of the repeated hour.
 */

export type CronCheck = { valid: true; cron: Cron } | { valid: false; reason: string };

// Characters of five-field cron as croner reads them (names like MON and JAN,
// L, W, # and ? included); anything else is refused before croner sees it.
const FIELD = /^[0-9A-Za-z*,/\-?#L+]+$/;

/** Parses a five-field cron expression in a time zone; six or seven fields (seconds, years) and nicknames are refused. */
export function parseCron(expression: string, timezone = 'UTC'): CronCheck {
  const built = buildCron(expression, timezone);
  if (!built.valid) return built;
  try {
    // A pattern like "0 0 30 2 *" parses but never fires.
    if (built.cron.nextRun(new Date()) === null) {
      return { valid: false, reason: 'The schedule never runs (no date matches it).' };
    }
  } catch {
    // croner only converts to the time zone when asked for a run.
    return { valid: false, reason: `"${timezone}" is not a time zone the schedule can be computed in.` };
  }
  return built;
}

/** The parsing half of parseCron, without asking for a run. */
function buildCron(expression: string, timezone: string): CronCheck {
  const fields = expression.trim().split(/\s+/);
  if (expression.trim() === '' || fields.length !== 5) {
    return {
      valid: false,
      reason: `A schedule has exactly five fields (minute hour day-of-month month day-of-week); this one has ${expression.trim() === '' ? 0 : fields.length}.`,
    };
  }
  if (!fields.every((field) => FIELD.test(field))) {
    return { valid: false, reason: 'A schedule field contains a character cron does not allow.' };
  }
  let cron: Cron;
  try {
    cron = new Cron(fields.join(' '), { timezone, mode: '5-part', paused: true });
  } catch (error) {
    const message = error instanceof Error ? error.message.replace(/^CronPattern:\s*/, '') : String(error);
    return { valid: false, reason: `The schedule is not valid cron: ${message}` };
  }
  return { valid: true, cron };
}

// IANA names (Area/Location, UTC, Etc/GMT+1...). Offsets like "+01:00", which
// newer runtimes accept as time zones, are refused: they have no DST rules.
const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+\-]*(\/[A-Za-z0-9_+\-]+)*$/;

/** The canonical spelling of an IANA time zone, or null when the runtime does not know it. */
export function canonicalTimezone(name: string): string | null {
  if (name.length > 64 || !ZONE_NAME.test(name)) return null;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

// Parsed schedules by expression and zone: the scheduler meets the same few
// again and again. A Cron that is never started holds no timer or state.
const parsedSchedules = new Map<string, CronCheck>();
const MAX_PARSED_SCHEDULES = 1000;

/** The first run strictly after `after`, or null when the schedule is invalid or never runs again. */
export function nextRunAfter(expression: string, timezone: string, after: Date): Date | null {
  const key = `${timezone} ${expression}`;
  let parsed = parsedSchedules.get(key);
  if (!parsed) {
    parsed = buildCron(expression, timezone);
    if (parsedSchedules.size >= MAX_PARSED_SCHEDULES) parsedSchedules.clear();
    parsedSchedules.set(key, parsed);
  }
  if (!parsed.valid) return null;
  try {
    return parsed.cron.nextRun(after);
  } catch {
    return null;
  }
}

/** An instant as the wall clock in `timezone` shows it, with its UTC offset: 2026-03-29T03:00:00+02:00. */
export function localTime(instant: Date, timezone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    })
      .formatToParts(instant)
      .map((part) => [part.type, part.value]),
  );
  const wall = Date.UTC(+parts.year!, +parts.month! - 1, +parts.day!, +parts.hour!, +parts.minute!, +parts.second!);
  const offsetMinutes = Math.round((wall - Math.floor(instant.getTime() / 1000) * 1000) / 60000);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  const offset = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}${offset}`;
}

const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const MONTH_NAMES = ['', 'January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

const isNumber = (field: string) => /^\d+$/.test(field);
const pad = (value: string) => value.padStart(2, '0');

/** "1-5" -> "Monday to Friday", "1,3" -> "Monday and Wednesday"; null for anything fancier. */
function describeList(field: string, names: string[]): string | null {
  const items = field.split(',');
  const described: string[] = [];
  for (const item of items) {
    const range = /^(\d+)-(\d+)$/.exec(item);
    if (range && names[+range[1]!] && names[+range[2]!]) described.push(`${names[+range[1]!]} to ${names[+range[2]!]}`);
    else if (isNumber(item) && names[+item]) described.push(names[+item]!);
    else return null;
  }
  return described.length > 1 ? `${described.slice(0, -1).join(', ')} and ${described[described.length - 1]}` : described[0]!;
}

/**
 * A plain English description of common five-field patterns ("At 02:30 every
 * day (Europe/Amsterdam)"); anything it does not recognise gets a generic one.
 * The user may always write their own.
 */
export function describeCron(expression: string, timezone: string): string {
  const [minute, hour, dom, month, dow] = expression.trim().split(/\s+/) as [string, string, string, string, string];
  let when: string | null = null;
  const step = /^\*\/(\d+)$/;
  if (isNumber(minute) && isNumber(hour)) when = `At ${pad(hour)}:${pad(minute)}`;
  else if (isNumber(minute) && hour === '*') when = minute === '0' ? 'Every hour' : `At minute ${+minute} of every hour`;
  else if (isNumber(minute) && step.test(hour)) when = `At minute ${+minute} every ${step.exec(hour)![1]} hours`;
  else if (minute === '*' && hour === '*') when = 'Every minute';
  else if (step.test(minute) && hour === '*') when = `Every ${step.exec(minute)![1]} minutes`;

  let days: string | null = null;
  if (dom === '*' && dow === '*') days = 'every day';
  else if (dom === '*') {
    const list = describeList(dow, DAY_NAMES);
    days = list ? `on ${list}` : null;
  } else if (dow === '*' && isNumber(dom)) days = `on day ${+dom} of the month`;
  else if (dow === '*' && dom === 'L') days = 'on the last day of the month';

  let months: string | null = '';
  if (month !== '*') {
    const list = describeList(month, MONTH_NAMES);
    months = list ? ` in ${list}` : null;
  }

  if (!when || !days || months === null) return `On the schedule "${expression.trim()}" (${timezone})`;
  const joined = when.startsWith('Every') && days === 'every day' ? when : `${when} ${days}`;
  return `${joined}${months} (${timezone})`;
}
