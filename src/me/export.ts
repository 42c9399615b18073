import type { Response } from 'express';
import type { RequestTransaction } from '../db/transaction';
import { ClientGone, send } from '../http/stream';
import { camelKeys } from './rules';
import { ACT_IN_ORGANIZATION, MY_ACCOUNT, MY_ORGANIZATION_IDS, ORGANIZATION_SECTIONS, PERSONAL_SECTIONS, PROFILE_BY_ID, type ExportSection } from './sql';

// GET /me/export: everything we hold about the person, as one JSON document,
// streamed. Each section is read through a cursor of the request's
// transaction (one consistent snapshot) in batches, and a batch is written
// only once the client has taken the previous one, so the server holds one
// batch at a time however much there is. What the person may read, they read
// under row level security, organization by organization; the rest comes from
// the SECURITY DEFINER functions of database/022, scoped to them.

/** Rows per FETCH. */
export const EXPORT_BATCH_ROWS = 500;

const CURSOR = 'my_export';

/** Bumped when the document's shape changes in a way a reader must know. */
export const EXPORT_FORMAT = 'devtools-personal-data/1';

async function write(res: Response, chunk: string): Promise<void> {
  await send(res, chunk);
  if (res.destroyed) throw new ClientGone();
}

/** One section as `"name": [rows]`, its rows camelCased (the API's JSON is camelCase). */
async function streamSection(tx: RequestTransaction, res: Response, section: ExportSection, params: unknown[], lead: string): Promise<void> {
  await write(res, `${lead}${JSON.stringify(section.name)}: [`);
  await tx.query(`declare ${CURSOR} no scroll cursor for ${section.sql}`, params);
  let written = 0;
  for (;;) {
    const batch = await tx.query<{ row: Record<string, unknown> }>(`fetch ${EXPORT_BATCH_ROWS} from ${CURSOR}`);
    if (batch.rows.length === 0) break;
    let chunk = '';
    for (const { row } of batch.rows) {
      chunk += `${written === 0 ? '\n' : ',\n'}${JSON.stringify(camelKeys(row))}`;
      written += 1;
    }
    await write(res, chunk);
  }
  await tx.query(`close ${CURSOR}`);
  await write(res, written === 0 ? ']' : '\n]');
}

/**
 * Streams the export into `res` from inside the request transaction. The
 * profile and account are read before the first byte, so a failure there is
 * still a problem document; one later cuts the response short, and the client
 * sees an incomplete transfer rather than a document that looks whole.
 */
export async function streamMyExport(tx: RequestTransaction, res: Response, userId: string, now: Date): Promise<void> {
  const profile = (await tx.query<{ row: Record<string, unknown> }>(`select to_jsonb(p) as row from (${PROFILE_BY_ID}) p`, [userId])).rows[0]!.row;
  const account = (await tx.query<{ account: Record<string, unknown> }>(MY_ACCOUNT)).rows[0]!.account;
  const organizations = (await tx.query<{ organization_id: string }>(MY_ORGANIZATION_IDS, [userId])).rows.map((row) => row.organization_id);

  res.status(200);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Disposition', `attachment; filename="my-data-${now.toISOString().slice(0, 10)}.json"`);
  res.setHeader('Cache-Control', 'no-store');
  await write(res, `{\n"format": ${JSON.stringify(EXPORT_FORMAT)},\n"exportedAt": ${JSON.stringify(now.toISOString())},\n`);
  await write(res, `"profile": ${JSON.stringify(camelKeys(profile))},\n"account": ${JSON.stringify(account)},\n"organizations": [`);
  for (const [index, organizationId] of organizations.entries()) {
    // Row level security reads the organization the request acts in: act in each in turn.
    await tx.query(ACT_IN_ORGANIZATION, [organizationId]);
    await write(res, `${index === 0 ? '\n' : ',\n'}{"organizationId": ${JSON.stringify(organizationId)}`);
    for (const section of ORGANIZATION_SECTIONS) await streamSection(tx, res, section, [userId, organizationId], ',\n');
    await write(res, '}');
  }
  await write(res, organizations.length === 0 ? ']' : '\n]');
  for (const section of PERSONAL_SECTIONS) await streamSection(tx, res, section, [userId], ',\n');
  res.end('\n}\n');
}
