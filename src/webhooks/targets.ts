import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { classifyAddress, inCidr, parseCidr, type AddressKind, type Cidr } from './addresses';

/**
 * Where outbound webhooks may go (WEBHOOK_ALLOW_HTTP,
 * WEBHOOK_ALLOW_PRIVATE_TARGETS, WEBHOOK_ALLOWED_TARGETS). By default only
 * https URLs whose every address is public.
 */
export interface TargetPolicy {
  allowHttp: boolean;
  /** Private, loopback, link-local ... addresses too (never a cloud metadata address unless listed below). */
  allowPrivate: boolean;
  /** Blocks and host names allowed whatever their addresses are. */
  allowedCidrs: Cidr[];
  allowedHosts: string[];
}

export const STRICT_TARGET_POLICY: TargetPolicy = { allowHttp: false, allowPrivate: false, allowedCidrs: [], allowedHosts: [] };

/** WEBHOOK_ALLOWED_TARGETS: comma-separated CIDR blocks, addresses and host names. */
export function parseAllowedTargets(text: string | undefined): Pick<TargetPolicy, 'allowedCidrs' | 'allowedHosts'> {
  const allowedCidrs: Cidr[] = [];
  const allowedHosts: string[] = [];
  for (const entry of (text ?? '').split(',').map((e) => e.trim()).filter(Boolean)) {
    const cidr = parseCidr(entry);
    if (cidr) allowedCidrs.push(cidr);
    else if (/^[a-z0-9.-]+$/i.test(entry) && !entry.includes('/')) allowedHosts.push(entry.toLowerCase().replace(/\.$/, ''));
    else throw new Error(`WEBHOOK_ALLOWED_TARGETS: "${entry}" is neither a CIDR block, an address nor a host name`);
  }
  return { allowedCidrs, allowedHosts };
}

/** Why a target is refused, in words for the tenant (no internal detail beyond the address kind). */
export class TargetRefused extends Error {}

export interface ParsedTarget {
  url: URL;
  /** The host name without IPv6 brackets or a trailing dot, lower case. */
  host: string;
}

/** The URL's form: absolute http(s), no credentials, https unless allowed. Pure. */
export function parseTarget(text: string, policy: TargetPolicy): ParsedTarget {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TargetRefused('The endpoint URL is not a valid absolute URL.');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TargetRefused('The endpoint URL must use https.');
  if (url.protocol === 'http:' && !policy.allowHttp) throw new TargetRefused('The endpoint URL must use https (this server does not send webhooks over plain http).');
  if (url.username || url.password) throw new TargetRefused('The endpoint URL may not carry a user name or password.');
  const host = url.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
  if (!host) throw new TargetRefused('The endpoint URL has no host.');
  return { url, host };
}

/** Whether the policy lets a connection go to `address` (resolved for `host`). Pure. */
export function addressAllowed(address: string, host: string, policy: TargetPolicy): { allowed: boolean; kind: AddressKind | undefined } {
  const kind = classifyAddress(address);
  if (kind === undefined) return { allowed: false, kind };
  if (policy.allowedHosts.includes(host) || policy.allowedCidrs.some((cidr) => inCidr(address, cidr))) return { allowed: true, kind };
  if (kind === 'public') return { allowed: true, kind };
  return { allowed: policy.allowPrivate && kind !== 'metadata', kind };
}

export type Resolver = (host: string) => Promise<LookupAddress[]>;

export const systemResolver: Resolver = (host) => dnsLookup(host, { all: true, verbatim: true });

/**
 * The addresses a connection to `host` may use: all of them allowed, or a
 * refusal. Every address must pass, not just one: a name that also resolves
 * to an internal address could be reached there by another resolver.
 */
export async function resolveTarget(host: string, policy: TargetPolicy, resolve: Resolver = systemResolver): Promise<LookupAddress[]> {
  let addresses: LookupAddress[];
  if (isIP(host)) {
    addresses = [{ address: host, family: isIP(host) }];
  } else {
    try {
      addresses = await resolve(host);
    } catch {
      throw new TargetRefused(`The endpoint's host ${host} does not resolve.`);
    }
  }
  if (addresses.length === 0) throw new TargetRefused(`The endpoint's host ${host} does not resolve.`);
  for (const { address } of addresses) {
    const verdict = addressAllowed(address, host, policy);
    if (!verdict.allowed) {
      throw new TargetRefused(`The endpoint's host resolves to a ${verdict.kind ?? 'invalid'} address, to which webhooks are not sent.`);
    }
  }
  return addresses;
}

/** Checks a URL a tenant registers: its form, then where its host resolves now. */
export async function checkTarget(text: string, policy: TargetPolicy, resolve?: Resolver): Promise<ParsedTarget> {
  const target = parseTarget(text, policy);
  await resolveTarget(target.host, policy, resolve);
  return target;
}
