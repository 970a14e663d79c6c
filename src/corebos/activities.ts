/**
 * coreBOS activities over mysql2: comments (ModComments) and calendar activities (cbCalendar on
 * vtiger_activity), read by keyset and written the way coreBOS's save does it (modules/ModComments
 * ModCommentsCore::save_module, modules/cbCalendar/cbCalendar::save_module):
 *
 *   crmid from vtiger_crmentity_seq · vtiger_crmentity · the module table and its *cf table ·
 *   vtiger_crmobject · ModComments: related_to and relatedassignedemail (the parent owner's e-mail) ·
 *   cbCalendar: date_start/time_start/due_date/time_end and the duration split out of dtstart/dtend,
 *   vtiger_seactivityrel for rel_id, vtiger_cntactivityrel for the contacts (cto_id the first),
 *   vtiger_salesmanactivityrel for the owner.
 *
 * Neither module has an entity number in vtiger_modentity_num. Reminders, invitees and recurrence
 * are left alone: cbhs neither reads nor writes them.
 */
import {createHash, randomBytes} from 'node:crypto'
import type {RowDataPacket} from 'mysql2'
import type {ActivityCreate, ActivityModule, ActivityParent, ActivityWriteResult, CrmActivities, CrmActivity} from '../sync/activity-types.js'
import {ConfigError} from '../errors.js'
import type {RecordUpdate} from '../sync/ports.js'
import {CRM_MODULES, type CrmCursor, type CrmModule} from '../sync/types.js'
import {inTransaction, type Pool, type PoolConnection} from './connection.js'
import {naiveNow} from './values.js'

const PARENT_MODULES: ReadonlySet<string> = new Set(CRM_MODULES)
const CHUNK = 500

/** The calendar columns cbhs reads and writes, by vtiger_field name (cbCalendar, tabid 63 in the 2021 schema). */
const CALENDAR_COLUMNS: Readonly<Record<string, string>> = {
  subject: 'subject',
  activitytype: 'activitytype',
  dtstart: 'dtstart',
  dtend: 'dtend',
  eventstatus: 'eventstatus',
  taskpriority: 'priority',
  location: 'location',
}

/** Every table and column the adapter touches: checked once against the install before the first read or write. */
const REQUIRED: Readonly<Record<string, readonly string[]>> = {
  vtiger_crmentity: ['crmid', 'smcreatorid', 'smownerid', 'modifiedby', 'setype', 'description', 'createdtime', 'modifiedtime', 'presence', 'deleted', 'version', 'cbuuid'],
  vtiger_crmobject: ['crmid', 'cbuuid', 'deleted', 'setype', 'smownerid', 'modifiedtime'],
  vtiger_modcomments: ['modcommentsid', 'commentcontent', 'related_to', 'parent_comments', 'relatedassignedemail'],
  vtiger_modcommentscf: ['modcommentsid'],
  vtiger_activity: ['activityid', 'date_start', 'time_start', 'due_date', 'time_end', 'duration_hours', 'duration_minutes', 'sendnotification', 'notime', 'visibility', 'rel_id', 'cto_id', ...Object.values(CALENDAR_COLUMNS)],
  vtiger_activitycf: ['activityid'],
  vtiger_seactivityrel: ['crmid', 'activityid'],
  vtiger_cntactivityrel: ['contactid', 'activityid'],
  vtiger_salesmanactivityrel: ['smid', 'activityid'],
  cbhs_link: ['module', 'crmid', 'object_type', 'hubspot_id', 'snapshot', 'associations', 'archived', 'synced_at', 'created_at'],
}

interface Row extends RowDataPacket {
  crmid: number
  modifiedtime: string
  createdtime: string
  deleted: number
  smownerid: number
  description: string | null
  [column: string]: unknown
}

export class MysqlActivities implements CrmActivities {
  private calendarSetype: Promise<string> | undefined
  private checked: Promise<void> | undefined

  constructor(
    private readonly pool: Pool,
    private readonly timezone: string,
    private readonly defaultUserId = 1,
  ) {}

