/** The versions dbmate has applied; only the back office may read the table. */
export const APPLIED_MIGRATIONS = 'select version from public.schema_migrations';
