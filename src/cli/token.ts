// Prints a bearer token for a user (one line on stdout, nothing else; `npm run -s`
// keeps npm's own banner out of it, so TOKEN=$(npm run -s token -- ...) works).
//   npm run -s token -- alice@acme.test
//   npm run token -- --service-role           a service_role token (back-office workers)
//   npm run token -- bob@acme.test --ttl 600  valid for 10 minutes
import { mintToken } from '../auth/demo-users';
import { isAccountEmail } from '../auth/email';
import { loadConfig, loadEnvFileIfPresent } from '../config';
import { effectiveJwtSecret } from '../server';

function fail(message: string): never {
  process.stderr.write(`${message}\nusage: npm run -s token -- <email> [--ttl seconds] | --service-role\n`);
  process.exit(2);
}

const args = process.argv.slice(2);
let email: string | null = null;
let serviceRole = false;
let ttlSeconds = 24 * 3600;
for (let i = 0; i < args.length; i += 1) {
  const arg = args[i]!;
  if (arg === '--service-role') serviceRole = true;
  else if (arg === '--ttl') {
    ttlSeconds = Number(args[(i += 1)]);
    if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) fail('--ttl takes a positive number of seconds');
  } else if (!arg.startsWith('-') && email === null) email = arg;
  else fail(`unexpected argument ${arg}`);
}
if (!serviceRole && (!email || !isAccountEmail(email))) fail('give the email address of a user');

loadEnvFileIfPresent();
const config = loadConfig();
let secret: string | undefined;
try {
  secret = effectiveJwtSecret(config);
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}
if (!secret) fail('tokens can be minted only with SUPABASE_JWT_SECRET (or without SUPABASE_URL, the local secret)');
process.stdout.write(
  `${mintToken(serviceRole ? null : email, {
    secret,
    role: serviceRole ? 'service_role' : 'authenticated',
    ttlSeconds,
    issuer: config.supabaseUrl ? `${config.supabaseUrl}/auth/v1` : undefined,
  })}\n`,
);