  /**
   * The comment and calendar tables are coreBOS's own (no custom layout per install, unlike the
   * record modules): the adapter names their columns, and refuses to start on an install that lacks one.
   */
  private checkSchema(): Promise<void> {
    this.checked ??= (async () => {
      const [rows] = await this.pool.query<RowDataPacket[]>(
        'SELECT TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (?)',
        [Object.keys(REQUIRED)],
      )
      const have = new Set(rows.map((r) => `${String(r.t).toLowerCase()}.${String(r.c).toLowerCase()}`))
      const missing = Object.entries(REQUIRED).flatMap(([t, cols]) => cols.filter((c) => !have.has(`${t}.${c}`)).map((c) => `${t}.${c}`))
      if (missing.length > 0) {
        throw new ConfigError('ACTIVITY_SCHEMA', `activity sync cannot run on this coreBOS database: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''} missing.`, {
          suggestion: missing.some((m) => m.startsWith('cbhs_')) ? 'Run cbhs setup first.' : 'Update coreBOS (the 2021 schema has them), or set sync.activities to false.',
        })
      }
    })()
    this.checked.catch(() => (this.checked = undefined))
    return this.checked
  }

  /** cbCalendar since the 2021 changeset "The calendar is DEAD, long live the Calendar!"; Calendar before it. */
  private async setype(module: ActivityModule): Promise<string> {
    await this.checkSchema()
    if (module === 'ModComments') return 'ModComments'
    this.calendarSetype ??= this.pool
      .query<RowDataPacket[]>("SELECT name FROM vtiger_tab WHERE name IN ('cbCalendar', 'Calendar') ORDER BY name = 'cbCalendar' DESC LIMIT 1")
      .then(([rows]) => String(rows[0]?.name ?? 'cbCalendar'))
    return this.calendarSetype
  }

  private select(module: ActivityModule): string {
    return module === 'ModComments'
      ? `SELECT e.crmid, e.modifiedtime, e.createdtime, e.deleted, e.smownerid, e.description, m.commentcontent, m.related_to
           FROM vtiger_crmentity e JOIN vtiger_modcomments m ON m.modcommentsid = e.crmid`
      : `SELECT e.crmid, e.modifiedtime, e.createdtime, e.deleted, e.smownerid, e.description,
                ${Object.values(CALENDAR_COLUMNS).map((c) => `a.${c}`).join(', ')}
           FROM vtiger_crmentity e JOIN vtiger_activity a ON a.activityid = e.crmid`
  }

  async *readChanged(module: ActivityModule, since: CrmCursor | null, pageSize: number): AsyncIterable<CrmActivity[]> {
    const setype = await this.setype(module)
    let position = since
    for (;;) {
      const where = position ? 'AND (e.modifiedtime > ? OR (e.modifiedtime = ? AND e.crmid >= ?))' : ''
      const params = position ? [setype, position.modifiedtime, position.modifiedtime, position.crmid, pageSize] : [setype, pageSize]
      const [rows] = await this.pool.query<Row[]>(`${this.select(module)} WHERE e.setype = ? ${where} ORDER BY e.modifiedtime, e.crmid LIMIT ?`, params)
      if (rows.length === 0) return
      yield await this.toActivities(module, rows)
      if (rows.length < pageSize) return
      const last = rows[rows.length - 1]
      position = {modifiedtime: last.modifiedtime, crmid: last.crmid + 1}
    }
  }

  async readByIds(module: ActivityModule, crmids: number[]): Promise<CrmActivity[]> {
    const out: CrmActivity[] = []
    for (let i = 0; i < crmids.length; i += CHUNK) out.push(...(await this.readRows(module, crmids.slice(i, i + CHUNK))))
    return out
  }

  /** Up to CHUNK activities by id, through the pool or inside a caller's transaction. */
  private async readRows(module: ActivityModule, crmids: number[], q: Pool | PoolConnection = this.pool): Promise<CrmActivity[]> {
    if (crmids.length === 0) return []
    const [rows] = await q.query<Row[]>(`${this.select(module)} WHERE e.setype = ? AND e.crmid IN (?) ORDER BY e.crmid`, [await this.setype(module), crmids])
    return this.toActivities(module, rows, q)
  }

