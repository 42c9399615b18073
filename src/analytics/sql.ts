/**
 * One caller's events in one statement: $1 the caller, $2 the organization
 * (null: none), $3 the events as a JSON array of StoredAnalyticsEvent. Row
 * level security checks the caller and their membership on every row.
 */
export const INSERT_EVENTS = `insert into public.analytics_events (user_id, organization_id, type, occurred_at, session_id, persona, properties)
  select $1, $2, e.type, e.occurred_at, e.session_id, e.persona, coalesce(e.properties, '{}')
  from jsonb_to_recordset($3::jsonb) as e(type text, occurred_at timestamptz, session_id text, persona text, properties jsonb)`;

/** $1 retention in days, $2 batch size; how many rows went. */
export const PURGE_EVENTS = 'select app.purge_analytics_events($1, $2) as deleted';
