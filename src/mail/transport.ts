import { randomUUID } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';
import type { RenderedMail } from './templates';

/** Where mail goes: an SMTP server, or (embedded default) files a developer opens. */
export interface MailTransport {
  send(mail: RenderedMail & { to: string; messageId: string }): Promise<void>;
  close(): void;
  /** For the start-up line: where mail is going. */
  readonly description: string;
}

export interface TransportSettings {
  smtpUrl: string | undefined;
  from: string;
  outboxDir: string;
}

/**
 * SMTP through nodemailer when SMTP_URL is set. Without it each mail becomes
 * one .eml file in the outbox directory (any mail client opens one), written
 * under a temporary name and renamed, so a reader never sees half a file.
 */
export function createMailTransport(settings: TransportSettings): MailTransport {
  if (settings.smtpUrl) {
    const smtp = nodemailer.createTransport(settings.smtpUrl);
    const host = new URL(settings.smtpUrl).host;
    return {
      description: `SMTP at ${host}`,
      async send(mail) {
        await smtp.sendMail({ from: settings.from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html, messageId: mail.messageId });
      },
      close: () => smtp.close(),
    };
  }
  const files = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    description: `files in ${settings.outboxDir}`,
    async send(mail) {
      const info = await files.sendMail({ from: settings.from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html, messageId: mail.messageId });
      await mkdir(settings.outboxDir, { recursive: true });
      const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}.eml`;
      const partial = path.join(settings.outboxDir, `.${name}.partial`);
      await writeFile(partial, info.message as Buffer);
      await rename(partial, path.join(settings.outboxDir, name));
    },
    close: () => files.close(),
  };
}
