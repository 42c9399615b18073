// The contract's ProjectName pattern: no surrounding whitespace, no line breaks.
const NAME_SHAPE = /^\S(.*\S)?$/u;

/** The same rules the contract and the database apply on create, as reasons a person can read. */
export function projectNameProblems(name: string): string[] {
  const reasons: string[] = [];
  const length = [...name].length;
  if (length < 3) reasons.push('A project name needs at least 3 characters.');
  if (length > 50) reasons.push('A project name has at most 50 characters.');
  if (name.includes('\u0000')) reasons.push('A project name cannot contain NUL characters.');
  else if (length > 0 && !NAME_SHAPE.test(name)) {
    reasons.push('A project name cannot start or end with whitespace or contain line breaks.');
  }
  return reasons;
}

/** Text PostgreSQL cannot hold (NUL) cannot be anyone's name either, so it is not looked up. */
export function canBeStored(name: string): boolean {
  return !name.includes('\u0000');
}

export const NAME_TAKEN = 'A project with this name already exists in this organization.';
