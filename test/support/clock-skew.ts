/**
 * Clock skew for tests and the chaos long run's "clock skew" round (issue 15):
 *  - a host clock ahead or behind: run the binary with `hostSkewEnv(±10 * 60_000)` in its env (the
 *    test seam CBHS_TEST_HOST_CLOCK_OFFSET_MS of src/host-clock.ts; cbhs takes its times from the
 *    database, so the skew must change nothing);
 *  - a record dated in the future: `setModifiedtime(db, crmid, '2030-01-01 00:00:00')`, as an import or a
 *    wrong clock leaves it (a raw UPDATE, as coreBOS's own tables would hold it);
 *  - the database clock to compare with: `databaseNowMs(db)`.
 */
import type {TestDatabase} from './db.js'

export function hostSkewEnv(offsetMs: number): Record<string, string> {
  return {CBHS_TEST_HOST_CLOCK_OFFSET_MS: String(Math.trunc(offsetMs))}
}

/** Sets a record's modifiedtime (vtiger_crmentity and vtiger_crmobject) to a naive datetime. */
export async function setModifiedtime(db: TestDatabase, crmid: number, modifiedtime: string): Promise<void> {
  await db.query('UPDATE vtiger_crmentity SET modifiedtime = ? WHERE crmid = ?', [modifiedtime, crmid])
  await db.query('UPDATE vtiger_crmobject SET modifiedtime = ? WHERE crmid = ?', [modifiedtime, crmid])
}

/** The database server's clock as an instant (UTC_TIMESTAMP does not depend on the session's zone). */
export async function databaseNowMs(db: Pick<TestDatabase, 'query'>): Promise<number> {
  const [row] = await db.query<{now: string}>('SELECT UTC_TIMESTAMP(3) AS now')
  return Date.parse(`${String(row.now).replace(' ', 'T')}Z`)
}
