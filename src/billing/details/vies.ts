// The EU's VIES service confirms that a VAT number is active. It is asked
// only when VIES_CHECK is on (never in tests), with a short time limit: a
// slow or failing VIES leaves the local verdict standing ("unavailable").

export interface ViesOptions {
  enabled: boolean;
  timeoutMs: number;
  /** The REST endpoint; replaceable for a local stand-in. */
  url: string;
}

export const VIES_URL = 'https://ec.europa.eu/taxation_customs/vies/rest-api/check-vat-number';

export type ViesResult = 'not_checked' | 'valid' | 'invalid' | 'unavailable';

export async function viesCheck(number: string, options: ViesOptions): Promise<ViesResult> {
  if (!options.enabled) return 'not_checked';
  try {
    const response = await fetch(options.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ countryCode: number.slice(0, 2), vatNumber: number.slice(2) }),
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    if (!response.ok) return 'unavailable';
    const answer = (await response.json()) as { valid?: unknown };
    if (typeof answer.valid !== 'boolean') return 'unavailable';
    return answer.valid ? 'valid' : 'invalid';
  } catch {
    return 'unavailable';
  }
}
