import type { SupabaseSettings } from './client';

/** redirectTo, when it is an http(s) URL on an allowed origin; anything else would make this an open redirect. */
export function allowedRedirect(settings: Pick<SupabaseSettings, 'redirectOrigins'>, redirectTo: string): string | null {
  let url: URL;
  try {
    url = new URL(redirectTo);
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
  if (url.username || url.password) return null;
  return settings.redirectOrigins.includes(url.origin) ? url.href : null;
}
