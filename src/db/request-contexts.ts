import type { Identity } from '../auth/caller';

export type OrganizationRole = 'owner' | 'admin' | 'member';

/** The organization and role app.begin_request gave a caller, as this instance remembers them. */
export interface KnownContext {
  organizationId: string;
  organizationRole: OrganizationRole;
  /** The request named no organization: this is the caller's default one. */
  isDefault: boolean;
}

/**
 * What each caller's requests resolved to, so the next request can send its
 * first statement in the same round trip as the opening of its transaction:
 * a prediction, never trusted on its own. The database confirms it in that
 * same transaction (app.confirm_request) and refuses it when membership, role,
 * default organization or API key changed; the request then resolves afresh.
 * Entries age out so that app.begin_request still runs for an active caller
 * well within the five minutes at which it stamps their last activity.
 */
export class RequestContexts {
  private readonly entries = new Map<string, KnownContext & { expiresAt: number }>();

  constructor(
    private readonly ttlMs = 60_000,
    private readonly maxEntries = 10_000,
  ) {}

  predict(identity: Identity, requestedOrganizationId: string | undefined): KnownContext | undefined {
    const key = keyOf(identity, requestedOrganizationId);
    if (!key) return undefined;
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  remember(identity: Identity, requestedOrganizationId: string | undefined, context: KnownContext): void {
    const key = keyOf(identity, requestedOrganizationId);
    if (!key || this.ttlMs <= 0) return;
    this.entries.delete(key);
    // Oldest first: Map iterates in insertion order, and a refreshed entry was re-inserted.
    while (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { ...context, expiresAt: Date.now() + this.ttlMs });
  }

  forget(identity: Identity, requestedOrganizationId: string | undefined): void {
    const key = keyOf(identity, requestedOrganizationId);
    if (key) this.entries.delete(key);
  }
}

/** Signed-in users and API keys only: back-office callers resolve nothing. */
function keyOf(identity: Identity, requestedOrganizationId: string | undefined): string | undefined {
  if (identity.role !== 'authenticated' || !identity.userId) return undefined;
  const key = identity.apiKey;
  return [identity.userId, key?.id ?? '', key?.scope ?? '', requestedOrganizationId ?? ''].join('\u0000');
}
