import { randomInt } from 'node:crypto';
import { isAccountEmail } from '../auth/email';
import { isPlainText } from '../auth/text';

/** Failed sign-ins allowed per email address and per client IP within the window. */
export const SIGN_IN_FAILURES_ALLOWED = 5;
export const SIGN_IN_WINDOW_SECONDS = 60;
export const MFA_CHALLENGE_TTL_SECONDS = 300;
export const BACKUP_CODE_COUNT = 10;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A claim that holds a UUID (sub, session_id), lower-cased; null for anything else. */
export function uuidClaim(value: unknown): string | null {
  return typeof value === 'string' && UUID.test(value) ? value.toLowerCase() : null;
}

/** A claim that holds a JSON object (user_metadata, app_metadata); an empty one for anything else. */
export function objectClaim(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** Email addresses are compared lower-cased and trimmed, as profiles and tokens store them. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function isUsableEmail(email: string): boolean {
  return isAccountEmail(email);
}

/** A name may be empty, not control characters or broken text. */
export function isUsableName(name: string): boolean {
  return isPlainText(name);
}

/** The keys the brute-force limit counts a sign-in under. */
export function failureKeys(email: string, ip: string | undefined): string[] {
  const keys = [`email:${email}`];
  if (ip) keys.push(`ip:${ip}`);
  return keys;
}

/**
 * What a sign-up counts against: every sign-up (not only failed ones) costs an
 * argon2 hash or a call to Supabase, so an address gets as many a minute as it
 * gets failed sign-ins. Without a known address nothing is counted.
 */
export function signUpKeys(ip: string | undefined): string[] {
  return ip ? [`signup:${ip}`] : [];
}

/** Seconds until the oldest failure in the window leaves it (at least 1). */
export function retryAfterSeconds(oldestFailureEpochMs: number, nowMs: number): number {
  return Math.max(1, Math.ceil((oldestFailureEpochMs + SIGN_IN_WINDOW_SECONDS * 1000 - nowMs) / 1000));
}

export type DeviceType = 'desktop' | 'mobile' | 'tablet';
export interface DeviceInfo {
  browser: string;
  os: string;
  deviceType: DeviceType;
}

// Order matters: Edge and Opera say Chrome too, Chrome says Safari, iPadOS may say Macintosh.
const BROWSERS: Array<[RegExp, string]> = [
  [/\bEdg(e|A|iOS)?\//, 'Edge'],
  [/\bOPR\/|\bOpera\b/, 'Opera'],
  [/\bSamsungBrowser\//, 'Samsung Internet'],
  [/\bFirefox\/|\bFxiOS\//, 'Firefox'],
  [/\bChrome\/|\bCriOS\/|\bChromium\//, 'Chrome'],
  [/\bSafari\//, 'Safari'],
  [/\bcurl\//, 'curl'],
  [/\bnode-fetch\b|\bundici\b|\bnode\b/i, 'Node.js'],
];
const SYSTEMS: Array<[RegExp, string]> = [
  [/\bWindows NT\b/, 'Windows'],
  [/\biPad\b/, 'iPadOS'],
  [/\biPhone\b|\biPod\b/, 'iOS'],
  [/\bAndroid\b/, 'Android'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macOS'],
  [/\bLinux\b/, 'Linux'],
];

/**
 * The browser, system and kind of device a User-Agent names, as the sessions
 * screen shows them. A small table of our own: the usual parser (ua-parser-js
 * 2.x) is AGPL-licensed.
 */
export function deviceFromUserAgent(userAgent: string | null): DeviceInfo {
  const ua = userAgent ?? '';
  const browser = BROWSERS.find(([pattern]) => pattern.test(ua))?.[1] ?? 'Unknown';
  const os = SYSTEMS.find(([pattern]) => pattern.test(ua))?.[1] ?? 'Unknown';
  let deviceType: DeviceType = 'desktop';
  if (/\biPad\b|\bTablet\b/.test(ua) || (/\bAndroid\b/.test(ua) && !/\bMobile\b/.test(ua))) deviceType = 'tablet';
  else if (/\bMobile\b|\biPhone\b|\biPod\b/.test(ua)) deviceType = 'mobile';
  return { browser, os, deviceType };
}

/** User-Agent as stored: at most 512 characters, none the database cannot keep. */
export function storableUserAgent(userAgent: string | undefined): string | null {
  if (!userAgent) return null;
  const plain = [...userAgent].filter((ch) => isPlainText(ch)).join('');
  return plain.slice(0, 512) || null;
}

const BACKUP_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

/** A backup code: two groups of five from an alphabet without look-alikes (about 49 bits). */
export function newBackupCode(): string {
  const pick = () => BACKUP_ALPHABET[randomInt(BACKUP_ALPHABET.length)]!;
  const group = () => Array.from({ length: 5 }, pick).join('');
  return `${group()}-${group()}`;
}

/** How a typed backup code is compared: case, spaces and dashes do not matter. */
export function normalizeBackupCode(code: string): string {
  return code.toLowerCase().replace(/[\s-]/g, '');
}

/** Six digits (spaces allowed, as apps show them): a TOTP code; anything else may be a backup code. */
export function asTotpCode(code: string): string | null {
  const digits = code.replace(/\s/g, '');
  return /^\d{6}$/.test(digits) ? digits : null;
}

/** The base32 secret in groups of four, to type into an app. */
export function manualEntryKey(secret: string): string {
  return secret.match(/.{1,4}/g)!.join(' ');
}

/** "Ada Lovelace" from the names given at sign-up; null when neither is. */
export function fullName(first: string | undefined, last: string | undefined): string | null {
  const joined = [first?.trim(), last?.trim()].filter((part) => part).join(' ');
  return joined || null;
}

/** first_name and last_name for the frontend: from sign-up, else split from the profile's full name. */
export function splitName(metadata: Record<string, unknown>, profileName: string | null): { first: string; last: string } {
  const first = typeof metadata.first_name === 'string' ? metadata.first_name : undefined;
  const last = typeof metadata.last_name === 'string' ? metadata.last_name : undefined;
  if (first !== undefined || last !== undefined) return { first: first ?? '', last: last ?? '' };
  const name = (profileName ?? '').trim();
  const space = name.indexOf(' ');
  return space < 0 ? { first: name, last: '' } : { first: name.slice(0, space), last: name.slice(space + 1).trim() };
}
