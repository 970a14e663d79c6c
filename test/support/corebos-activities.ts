/**
 * Comments and calendar activities written into a test database the way coreBOS's own save writes
 * them (crmentity, the module table and its cf table, crmobject, the relation rows), so the push
 * streams read what a user of coreBOS would have made.
 */
import {createHash} from 'node:crypto'
import {naiveNow} from '../../src/corebos/values.js'
import type {TestDatabase} from './db.js'

async function newEntity(db: TestDatabase, setype: string, description: string | null, at: string): Promise<number> {
  await db.query('UPDATE vtiger_crmentity_seq SET id = LAST_INSERT_ID(id + 1)')
  const [{id}] = await db.query<{id: number}>('SELECT LAST_INSERT_ID() AS id')
  const crmid = Number(id)
  const cbuuid = createHash('sha1').update(`${setype}:${crmid}`).digest('hex')
  await db.query(
    'INSERT INTO vtiger_crmentity (crmid, smcreatorid, smownerid, modifiedby, setype, description, createdtime, modifiedtime, presence, deleted, version, cbuuid) VALUES (?, 1, 1, 1, ?, ?, ?, ?, 1, 0, 0, ?)',
    [crmid, setype, description, at, at, cbuuid],
  )
  await db.query('INSERT INTO vtiger_crmobject (crmid, cbuuid, deleted, setype, smownerid, modifiedtime) VALUES (?, ?, 0, ?, 1, ?)', [crmid, cbuuid, setype, at])
  return crmid
}

/** The install's "now" as cbhs's own writes take it (corebos/values.ts naiveNow), in the test config's zone. */
let zone = 'UTC'
export function useTimezone(timezone: string): void {
  zone = timezone
}
async function dbNow(_db: TestDatabase): Promise<string> {
  return naiveNow(zone)
}

export async function addComment(db: TestDatabase, relatedTo: number, content: string): Promise<number> {
  const crmid = await newEntity(db, 'ModComments', '', await dbNow(db))
  await db.query('INSERT INTO vtiger_modcomments (modcommentsid, commentcontent, related_to, parent_comments) VALUES (?, ?, ?, 0)', [crmid, content, relatedTo])
  await db.query('INSERT INTO vtiger_modcommentscf (modcommentsid) VALUES (?)', [crmid])
  return crmid
}

export async function addCalendar(
  db: TestDatabase,
  values: {activitytype: 'Call' | 'Meeting' | 'Task'; subject: string; description?: string; dtstart: string; dtend: string; eventstatus?: string; priority?: string; relId?: number; contacts?: number[]},
): Promise<number> {
  const crmid = await newEntity(db, 'cbCalendar', values.description ?? '', await dbNow(db))
  const [ds, ts] = values.dtstart.split(' ')
  const [de, te] = values.dtend.split(' ')
  await db.query(
    `INSERT INTO vtiger_activity (activityid, subject, activitytype, dtstart, dtend, date_start, time_start, due_date, time_end, eventstatus, priority, sendnotification, notime, visibility, rel_id, cto_id)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '0', '0', 'all', ?, ?)`,
    [crmid, values.subject, values.activitytype, values.dtstart, values.dtend, ds, ts, de, te, values.eventstatus ?? null, values.priority ?? null, values.relId ?? 0, values.contacts?.[0] ?? 0],
  )
  await db.query('INSERT INTO vtiger_activitycf (activityid) VALUES (?)', [crmid])
  if (values.relId) await db.query('INSERT INTO vtiger_seactivityrel (crmid, activityid) VALUES (?, ?)', [values.relId, crmid])
  for (const c of values.contacts ?? []) await db.query('INSERT INTO vtiger_cntactivityrel (contactid, activityid) VALUES (?, ?)', [c, crmid])
  return crmid
}

/** An edit in coreBOS: the value and modifiedtime (in crmentity and crmobject), as a save does. */
export async function touch(db: TestDatabase, crmid: number, sql: string, params: unknown[]): Promise<void> {
  await db.query(sql, params)
  const now = await dbNow(db)
  await db.query('UPDATE vtiger_crmentity SET modifiedtime = ? WHERE crmid = ?', [now, crmid])
  await db.query('UPDATE vtiger_crmobject SET modifiedtime = ? WHERE crmid = ?', [now, crmid])
}
