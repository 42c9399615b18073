import { escapeHtml, groupDigestItems, renderMail } from './templates';

const context = { webAppUrl: 'https://app.example.com', acceptUrl: 'https://app.example.com/invitations/accept?token=inv_abc' };

test('HTML escaping covers markup and attribute quotes', () => {
  expect(escapeHtml(`<script>alert("x")</script> & 'y'`)).toBe('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;');
  expect(escapeHtml(null)).toBe('');
});

test('an invitation names who invited whom to what, links to accept, and escapes what people typed', () => {
  const mail = renderMail(
    'invitation',
    { inviterName: 'Ada <b>', projectName: 'Apollo "11"', organizationName: 'Acme', role: 'viewer', message: '<img src=x onerror=alert(1)>', expiresAt: '2026-12-01T00:00:00.000Z' },
    context,
  );
  expect(mail.subject).toBe('Ada <b> invited you to Apollo "11"');
  expect(mail.text).toContain(context.acceptUrl);
  expect(mail.text).toContain('<img src=x onerror=alert(1)>');
  expect(mail.html).toContain('href="https://app.example.com/invitations/accept?token=inv_abc"');
  expect(mail.html).toContain('&lt;img src=x onerror=alert(1)&gt;');
  expect(mail.html).not.toContain('<img');
  expect(mail.html).toContain('Ada &lt;b&gt;');
});

test('a subject stays one line whatever a name holds', () => {
  const mail = renderMail('invitation', { inviterName: 'Eve\r\nBcc: victim@example.com', projectName: 'P', organizationName: 'O', role: 'viewer' }, context);
  expect(mail.subject).not.toMatch(/[\r\n]/);
});

test('a security alert says what happened, when and from where', () => {
  const mail = renderMail(
    'security_alert',
    { title: 'Two-factor authentication was turned off', message: 'If this was not you...', at: '2026-11-30T10:00:00.000Z', ipAddress: '203.0.113.9' },
    context,
  );
  expect(mail.subject).toBe('Security alert: Two-factor authentication was turned off');
  expect(mail.text).toContain('From address: 203.0.113.9');
  expect(mail.html).toContain('https://app.example.com/settings/security');
});

test('a digest groups its items by kind, security first, and counts what it left out', () => {
  const items = [
    { type: 'task_completion', title: 'Run completed', message: '"Summary" completed.', link: null, createdAt: '2026-11-30T09:00:00.000Z' },
    { type: 'security_alert', title: 'A new API key was created', message: null, link: null, createdAt: '2026-11-30T08:00:00.000Z' },
    { type: 'task_completion', title: 'Run failed', message: null, link: null, createdAt: '2026-11-30T07:00:00.000Z' },
  ];
  expect(groupDigestItems(items).map((group) => [group.title, group.items.length])).toEqual([
    ['Security', 1],
    ['Runs', 2],
  ]);
  const mail = renderMail('digest', { frequency: 'daily', total: 5, items }, context);
  expect(mail.subject).toBe('Your daily digest: 5 unread notifications');
  expect(mail.text).toContain('Runs (2)');
  expect(mail.text).toContain('And 2 more.');
  expect(mail.html).toContain('&quot;Summary&quot; completed.');
});
