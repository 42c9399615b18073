import type pg from 'pg';
import type { SecretBox } from '../db/secret-box';
import { withServiceTransaction } from '../db/transaction';
import { quietHoursEnd, retryDelayMs } from './schedule';
import { CLAIM_MAIL, FINISH_MAIL, invitationSecretContext, type ClaimedMailRow } from './sql';
import { renderMail } from './templates';
import type { MailTransport } from './transport';

export interface MailSenderSettings {
  pool: pg.Pool;
  statementTimeoutMs: number;
  transport: MailTransport;
  /** Opens invitation tokens sealed by the API. */
  secrets: SecretBox;
  /** WEB_APP_URL: links in mails point there. */
  webAppUrl: string;
  maxAttempts: number;
  intervalMs: number;
  batchSize?: number;
  /** How long a claimed mail is this sender's before another may try it (a sender that died). */
  leaseSeconds?: number;
  log: (line: string) => void;
  /** The clock (tests move it). */
  now?: () => Date;
}

type Outcome = { outcome: 'sent' } | { outcome: 'held' | 'retry'; next: Date; error?: string } | { outcome: 'failed'; error: string };

/** The link that accepts an invitation in the web app; the token rides in the query. */
export function acceptLink(webAppUrl: string, token: string): string {
  return `${webAppUrl}/invitations/accept?token=${encodeURIComponent(token)}`;
}

/**
 * The mail loop: lease a batch of due mail (each lease is one attempt), send
 * each outside any transaction, then record what happened. A mail to a
 * person in their quiet hours is held until they end, unless it is urgent
 * (security alerts, invitations). A failure is retried with back-off until
 * maxAttempts; a sender that dies leaves leases that run out, and the mail
 * goes out again: at least once, never lost.
 */
export function mailSenderTask(settings: MailSenderSettings) {
  const now = settings.now ?? (() => new Date());
  const batchSize = settings.batchSize ?? 20;
  const leaseSeconds = settings.leaseSeconds ?? 300;

  async function deliver(mail: ClaimedMailRow, at: Date): Promise<Outcome> {
    if (!mail.urgent && mail.quiet_hours_enabled && mail.quiet_hours_start && mail.quiet_hours_end && mail.quiet_hours_days) {
      const until = quietHoursEnd(
        {
          enabled: true,
          startTime: mail.quiet_hours_start,
          endTime: mail.quiet_hours_end,
          days: mail.quiet_hours_days,
          customDays: mail.quiet_hours_custom_days,
          timeZone: mail.time_zone,
        },
        at,
      );
      if (until) return { outcome: 'held', next: until };
    }
    try {
      const acceptUrl =
        mail.kind === 'invitation' && mail.sealed_secret
          ? acceptLink(settings.webAppUrl, settings.secrets.open(mail.sealed_secret, invitationSecretContext(String(mail.params.invitationId))))
          : undefined;
      const rendered = renderMail(mail.kind, mail.params, { webAppUrl: settings.webAppUrl, acceptUrl });
      await settings.transport.send({ ...rendered, to: mail.to_address, messageId: `<${mail.id}@devtools.mail>` });
      return { outcome: 'sent' };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (mail.attempts >= settings.maxAttempts) return { outcome: 'failed', error: message };
      return { outcome: 'retry', next: new Date(at.getTime() + retryDelayMs(mail.attempts)), error: message };
    }
  }

  return {
    name: 'mail',
    intervalMs: settings.intervalMs,
    async tick(): Promise<boolean> {
      const at = now();
      const claimed = await withServiceTransaction(settings.pool, settings.statementTimeoutMs, (tx) =>
        tx.queryLast<ClaimedMailRow>(CLAIM_MAIL, [at, batchSize, leaseSeconds]),
      );
      for (const mail of claimed.rows) {
        const result = await deliver(mail, at);
        if (result.outcome === 'failed') settings.log(`mail: gave up on ${mail.kind} mail ${mail.id} after ${mail.attempts} attempts: ${result.error}`);
        const next = 'next' in result ? result.next : null;
        const error = 'error' in result ? (result.error ?? null) : null;
        await withServiceTransaction(settings.pool, settings.statementTimeoutMs, (tx) => tx.queryLast(FINISH_MAIL, [mail.id, result.outcome, next, error]));
      }
      return claimed.rows.length === batchSize;
    },
  };
}
