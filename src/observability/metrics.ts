import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

// Every metric this process exports, in one registry: what an on-call engineer
// can graph is decided here, and label names are typed, so a caller cannot
// invent a label (or a label value space without bounds: route labels are
// templates, never raw paths).

export const registry = new Registry();

// The process's own: CPU, memory, event-loop lag, open handles (prom-client's defaults).
collectDefaultMetrics({ register: registry });

/** Seconds from a request's arrival to its response's last byte, by the contract's route template. */
export const httpRequestDuration = new Histogram({
  name: 'http_request_duration_seconds',
  help: 'Time from a request arriving to its response finishing, by method, route template and status.',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

// ---- Database pool: read from pg.Pool's counters when scraped ----
export const dbPoolConnections = new Gauge({
  name: 'db_pool_connections',
  help: 'Connections the request pool holds (open ones, busy or idle).',
  registers: [registry],
});
export const dbPoolIdleConnections = new Gauge({
  name: 'db_pool_idle_connections',
  help: 'Open connections of the request pool that no request is using.',
  registers: [registry],
});
export const dbPoolWaitingRequests = new Gauge({
  name: 'db_pool_waiting_requests',
  help: 'Requests waiting for a connection of the pool (all are busy and the pool is at DB_POOL_SIZE).',
  registers: [registry],
});

// ---- Execution queue: one query when scraped ----
export const executionsPending = new Gauge({
  name: 'executions_pending',
  help: 'Executions waiting for a worker to claim them (status pending), across every organization.',
  registers: [registry],
});
export const executionsOldestPendingAge = new Gauge({
  name: 'executions_oldest_pending_age_seconds',
  help: 'Age of the oldest pending execution: how far behind the workers are (0 when none is pending).',
  registers: [registry],
});
export const metricsCollectionErrors = new Counter({
  name: 'metrics_collection_errors_total',
  help: 'Scrapes in which a value read from the database could not be collected (the values are stale).',
  labelNames: ['source'] as const,
  registers: [registry],
});

// ---- Skill runs (observed by the execution worker) ----
/** How a model call ended: answered, failed (an error from the runner), or out of time. */
export type RunOutcome = 'completed' | 'failed' | 'timeout';

export const skillRunDuration = new Histogram({
  name: 'skill_runner_duration_seconds',
  help: 'Time a skill run spent in the runner (the model call, retries included), by runner kind and outcome.',
  labelNames: ['runner', 'outcome'] as const,
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120],
  registers: [registry],
});
export const skillRuns = new Counter({
  name: 'skill_runs_total',
  help: 'Skill runs the execution worker finished, by runner kind and outcome (completed, failed, timeout).',
  labelNames: ['runner', 'outcome'] as const,
  registers: [registry],
});

// ---- Outbound webhooks ----
/** How one delivery attempt ended: a 2xx, another answer or no answer (retried), or the last attempt failed. */
export type DeliveryOutcome = 'delivered' | 'failed' | 'gave_up';

export const webhookDeliveries = new Counter({
  name: 'webhook_deliveries_total',
  help: 'Outbound webhook delivery attempts, by outcome (delivered, failed and to be retried, gave_up).',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

// ---- Quotas ----
export const quotaRefusals = new Counter({
  name: 'quota_refusals_total',
  help: "Requests the API refused (429 quota_exceeded) because the organization's plan quota is used up, by quota.",
  labelNames: ['quota'] as const,
  registers: [registry],
});

// ---- Live updates ----
export const eventStreamsOpen = new Gauge({
  name: 'event_streams_open',
  help: 'Server-Sent Events streams open on this process.',
  registers: [registry],
});
