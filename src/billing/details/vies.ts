// The EU's VIES service confirms that a VAT number is active, and for most
// member states gives the registered name and address. It is asked only when
// VIES_CHECK is on (never in tests against the real service), with a short
// time limit: a slow or failing VIES leaves the local verdict standing
// ("unavailable"). The Dutch tax office shares no names or addresses through
// VIES (it answers "---"), so for NL numbers those stay null even when asked.

export interface ViesOptions {
  enabled: boolean;
  timeoutMs: number;
  /** The REST endpoint; replaceable for a local stand-in. */
  url: string;
}

export const VIES_URL = 'https://ec.europa.eu/taxation_customs/vies/rest-api/check-vat-number';

export type ViesResult = 'not_checked' | 'valid' | 'invalid' | 'unavailable';

export interface ViesAnswer {
  result: ViesResult;
  companyName: string | null;
  address: string | null;
}

const UNANSWERED = (result: ViesResult): ViesAnswer => ({ result, companyName: null, address: null });

/** VIES writes "---" (or nothing) for what a member state does not share; its addresses come in lines. */
export function viesText(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const lines = value
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !/^-+$/.test(line));
  return lines.length > 0 ? lines.join(', ') : null;
}

export async function viesCheck(number: string, options: ViesOptions): Promise<ViesAnswer> {
  if (!options.enabled) return UNANSWERED('not_checked');
  try {
    const response = await fetch(options.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ countryCode: number.slice(0, 2), vatNumber: number.slice(2) }),
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    if (!response.ok) return UNANSWERED('unavailable');
    const answer = (await response.json()) as { valid?: unknown; name?: unknown; address?: unknown };
    if (typeof answer.valid !== 'boolean') return UNANSWERED('unavailable');
    if (!answer.valid) return UNANSWERED('invalid');
    return { result: 'valid', companyName: viesText(answer.name), address: viesText(answer.address) };
  } catch {
    return UNANSWERED('unavailable');
  }
}
