/** Query parameters that carry a credential (a stream's single-use ticket): never written to a log as they came. */
const SECRET_QUERY_PARAMETERS = /([?&]ticket=)[^&#]*/g;

/** A request URL as it may be logged. */
export function redactedUrl(url: string): string {
  return url.replace(SECRET_QUERY_PARAMETERS, '$1[redacted]');
}
