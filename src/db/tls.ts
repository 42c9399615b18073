/**
 * The provider's certificate authority, given to a connection URL as
 * `sslrootcert`. node-postgres reads that file into the socket's `ssl.ca`
 * (an `ssl` object passed beside a connection string would be replaced by what
 * the string says), and dbmate's driver reads the same parameter, so one URL
 * carries the setting to the pools, the owner's clients and the migrations.
 * A URL that names its own `sslrootcert` keeps it.
 */
export function withCaFile(databaseUrl: string, caFile: string | undefined): string {
  if (!caFile) return databaseUrl;
  const url = new URL(databaseUrl);
  if (url.searchParams.has('sslrootcert')) return databaseUrl;
  url.searchParams.set('sslrootcert', caFile);
  return url.toString();
}
