import { toTeamStats } from './rules';

describe('toTeamStats', () => {
  const row = { total_members: 4, active_members: 3, pending_invites: 2, max_seats: '10' };

  test('seats left are the plan\'s less members and pending invitees', () => {
    expect(toTeamStats(row)).toEqual({ totalMembers: 4, activeMembers: 3, pendingInvites: 2, availableSeats: 4, maxSeats: 10 });
  });

  test('a full or overfull plan shows 0 seats left, never fewer', () => {
    expect(toTeamStats({ ...row, max_seats: '5' }).availableSeats).toBe(0);
    expect(toTeamStats({ ...row, max_seats: '1' }).availableSeats).toBe(0);
  });

  test('unlimited (-1) stays -1 for both', () => {
    expect(toTeamStats({ ...row, max_seats: '-1' })).toMatchObject({ maxSeats: -1, availableSeats: -1 });
  });
});