  private async toActivities(module: ActivityModule, rows: Row[], q: Pool | PoolConnection = this.pool): Promise<CrmActivity[]> {
    const ids = rows.map((r) => r.crmid)
    const related = new Map<number, number[]>()
    const add = (activity: number, parent: number) => {
      const list = related.get(activity) ?? related.set(activity, []).get(activity)!
      if (parent > 0 && !list.includes(parent)) list.push(parent)
    }
    if (module === 'ModComments') {
      for (const r of rows) add(r.crmid, Number(r.related_to ?? 0))
    } else if (ids.length > 0) {
      // the related lists read the relation tables, not rel_id / cto_id: so does cbhs
      const [se] = await q.query<RowDataPacket[]>('SELECT activityid, crmid FROM vtiger_seactivityrel WHERE activityid IN (?) ORDER BY crmid', [ids])
      for (const r of se) add(Number(r.activityid), Number(r.crmid))
      const [cnt] = await q.query<RowDataPacket[]>('SELECT activityid, contactid FROM vtiger_cntactivityrel WHERE activityid IN (?) ORDER BY contactid', [ids])
      for (const r of cnt) add(Number(r.activityid), Number(r.contactid))
    }
    const parentIds = [...new Set([...related.values()].flat())]
    const modules = new Map<number, CrmModule>()
    if (parentIds.length > 0) {
      const [ents] = await q.query<RowDataPacket[]>('SELECT crmid, setype FROM vtiger_crmentity WHERE crmid IN (?) AND deleted = 0', [parentIds])
      for (const e of ents) if (PARENT_MODULES.has(String(e.setype))) modules.set(Number(e.crmid), String(e.setype) as CrmModule)
    }
    return rows.map((r) => {
      const fields: Record<string, string | null> = {createdtime: r.createdtime, assigned_user_id: String(r.smownerid)}
      if (module === 'ModComments') fields.commentcontent = (r.commentcontent as string | null) ?? null
      else {
        fields.description = r.description ?? null
        for (const [field, column] of Object.entries(CALENDAR_COLUMNS)) fields[field] = (r[column] as string | null) ?? null
      }
      const parents: ActivityParent[] = (related.get(r.crmid) ?? []).flatMap((crmid) => (modules.has(crmid) ? [{module: modules.get(crmid)!, crmid}] : []))
      return {module, crmid: r.crmid, modifiedtime: r.modifiedtime, deleted: Number(r.deleted) === 1, fields, parents}
    })
  }

  private user(userId: number): number {
    return Number.isInteger(userId) && userId > 0 ? userId : this.defaultUserId
  }

  async create(module: ActivityModule, inputs: ActivityCreate[], userId: number): Promise<ActivityWriteResult[]> {
    const results: ActivityWriteResult[] = []
    const user = this.user(userId)
    const setype = await this.setype(module)
    const ids = await this.reserveIds(inputs.length)
    for (const [i, input] of inputs.entries()) {
      try {
        const crmid = await inTransaction(this.pool, async (conn) => {
          const seq = ids[i]
          const now = naiveNow(this.timezone)
          const owner = Number(input.fields.assigned_user_id) || user
          const cbuuid = createHash('sha1').update(`${setype}:${seq}:${now}:${randomBytes(8).toString('hex')}`).digest('hex')
          await conn.query(
            `INSERT INTO vtiger_crmentity (crmid, smcreatorid, smownerid, modifiedby, setype, description, createdtime, modifiedtime, presence, deleted, version, cbuuid)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, 0, 0, ?)`,
            // a comment from HubSpot is dated at its note's timeline moment, so the comments widget keeps HubSpot's order
            [seq, user, owner, user, setype, module === 'ModComments' ? '' : (input.fields.description ?? ''), input.fields.createdtime ?? now, now, cbuuid],
          )
          if (module === 'ModComments') await this.insertComment(conn, seq, input)
          else await this.insertCalendar(conn, seq, owner, input)
          await conn.query('INSERT INTO vtiger_crmobject (crmid, cbuuid, deleted, setype, smownerid, modifiedtime) VALUES (?, ?, 0, ?, ?, ?)', [seq, cbuuid, setype, owner, now])
          // the link in the same transaction: a pass killed after this commit finds the pair, never a twin
          await conn.query(
            `INSERT INTO cbhs_link (module, crmid, object_type, hubspot_id, snapshot, associations, archived, synced_at, created_at)
             VALUES (?, ?, ?, ?, ?, ?, 0, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))`,
            [module, seq, input.hubspot.type, input.hubspot.id, JSON.stringify(input.snapshot), JSON.stringify(input.associations)],
          )
          return seq
        })
        results.push({crmid, ok: true})
      } catch (error) {
        const e = error as {code?: string; message?: string}
        if (e.code === 'ER_DUP_ENTRY') results.push({crmid: 0, ok: false, error: `HubSpot ${input.hubspot.type} ${input.hubspot.id} is already linked to another coreBOS record`})
        else if (isRowLevel(e)) results.push({crmid: 0, ok: false, error: e.message ?? String(error)})
        else throw error
      }
    }
    return results
  }

