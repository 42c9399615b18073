import type { components } from '../generated/openapi';
import { isTimeZone } from '../mail/zoned';
import type { FieldError } from '../problems';

// NotificationPreferences as the web frontend's settings screen reads them,
// and the pure rules of a change: sections merge field by field, and the
// result must name a real time zone.

export type NotificationPreferences = components['schemas']['NotificationPreferences'];
export type PreferencesChange = components['schemas']['NotificationPreferencesUpdate'];

export interface PreferencesRow {
  email_product_updates: boolean;
  email_security_alerts: boolean;
  email_billing_reminders: boolean;
  email_weekly_digest: boolean;
  in_app_new_leads: boolean;
  in_app_task_completions: boolean;
  in_app_system_updates: boolean;
  in_app_context_updates: boolean;
  in_app_team_activity: boolean;
  frequency: 'realtime' | 'daily' | 'weekly';
  digest_time: string;
  digest_day: number;
  quiet_hours_enabled: boolean;
  quiet_hours_start: string;
  quiet_hours_end: string;
  quiet_hours_days: 'all' | 'weekdays' | 'weekends' | 'custom';
  quiet_hours_custom_days: number[];
  time_zone: string;
  updated_at: string | null;
}

/** What a person has before their first change: the column defaults of database/029. */
export const DEFAULT_PREFERENCES: NotificationPreferences = {
  email: { productUpdates: true, securityAlerts: true, billingReminders: true, weeklyDigest: true },
  inApp: { newLeads: true, taskCompletions: true, systemUpdates: true, contextUpdates: true, teamActivity: true },
  frequency: { frequency: 'realtime', digestTime: '09:00', digestDay: 1 },
  quietHours: { enabled: false, startTime: '22:00', endTime: '07:00', days: 'all', customDays: [] },
  timezone: 'UTC',
  updatedAt: null,
};

export function toPreferences(row: PreferencesRow | undefined): NotificationPreferences {
  if (!row) return structuredClone(DEFAULT_PREFERENCES);
  return {
    email: {
      productUpdates: row.email_product_updates,
      securityAlerts: row.email_security_alerts,
      billingReminders: row.email_billing_reminders,
      weeklyDigest: row.email_weekly_digest,
    },
    inApp: {
      newLeads: row.in_app_new_leads,
      taskCompletions: row.in_app_task_completions,
      systemUpdates: row.in_app_system_updates,
      contextUpdates: row.in_app_context_updates,
      teamActivity: row.in_app_team_activity,
    },
    frequency: { frequency: row.frequency, digestTime: row.digest_time, digestDay: row.digest_day },
    quietHours: {
      enabled: row.quiet_hours_enabled,
      startTime: row.quiet_hours_start,
      endTime: row.quiet_hours_end,
      days: row.quiet_hours_days,
      customDays: row.quiet_hours_custom_days,
    },
    timezone: row.time_zone,
    updatedAt: row.updated_at,
  };
}

/** The preferences after a change: each section sent replaces only the fields it names. */
export function mergePreferences(current: NotificationPreferences, change: PreferencesChange): NotificationPreferences {
  return {
    email: { ...current.email, ...change.email },
    inApp: { ...current.inApp, ...change.inApp },
    frequency: { ...current.frequency, ...change.frequency },
    quietHours: { ...current.quietHours, ...change.quietHours },
    timezone: change.timezone ?? current.timezone,
    updatedAt: current.updatedAt,
  };
}

/** What is wrong with the preferences a change would leave (the contract has checked each field's form). */
export function preferenceErrors(preferences: NotificationPreferences): FieldError[] {
  const errors: FieldError[] = [];
  if (!isTimeZone(preferences.timezone)) {
    errors.push({ path: '/body/timezone', message: `"${preferences.timezone}" is not an IANA time zone (e.g. Europe/Amsterdam, UTC)` });
  }
  const quiet = preferences.quietHours;
  if (quiet.enabled && quiet.days === 'custom' && quiet.customDays.length === 0) {
    errors.push({ path: '/body/quietHours/customDays', message: 'custom quiet days need at least one day (0 Sunday .. 6 Saturday)' });
  }
  if (quiet.enabled && quiet.startTime === quiet.endTime) {
    errors.push({ path: '/body/quietHours/endTime', message: 'quiet hours that end when they start are never quiet' });
  }
  return errors;
}

/** The values of UPSERT_PREFERENCES after the user id, in its column order. */
export function preferenceValues(preferences: NotificationPreferences): unknown[] {
  const { email, inApp, frequency, quietHours } = preferences;
  return [
    email.productUpdates,
    email.securityAlerts,
    email.billingReminders,
    email.weeklyDigest,
    inApp.newLeads,
    inApp.taskCompletions,
    inApp.systemUpdates,
    inApp.contextUpdates,
    inApp.teamActivity,
    frequency.frequency,
    frequency.digestTime,
    frequency.digestDay,
    quietHours.enabled,
    quietHours.startTime,
    quietHours.endTime,
    quietHours.days,
    [...new Set(quietHours.customDays)].sort(),
    preferences.timezone,
  ];
}
