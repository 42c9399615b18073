import { addDays, fromWallClock, isTimeZone, minutesOf, wallClock } from './zoned';

// When mail may go: quiet hours hold what is not urgent, and digests go at the
// person's chosen time (daily, or weekly on a chosen day) in their time zone.

export interface QuietHours {
  enabled: boolean;
  /** HH:MM */
  startTime: string;
  endTime: string;
  /** The days a quiet period starts on. */
  days: 'all' | 'weekdays' | 'weekends' | 'custom';
  /** 0 Sunday .. 6 Saturday, for `custom`. */
  customDays: readonly number[];
  timeZone: string;
}

export interface DigestSchedule {
  frequency: 'realtime' | 'daily' | 'weekly';
  digestTime: string;
  /** 0 Sunday .. 6 Saturday, for weekly digests. */
  digestDay: number;
  timeZone: string;
}

/** A zone stored before it was checked, or one this runtime lacks, reads as UTC rather than stopping mail. */
function zoneOrUtc(zone: string): string {
  return isTimeZone(zone) ? zone : 'UTC';
}

function startsOn(quiet: QuietHours, weekday: number): boolean {
  switch (quiet.days) {
    case 'all':
      return true;
    case 'weekdays':
      return weekday >= 1 && weekday <= 5;
    case 'weekends':
      return weekday === 0 || weekday === 6;
    case 'custom':
      return quiet.customDays.includes(weekday);
  }
}

/**
 * When the quiet period `now` falls in ends, or null when `now` is not quiet.
 * A period whose end is before its start runs past midnight and belongs to
 * the day it starts on; one that starts and ends at the same minute is empty.
 */
export function quietHoursEnd(quiet: QuietHours, now: Date): Date | null {
  if (!quiet.enabled) return null;
  const zone = zoneOrUtc(quiet.timeZone);
  const start = minutesOf(quiet.startTime);
  const end = minutesOf(quiet.endTime);
  if (start === end) return null;
  const clock = wallClock(now, zone);
  const minute = clock.hour * 60 + clock.minute;
  const endOn = (days: number) => {
    const date = addDays(clock.year, clock.month, clock.day, days);
    return fromWallClock(zone, date.year, date.month, date.day, Math.floor(end / 60), end % 60);
  };
  if (start < end) {
    return startsOn(quiet, clock.weekday) && minute >= start && minute < end ? endOn(0) : null;
  }
  if (minute >= start && startsOn(quiet, clock.weekday)) return endOn(1);
  if (minute < end && startsOn(quiet, (clock.weekday + 6) % 7)) return endOn(0);
  return null;
}

/**
 * The latest digest moment at or before `now` (null for realtime, which has
 * none). A digest is due when the person's last handled slot is older.
 */
export function latestDigestSlot(schedule: DigestSchedule, now: Date): Date | null {
  if (schedule.frequency === 'realtime') return null;
  const zone = zoneOrUtc(schedule.timeZone);
  const at = minutesOf(schedule.digestTime);
  const clock = wallClock(now, zone);
  const back = schedule.frequency === 'weekly' ? (clock.weekday - schedule.digestDay + 7) % 7 : 0;
  const slotOn = (daysBack: number) => {
    const date = addDays(clock.year, clock.month, clock.day, -daysBack);
    return fromWallClock(zone, date.year, date.month, date.day, Math.floor(at / 60), at % 60);
  };
  const slot = slotOn(back);
  if (slot.getTime() <= now.getTime()) return slot;
  return slotOn(back + (schedule.frequency === 'weekly' ? 7 : 1));
}

/** Back-off before the next try of a mail that failed `attempts` times: 1 min, 2, 4 ... at most 6 hours. */
export function retryDelayMs(attempts: number): number {
  return Math.min(60_000 * 2 ** Math.max(attempts - 1, 0), 6 * 3_600_000);
}
