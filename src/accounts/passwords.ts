import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';

/**
 * argon2id with OWASP's first recommended setting: 19 MiB of memory, 2
 * passes, 1 lane (about 15-40 ms on one core of a small server). The library's
 * default algorithm is argon2id; the database refuses any other hash. A hash
 * keeps its parameters, so raising them later still verifies old hashes.
 */
export const ARGON2_OPTIONS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_OPTIONS);
}

let dummyHash: Promise<string> | undefined;
let verifications = 0;

/** The hash an unknown email is verified against, made once per process. */
export function prepareDummyHash(): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(32).toString('base64url')).catch((error: unknown) => {
    dummyHash = undefined;
    throw error;
  });
  return dummyHash;
}

/** How many argon2 verifications this process ran (tests check that an unknown email costs one too). */
export function passwordVerifications(): number {
  return verifications;
}

/**
 * Verifies `password` against the account's hash, or, when there is no
 * account, against a hash of a random password made with the same
 * parameters: a sign-in costs the same whether or not the email exists, so its
 * timing does not tell.
 */
export async function verifyPassword(storedHash: string | null, password: string): Promise<boolean> {
  const against = storedHash ?? (await prepareDummyHash());
  verifications += 1;
  let matches: boolean;
  try {
    matches = await verify(against, password);
  } catch {
    matches = false;
  }
  return storedHash !== null && matches;
}