  /**
   * Takes `count` crmids in one short autocommit statement before any transaction, as records.ts
   * does, so the sequence row is never held while coreBOS users save (a failed create leaves a gap,
   * as coreBOS's own failed saves do).
   */
  private async reserveIds(count: number): Promise<number[]> {
    if (count === 0) return []
    const conn = await this.pool.getConnection()
    try {
      await conn.query('UPDATE vtiger_crmentity_seq SET id = LAST_INSERT_ID(id + ?)', [count])
      const [rows] = await conn.query<RowDataPacket[]>('SELECT LAST_INSERT_ID() AS id')
      const last = Number(rows[0].id)
      return Array.from({length: count}, (_, k) => last - count + 1 + k)
    } finally {
      conn.release()
    }
  }

  private async insertComment(conn: PoolConnection, crmid: number, input: ActivityCreate): Promise<void> {
    const parent = input.parents[0]?.crmid ?? 0
    await conn.query('INSERT INTO vtiger_modcomments (modcommentsid, commentcontent, related_to, parent_comments, relatedassignedemail) VALUES (?, ?, ?, 0, ?)', [
      crmid,
      input.fields.commentcontent ?? '',
      parent,
      await this.ownerEmail(conn, parent),
    ])
    await conn.query('INSERT INTO vtiger_modcommentscf (modcommentsid) VALUES (?)', [crmid])
  }

  /** What ModComments stores in relatedassignedemail: the e-mail of the user the parent is assigned to. */
  private async ownerEmail(conn: PoolConnection, parent: number): Promise<string | null> {
    if (!parent) return null
    const [rows] = await conn.query<RowDataPacket[]>('SELECT u.email1 FROM vtiger_crmentity e JOIN vtiger_users u ON u.id = e.smownerid WHERE e.crmid = ?', [parent])
    return rows.length > 0 ? String(rows[0].email1 ?? '') : null
  }

  private async insertCalendar(conn: PoolConnection, crmid: number, owner: number, input: ActivityCreate): Promise<void> {
    const f = input.fields
    const split = splitRange(f.dtstart ?? null, f.dtend ?? null)
    const {relId, contacts} = calendarParents(input.parents)
    await conn.query(
      `INSERT INTO vtiger_activity (activityid, subject, activitytype, dtstart, dtend, date_start, time_start, due_date, time_end, duration_hours, duration_minutes,
                                    eventstatus, priority, location, sendnotification, notime, visibility, rel_id, cto_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '0', '0', 'all', ?, ?)`,
      [crmid, f.subject ?? '', f.activitytype ?? 'Task', f.dtstart ?? null, f.dtend ?? null, split.dateStart, split.timeStart, split.dueDate, split.timeEnd, split.hours, split.minutes,
        f.eventstatus ?? null, f.taskpriority ?? null, f.location ?? null, relId, contacts[0] ?? 0],
    )
    await conn.query('INSERT INTO vtiger_activitycf (activityid) VALUES (?)', [crmid])
    await this.writeCalendarRelations(conn, crmid, owner, input.parents)
  }

