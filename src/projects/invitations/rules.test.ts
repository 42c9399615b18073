import { invitationBatch, invitationResult, inviteesOf, notificationPreferences, planInvitations, type Invitee } from './rules';

describe('notificationPreferences', () => {
  test('real-time all three; digests ingestion and errors only; disabled none; real-time by default', () => {
    expect(notificationPreferences('real-time')).toEqual({ notifyOnIngestion: true, notifyOnError: true, notifyOnTeamChanges: true });
    expect(notificationPreferences('daily')).toEqual({ notifyOnIngestion: true, notifyOnError: true, notifyOnTeamChanges: false });
    expect(notificationPreferences('weekly')).toEqual({ notifyOnIngestion: true, notifyOnError: true, notifyOnTeamChanges: false });
    expect(notificationPreferences('disabled')).toEqual({ notifyOnIngestion: false, notifyOnError: false, notifyOnTeamChanges: false });
    expect(notificationPreferences()).toEqual(notificationPreferences('real-time'));
  });
});

describe('inviteesOf', () => {
  test('emails share the one role (viewer by default) and every notice', () => {
    expect(inviteesOf({ emails: ['a@x.test'], role: 'developer' })).toEqual([
      { email: 'a@x.test', role: 'developer', notifyOnIngestion: true, notifyOnError: true, notifyOnTeamChanges: true },
    ]);
    expect(inviteesOf({ emails: ['a@x.test'] })[0]!.role).toBe('viewer');
  });

  test('invitations carry their own role and level; the top-level role fills a gap', () => {
    expect(
      inviteesOf({ role: 'auditor', invitations: [{ email: 'a@x.test', role: 'manager', notificationLevel: 'disabled' }, { email: 'b@x.test' }] }),
    ).toEqual([
      { email: 'a@x.test', role: 'manager', notifyOnIngestion: false, notifyOnError: false, notifyOnTeamChanges: false },
      { email: 'b@x.test', role: 'auditor', notifyOnIngestion: true, notifyOnError: true, notifyOnTeamChanges: true },
    ]);
  });

  test('both forms or neither: a 400 naming both fields', () => {
    for (const body of [{}, { emails: ['a@x.test'], invitations: [{ email: 'a@x.test' }] }]) {
      expect(() => inviteesOf(body)).toThrow(expect.objectContaining({ status: 400 }));
    }
  });
});

describe('invitationResult and invitationBatch', () => {
  test('outcomes read as sent, pending or failed; only a sent one has no error', () => {
    expect(invitationResult('a@x.test', 'invited', { memberId: 'i1' })).toEqual({ email: 'a@x.test', status: 'sent', memberId: 'i1', error: null, outcome: 'invited' });
    expect(invitationResult('a@x.test', 'already_invited', { detail: 'pending' })).toMatchObject({ status: 'pending', error: 'pending', memberId: null });
    expect(invitationResult('a@x.test', 'already_member', { detail: 'member', memberId: 'm1' })).toMatchObject({ status: 'failed', memberId: 'm1' });
    expect(invitationResult('x', 'invalid_email', { detail: 'bad' })).toMatchObject({ status: 'failed', error: 'bad' });
  });

  test('the batch succeeds when nothing failed; a pending address is not a failure', () => {
    const sent = invitationResult('a@x.test', 'invited');
    const pending = invitationResult('b@x.test', 'already_invited', { detail: 'pending' });
    const failed = invitationResult('x', 'invalid_email', { detail: 'bad' });
    expect(invitationBatch([sent, pending])).toMatchObject({ success: true, totalSent: 1, totalFailed: 0 });
    expect(invitationBatch([sent, pending, failed])).toMatchObject({ success: false, totalSent: 1, totalFailed: 1 });
  });
});

describe('planInvitations', () => {
  const invitee = (email: string, role: Invitee['role'] = 'viewer'): Invitee => ({ email, role, ...notificationPreferences() });

  test('members and pending invitations answer with their ids; the first of a repeated address is invited with its role', () => {
    const invitees = [invitee('New@x.test', 'developer'), invitee('member@x.test'), invitee('pending@x.test'), invitee('new@x.test', 'admin'), invitee('nope')];
    const normalized = ['new@x.test', 'member@x.test', 'pending@x.test', 'new@x.test', null];
    const plan = planInvitations(invitees, normalized, new Map([['member@x.test', 'm1']]), new Map([['pending@x.test', 'p1']]));
    expect(plan.toInvite).toEqual([{ ...invitee('new@x.test', 'developer') }]);
    expect(plan.results.map((r) => [r.outcome, r.status, r.memberId])).toEqual([
      ['invited', 'sent', null],
      ['already_member', 'failed', 'm1'],
      ['already_invited', 'pending', 'p1'],
      ['already_invited', 'pending', null],
      ['invalid_email', 'failed', null],
    ]);
  });
});
