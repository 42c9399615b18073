import type { MailKind } from './templates';

// The outbox lives in schema app: only these SECURITY DEFINER functions of
// database/029 reach it, as the back office (service_role).

export interface ClaimedMailRow {
  id: string;
  kind: MailKind;
  user_id: string | null;
  to_address: string;
  params: Record<string, unknown>;
  sealed_secret: string | null;
  urgent: boolean;
  attempts: number;
  quiet_hours_enabled: boolean;
  quiet_hours_start: string | null;
  quiet_hours_end: string | null;
  quiet_hours_days: 'all' | 'weekdays' | 'weekends' | 'custom' | null;
  quiet_hours_custom_days: number[];
  time_zone: string;
}

/** $1 now, $2 batch size, $3 lease in seconds. */
export const CLAIM_MAIL = 'select * from app.claim_mail($1, $2, $3)';

/** $1 mail, $2 outcome (sent, held, retry, failed), $3 next attempt, $4 error. */
export const FINISH_MAIL = 'select app.finish_mail($1, $2, $3, $4)';

/** $1 invitation, $2 its token sealed for `invitationSecretContext`. */
export const QUEUE_INVITATION_MAIL = 'select app.queue_invitation_mail($1, $2)';

export interface DigestCandidateRow {
  user_id: string;
  frequency: 'daily' | 'weekly';
  digest_time: string;
  digest_day: number;
  time_zone: string;
  /** ISO-8601 (timestamps come back as text). */
  last_digest_at: string | null;
}

/** People who asked for digests ($1 batch size, $2 after this user id: keyset paging). */
export const DIGEST_CANDIDATES = `select p.user_id, p.frequency, to_char(p.digest_time, 'HH24:MI') as digest_time, p.digest_day, p.time_zone, p.last_digest_at
  from public.notification_preferences p
  where p.email_weekly_digest and p.frequency in ('daily', 'weekly') and p.user_id > $2
  order by p.user_id limit $1`;

/** $1 user, $2 slot, $3 frequency: how many unread notifications it queued (0: none, or the slot was handled). */
export const QUEUE_DIGEST = 'select app.queue_digest($1, $2, $3) as queued';

/** What an invitation's token is sealed for: it opens only for its own invitation's mail. */
export function invitationSecretContext(invitationId: string): string {
  return `invitation-mail:${invitationId}`;
}