  private async writeCalendarRelations(conn: PoolConnection, crmid: number, owner: number | null, parents: ActivityParent[]): Promise<void> {
    const {relId, contacts} = calendarParents(parents)
    await conn.query('DELETE FROM vtiger_seactivityrel WHERE activityid = ?', [crmid])
    if (relId) await conn.query('INSERT INTO vtiger_seactivityrel (crmid, activityid) VALUES (?, ?)', [relId, crmid])
    await conn.query('DELETE FROM vtiger_cntactivityrel WHERE activityid = ?', [crmid])
    for (const c of contacts) await conn.query('INSERT INTO vtiger_cntactivityrel (contactid, activityid) VALUES (?, ?)', [c, crmid])
    await conn.query('UPDATE vtiger_activity SET rel_id = ?, cto_id = ? WHERE activityid = ?', [relId, contacts[0] ?? 0, crmid])
    if (owner !== null) {
      await conn.query('DELETE FROM vtiger_salesmanactivityrel WHERE activityid = ?', [crmid])
      const [users] = await conn.query<RowDataPacket[]>('SELECT id FROM vtiger_users WHERE id = ?', [owner])
      if (users.length > 0) await conn.query('INSERT INTO vtiger_salesmanactivityrel (smid, activityid) VALUES (?, ?)', [owner, crmid])
    }
  }

  async update(module: ActivityModule, crmid: number, fields: Record<string, string | null>, parents: ActivityParent[] | null, userId: number, expected?: RecordUpdate['expected']): Promise<ActivityWriteResult> {
    const user = this.user(userId)
    try {
      const stale = await inTransaction(this.pool, async (conn): Promise<string | null> => {
        if (expected) {
          // the entity row locked first: a coreBOS save of this activity waits until this one is done
          const [[row]] = await conn.query<RowDataPacket[]>('SELECT modifiedtime FROM vtiger_crmentity WHERE crmid = ? FOR UPDATE', [crmid])
          if (row && String(row.modifiedtime ?? '') !== expected.modifiedtime) return `modifiedtime ${row.modifiedtime ?? ''}, read ${expected.modifiedtime}`
          // a save in the same second leaves modifiedtime as it was: the values being written tell
          const [now] = await this.readRows(module, [crmid], conn)
          const changed = now && Object.entries(expected.fields ?? {}).find(([f, v]) => f in now.fields && (now.fields[f] ?? null) !== v)
          if (changed) return `${changed[0]} is no longer what was read`
        }
        const now = naiveNow(this.timezone)
        const entity: string[] = ['modifiedtime = ?', 'modifiedby = ?']
        const entityParams: unknown[] = [now, user]
        if (module === 'cbCalendar' && 'description' in fields) {
          entity.push('description = ?')
          entityParams.push(fields.description ?? '')
        }
        const owner = Number(fields.assigned_user_id) || null
        if (owner !== null) {
          entity.push('smownerid = ?')
          entityParams.push(owner)
        }
        await conn.query(`UPDATE vtiger_crmentity SET ${entity.join(', ')} WHERE crmid = ?`, [...entityParams, crmid])
        await conn.query(`UPDATE vtiger_crmobject SET modifiedtime = ?${owner !== null ? ', smownerid = ?' : ''} WHERE crmid = ?`, [now, ...(owner !== null ? [owner] : []), crmid])
        if (owner !== null && module === 'cbCalendar') {
          // coreBOS keeps the calendar owner in salesmanactivityrel too (users only, as its save does)
          await conn.query('DELETE FROM vtiger_salesmanactivityrel WHERE activityid = ?', [crmid])
          await conn.query('INSERT INTO vtiger_salesmanactivityrel (smid, activityid) SELECT id, ? FROM vtiger_users WHERE id = ?', [crmid, owner])
        }
        if (module === 'ModComments') {
          if ('commentcontent' in fields) await conn.query('UPDATE vtiger_modcomments SET commentcontent = ? WHERE modcommentsid = ?', [fields.commentcontent ?? '', crmid])
          return null
        }
        const sets: string[] = []
        const params: unknown[] = []
        for (const [field, column] of Object.entries(CALENDAR_COLUMNS)) {
          if (!(field in fields)) continue
          sets.push(`${column} = ?`)
          params.push(fields[field] ?? null)
        }
        if (sets.length > 0) await conn.query(`UPDATE vtiger_activity SET ${sets.join(', ')} WHERE activityid = ?`, [...params, crmid])
        if ('dtstart' in fields || 'dtend' in fields) {
          // coreBOS keeps the split columns and the duration in step with dtstart/dtend on every save
          const [[row]] = await conn.query<RowDataPacket[]>('SELECT dtstart, dtend FROM vtiger_activity WHERE activityid = ?', [crmid])
          const s = splitRange(row?.dtstart ?? null, row?.dtend ?? null)
          await conn.query('UPDATE vtiger_activity SET date_start = ?, time_start = ?, due_date = ?, time_end = ?, duration_hours = ?, duration_minutes = ? WHERE activityid = ?', [
            s.dateStart, s.timeStart, s.dueDate, s.timeEnd, s.hours, s.minutes, crmid,
          ])
        }
        if (parents) await this.writeCalendarRelations(conn, crmid, null, parents)
        return null
      })
      if (stale) return {crmid, ok: false, stale: true, error: `${module} ${crmid} changed in coreBOS since it was read (${stale})`}
      return {crmid, ok: true}
    } catch (error) {
      if (!isRowLevel(error as {code?: string})) throw error
      return {crmid, ok: false, error: (error as Error).message}
    }
  }

