// The mails we send, each with a plain-text part and an HTML part. Every value
// that reaches HTML goes through escapeHtml: names, messages and project names
// are typed by people and must not become markup in someone's mail client.

export type MailKind = 'invitation' | 'security_alert' | 'digest';

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

export interface MailContext {
  /** The web app's address (WEB_APP_URL), for links. */
  webAppUrl: string;
  /** For an invitation: the link that accepts it (carries the token). */
  acceptUrl?: string;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (char) => HTML_ESCAPES[char]!);
}

/** A subject is one line: a value with a line break must not start a header of its own. */
function oneLine(value: unknown, max = 150): string {
  const flat = String(value ?? '').replace(/[\r\n\t]+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body style="font-family: -apple-system, Segoe UI, Helvetica, Arial, sans-serif; color: #1f2328; max-width: 560px; margin: 0 auto; padding: 24px;">
${body}
</body></html>
`;
}

function button(href: string, label: string): string {
  return `<p><a href="${escapeHtml(href)}" style="display: inline-block; background: #1f6feb; color: #ffffff; padding: 10px 18px; border-radius: 6px; text-decoration: none;">${escapeHtml(label)}</a></p>`;
}

type Params = Record<string, unknown>;

function invitation(params: Params, context: MailContext): RenderedMail {
  if (!context.acceptUrl) throw new Error('an invitation mail needs its accept link');
  const inviter = oneLine(params.inviterName ?? 'Someone');
  const project = oneLine(params.projectName);
  const organization = oneLine(params.organizationName);
  const message = typeof params.message === 'string' && params.message.trim() !== '' ? params.message : null;
  const expires = typeof params.expiresAt === 'string' ? params.expiresAt : null;
  const text = [
    `${inviter} invited you to the project "${project}" of ${organization} as ${oneLine(params.role)}.`,
    ...(message ? ['', 'Their message:', message] : []),
    '',
    `Accept the invitation: ${context.acceptUrl}`,
    ...(expires ? ['', `The invitation expires at ${expires} (UTC).`] : []),
    '',
    'If you did not expect this, ignore this mail: nothing happens unless you accept.',
  ].join('\n');
  const html = page(
    `Invitation to ${project}`,
    `<p><strong>${escapeHtml(inviter)}</strong> invited you to the project <strong>${escapeHtml(project)}</strong> of ${escapeHtml(organization)} as ${escapeHtml(params.role)}.</p>
${message ? `<blockquote style="border-left: 3px solid #d0d7de; margin: 0; padding-left: 12px; white-space: pre-wrap;">${escapeHtml(message)}</blockquote>` : ''}
${button(context.acceptUrl, 'Accept the invitation')}
${expires ? `<p style="color: #57606a;">The invitation expires at ${escapeHtml(expires)} (UTC).</p>` : ''}
<p style="color: #57606a;">If you did not expect this, ignore this mail: nothing happens unless you accept.</p>`,
  );
  return { subject: `${inviter} invited you to ${project}`, text, html };
}

function securityAlert(params: Params, context: MailContext): RenderedMail {
  const title = oneLine(params.title ?? 'Security alert');
  const details = [
    ['When', params.at ? `${String(params.at)} (UTC)` : null],
    ['From address', params.ipAddress],
    ['Browser or client', params.userAgent],
  ].filter((entry): entry is [string, string] => typeof entry[1] === 'string' && entry[1] !== '');
  const securityUrl = `${context.webAppUrl}/settings/security`;
  const text = [title, '', String(params.message ?? ''), '', ...details.map(([label, value]) => `${label}: ${value}`), '', `Review your security settings: ${securityUrl}`].join(
    '\n',
  );
  const html = page(
    title,
    `<h2 style="margin-top: 0;">${escapeHtml(title)}</h2>
<p>${escapeHtml(params.message)}</p>
${details.length > 0 ? `<table>${details.map(([label, value]) => `<tr><td style="color: #57606a; padding-right: 12px;">${escapeHtml(label)}</td><td>${escapeHtml(value)}</td></tr>`).join('')}</table>` : ''}
${button(securityUrl, 'Review security settings')}`,
  );
  return { subject: `Security alert: ${title}`, text, html };
}

interface DigestItem {
  type: string;
  title: string;
  message: string | null;
  link: string | null;
  createdAt: string;
}

const GROUP_TITLES: Record<string, string> = {
  security_alert: 'Security',
  task_completion: 'Runs',
  context_update: 'Projects',
  system_update: 'Habits, reflexes and billing',
  team_activity: 'Team',
  new_lead: 'Leads',
};

/** Items grouped by type, groups in a fixed order (security first), items newest first as given. */
export function groupDigestItems(items: readonly DigestItem[]): Array<{ title: string; items: DigestItem[] }> {
  return Object.keys(GROUP_TITLES)
    .map((type) => ({ title: GROUP_TITLES[type]!, items: items.filter((item) => item.type === type) }))
    .filter((group) => group.items.length > 0);
}

function digest(params: Params, context: MailContext): RenderedMail {
  const items = Array.isArray(params.items) ? (params.items as DigestItem[]) : [];
  const total = typeof params.total === 'number' ? params.total : items.length;
  const groups = groupDigestItems(items);
  const period = params.frequency === 'weekly' ? 'weekly' : 'daily';
  const feedUrl = `${context.webAppUrl}/notifications`;
  const more = total > items.length ? total - items.length : 0;
  const text = [
    `You have ${total} unread notification${total === 1 ? '' : 's'}.`,
    ...groups.flatMap((group) => ['', `${group.title} (${group.items.length})`, ...group.items.map((item) => `- ${item.title}${item.message ? `: ${item.message}` : ''}`)]),
    ...(more > 0 ? ['', `And ${more} more.`] : []),
    '',
    `Open your notifications: ${feedUrl}`,
  ].join('\n');
  const html = page(
    `Your ${period} digest`,
    `<h2 style="margin-top: 0;">You have ${escapeHtml(total)} unread notification${total === 1 ? '' : 's'}</h2>
${groups
  .map(
    (group) => `<h3>${escapeHtml(group.title)} (${group.items.length})</h3>
<ul>${group.items.map((item) => `<li><strong>${escapeHtml(item.title)}</strong>${item.message ? ` ${escapeHtml(item.message)}` : ''}</li>`).join('')}</ul>`,
  )
  .join('\n')}
${more > 0 ? `<p>And ${more} more.</p>` : ''}
${button(feedUrl, 'Open your notifications')}`,
  );
  return { subject: `Your ${period} digest: ${total} unread notification${total === 1 ? '' : 's'}`, text, html };
}

export function renderMail(kind: MailKind, params: Params, context: MailContext): RenderedMail {
  switch (kind) {
    case 'invitation':
      return invitation(params, context);
    case 'security_alert':
      return securityAlert(params, context);
    case 'digest':
      return digest(params, context);
  }
}
