import type { OrganizationRole } from '../../db/transaction';
import { problems, type Problem } from '../../problems';
import type { AddMemberOutcome, TeamStats, TeamStatsRow } from './sql';

const ADDERS_ONLY = 'Only owners and admins of the organization add members.';

/**
 * Checked before the database is asked, so the caller learns why: owners add
 * anyone, admins plain members, nobody else adds at all.
 */
export function checkMemberAddition(callerRole: OrganizationRole | null, role: OrganizationRole): void {
  if (callerRole !== 'owner' && callerRole !== 'admin') throw problems.forbidden(ADDERS_ONLY);
  if (callerRole === 'admin' && role !== 'member') {
    throw problems.forbidden('Admins add plain members only; owners grant the admin and owner roles.');
  }
}

/** The database's verdict on an addition as the caller's problem; undefined when the person was added. */
export function additionRefusal(outcome: AddMemberOutcome): Problem | undefined {
  switch (outcome) {
    case 'no_account': {
      const detail = 'No account uses this email address. People without an account can be invited to a project instead.';
      return problems.unprocessable(detail, [{ path: '/body/email', message: detail }]);
    }
    case 'already_member':
      return problems.conflict('This user is already a member of the organization.');
    case 'forbidden':
      return problems.forbidden(ADDERS_ONLY);
    case 'added':
      return undefined;
  }
}

/** Seats left once members and pending invitees are counted; -1 (unlimited) stays -1, and a full plan shows 0, not less. */
export function toTeamStats(row: TeamStatsRow): TeamStats {
  const maxSeats = Number(row.max_seats);
  const availableSeats = maxSeats < 0 ? -1 : Math.max(0, maxSeats - row.total_members - row.pending_invites);
  return {
    totalMembers: row.total_members,
    activeMembers: row.active_members,
    pendingInvites: row.pending_invites,
    availableSeats,
    maxSeats,
  };
}
