import type { Conditions } from '../conditions';

/** A webhook reflex with its secret: read only by the back office, for a signed delivery. */
export interface WebhookReflexRow {
  id: string;
  skill_id: string;
  is_active: boolean;
  trigger_config: Record<string, unknown>;
  conditions: Conditions;
  secret: string;
}

/** $1 reflex: found only when it is a webhook reflex with a secret. */
export const WEBHOOK_REFLEX = `select r.id, r.skill_id, r.is_active, r.trigger_config, r.conditions, s.secret
  from public.reflexes r join public.reflex_secrets s on s.reflex_id = r.id
  where r.id = $1 and r.trigger_type = 'webhook'`;

/**
 * $1 reflex, $2 signature, $3 its timestamp, $4 the tolerance in seconds.
 * Each accepted signature is remembered until its timestamp leaves the window
 * (then it would be refused as stale anyway), and this reflex's expired ones
 * are pruned in the same statement; no row inserted means a replay.
 */
export const REMEMBER_DELIVERY = `with pruned as (
    delete from public.reflex_webhook_deliveries where reflex_id = $1 and expires_at < now()
  )
  insert into public.reflex_webhook_deliveries (reflex_id, signature, expires_at)
  values ($1, $2, to_timestamp($3::bigint) + make_interval(secs => $4))
  on conflict do nothing`;

/** How long a Standard Webhooks message id is remembered: longer than senders retry one message (about a day or two). */
export const MESSAGE_MEMORY_DAYS = 3;

/**
 * $1 reflex, $2 the message id's hash. Standard Webhooks senders sign each
 * retry anew (a fresh timestamp), so a message is remembered by its id for
 * days, not for the timestamp's window; no row inserted means a duplicate.
 */
export const REMEMBER_MESSAGE = `with pruned as (
    delete from public.reflex_webhook_deliveries where reflex_id = $1 and expires_at < now()
  )
  insert into public.reflex_webhook_deliveries (reflex_id, signature, expires_at)
  values ($1, $2, now() + make_interval(days => ${MESSAGE_MEMORY_DAYS}))
  on conflict do nothing`;