  async trash(module: ActivityModule, crmid: number, userId: number): Promise<void> {
    const now = naiveNow(this.timezone)
    await inTransaction(this.pool, async (conn) => {
      const [res] = await conn.query('UPDATE vtiger_crmentity SET deleted = 1, modifiedtime = ?, modifiedby = ? WHERE crmid = ? AND setype = ?', [now, this.user(userId), crmid, await this.setype(module)])
      if ((res as {affectedRows: number}).affectedRows === 0) return
      await conn.query('UPDATE vtiger_crmobject SET deleted = 1, modifiedtime = ? WHERE crmid = ?', [now, crmid])
    })
  }
}

/** rel_id takes one record that is not a Contact (a deal first, then a company, then a lead); contacts go to cntactivityrel. */
export function calendarParents(parents: ActivityParent[]): {relId: number; contacts: number[]} {
  const rank: Record<CrmModule, number> = {Potentials: 0, Accounts: 1, Leads: 2, Contacts: 9}
  const rel = parents.filter((p) => p.module !== 'Contacts').sort((a, b) => rank[a.module] - rank[b.module])[0]
  return {relId: rel?.crmid ?? 0, contacts: [...new Set(parents.filter((p) => p.module === 'Contacts').map((p) => p.crmid))]}
}

/** The columns cbCalendar::save_module derives from dtstart and dtend. */
function splitRange(dtstart: string | null, dtend: string | null): {dateStart: string | null; timeStart: string | null; dueDate: string | null; timeEnd: string | null; hours: string | null; minutes: string | null} {
  const [dateStart, timeStart] = dtstart ? dtstart.split(' ') : [null, null]
  const [dueDate, timeEnd] = dtend ? dtend.split(' ') : [null, null]
  let hours: string | null = null
  let minutes: string | null = null
  if (dtstart && dtend) {
    const seconds = (Date.parse(`${dtend.replace(' ', 'T')}Z`) - Date.parse(`${dtstart.replace(' ', 'T')}Z`)) / 1000
    if (Number.isFinite(seconds)) {
      hours = String(Math.round(seconds / 3600))
      minutes = String(Math.round((seconds % 3600) / 60))
    }
  }
  return {dateStart: dateStart ?? null, timeStart: timeStart ?? null, dueDate: dueDate ?? null, timeEnd: timeEnd ?? null, hours, minutes}
}

/** Errors about one record's values (too long, a bad value, a row a constraint refuses), not about the database. */
const ROW_LEVEL = new Set([
  'ER_DATA_TOO_LONG',
  'ER_TRUNCATED_WRONG_VALUE',
  'ER_TRUNCATED_WRONG_VALUE_FOR_FIELD',
  'ER_WRONG_VALUE',
  'ER_BAD_NULL_ERROR',
  'ER_NO_REFERENCED_ROW',
  'ER_NO_REFERENCED_ROW_2',
  'ER_WARN_DATA_OUT_OF_RANGE',
  'ER_DUP_ENTRY',
  'ER_INVALID_CHARACTER_STRING',
])

function isRowLevel(error: {code?: string}): boolean {
  return ROW_LEVEL.has(error.code ?? '')
}
