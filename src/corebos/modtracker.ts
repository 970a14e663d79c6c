/**
 * ModTracker history for cbhs writes. In coreBOS it is an event handler (ModTrackerHandler), so a
 * direct write must add its rows itself: for a module listed in vtiger_modtracker_tabs with
 * visible = 1, every save that changes a field other than modifiedtime gets a vtiger_modtracker_basic
 * row (id from vtiger_modtracker_basic_seq, status 2 created when the record has no row yet, else 0
 * updated; changedon = the record's modifiedtime) and one vtiger_modtracker_detail row per changed
 * field (VTEntityDelta: the record's field values before and after, compared as PHP does). A delete
 * gets a status 1 row without details. whodid is the user the write is made as.
 */
import {quoteIdent, type PoolConnection} from './connection.js'
import type {ModuleStorage} from './metadata.js'
import {nextId} from './numbering.js'

export const MODTRACKER_STATUS = {updated: 0, deleted: 1, created: 2, restored: 3} as const

type Values = Record<string, string>

async function isTracked(conn: PoolConnection, st: ModuleStorage): Promise<boolean> {
  try {
    const [rows] = await conn.query('SELECT 1 AS t FROM vtiger_modtracker_tabs WHERE tabid = ? AND visible = 1', [st.meta.tabid])
    return (rows as unknown[]).length > 0
  } catch (error) {
    // an install without the ModTracker module
    if ((error as {code?: string}).code === 'ER_NO_SUCH_TABLE') return false
    throw error
  }
}

/**
 * The records' column_fields as VTEntityData holds them: every active field by name ('' for NULL),
 * plus record_id, record_module and cbuuid.
 */
async function readValues(conn: PoolConnection, st: ModuleStorage, ids: number[]): Promise<Map<number, Values>> {
  const {meta} = st
  const out = new Map<number, Values>(ids.map((id) => [id, {}]))
  const keys = new Map(meta.tables.map((t) => [t.name, t.key]))
  keys.set(meta.entityTable, st.entityKey)
  const byTable = new Map<string, Array<{name: string; column: string}>>()
  for (const f of meta.fields.values()) {
    if (!keys.has(f.table)) continue
    ;(byTable.get(f.table) ?? byTable.set(f.table, []).get(f.table)!).push({name: f.name, column: f.column})
  }
  const entityFields = byTable.get(meta.entityTable) ?? byTable.set(meta.entityTable, []).get(meta.entityTable)!
  if (st.entityColumns.has('cbuuid')) entityFields.push({name: 'cbuuid', column: 'cbuuid'})
  for (const [table, fields] of byTable) {
    const key = keys.get(table)!
    const [rows] = await conn.query({
      sql: `SELECT ${quoteIdent(key)} AS k, ${fields.map((f, i) => `${quoteIdent(f.column)} AS c${i}`).join(', ')} FROM ${quoteIdent(table)} WHERE ${quoteIdent(key)} IN (?)`,
      typeCast: ((field: {string(): string | null}) => field.string()) as never,
    }, [ids])
    for (const row of rows as Array<Record<string, string | null>>) {
      const values = out.get(Number(row.k))
      if (!values) continue
      fields.forEach((f, i) => (values[f.name] = row[`c${i}`] ?? ''))
    }
  }
  for (const [id, values] of out) {
    values.record_id = String(id)
    values.record_module = meta.module
  }
  return out
}

const PHP_NUMERIC = /^[ \t\n\r\v\f]*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?[ \t\n\r\v\f]*$/

/** PHP 8 `$a != $b` for two strings: numerically when both are numeric strings. */
function phpLooseDiffers(a: string, b: string): boolean {
  if (PHP_NUMERIC.test(a) && PHP_NUMERIC.test(b)) return Number(a) !== Number(b)
  return a !== b
}

const phpEmpty = (v: string | undefined): boolean => v === undefined || v === '' || v === '0'

/** VTEntityDelta::computeDelta, without modifiedtime (ModTracker skips it). */
function delta(before: Values, after: Values): Array<[field: string, pre: string, post: string]> {
  const out: Array<[string, string, string]> = []
  for (const [field, post] of Object.entries(after)) {
    if (field === 'modifiedtime') continue
    const pre = before[field]
    const changed = phpEmpty(pre) ? !phpEmpty(post) : phpLooseDiffers(pre!, post)
    if (changed) out.push([field, pre ?? '', post])
  }
  return out
}

async function writeRows(
  conn: PoolConnection,
  st: ModuleStorage,
  entries: Array<{crmid: number; status: number; changedon: string; details: Array<[string, string, string]>}>,
  user: number,
): Promise<void> {
  if (entries.length === 0) return
  const last = await nextId(conn, 'vtiger_modtracker_basic_seq', 'vtiger_modtracker_basic', 'id', entries.length)
  const first = last - entries.length + 1
  await conn.query('INSERT INTO vtiger_modtracker_basic (id, crmid, module, whodid, changedon, status) VALUES ?', [
    entries.map((e, i) => [first + i, e.crmid, st.meta.module, user, e.changedon, e.status]),
  ])
  const details = entries.flatMap((e, i) => e.details.map(([field, pre, post]) => [first + i, field, pre, post]))
  for (let i = 0; i < details.length; i += 500) {
    await conn.query('INSERT INTO vtiger_modtracker_detail (id, fieldname, prevalue, postvalue) VALUES ?', [details.slice(i, i + 500)])
  }
}

export interface TrackedUpdate {
  /** after the update, in its transaction: the history row of what changed */
  record(now: string, user: number): Promise<void>
}

/** Call before updating a record; null when its module is not tracked. */
export function trackUpdate(conn: PoolConnection, st: ModuleStorage, crmid: number): Promise<TrackedUpdate | null> {
  return trackUpdates(conn, st, [crmid])
}

/** Call before updating these records (distinct ids), in one read; null when their module is not tracked. */
export async function trackUpdates(conn: PoolConnection, st: ModuleStorage, ids: number[]): Promise<TrackedUpdate | null> {
  if (ids.length === 0 || !(await isTracked(conn, st))) return null
  const before = await readValues(conn, st, ids)
  return {
    async record(_now: string, user: number) {
      const after = await readValues(conn, st, ids)
      const changed = ids.map((crmid) => ({crmid, after: after.get(crmid)!, details: delta(before.get(crmid)!, after.get(crmid)!)})).filter((c) => c.details.length > 0)
      if (changed.length === 0) return
      const [seen] = await conn.query('SELECT DISTINCT crmid FROM vtiger_modtracker_basic WHERE crmid IN (?)', [changed.map((c) => c.crmid)])
      const tracked = new Set((seen as Array<{crmid: number}>).map((r) => Number(r.crmid)))
      await writeRows(
        conn,
        st,
        changed.map((c) => ({crmid: c.crmid, status: tracked.has(c.crmid) ? MODTRACKER_STATUS.updated : MODTRACKER_STATUS.created, changedon: c.after.modifiedtime ?? '', details: c.details})),
        user,
      )
    },
  }
}

/** After inserting new records, in their transaction. */
export async function trackCreates(conn: PoolConnection, st: ModuleStorage, ids: number[], user: number): Promise<void> {
  if (ids.length === 0 || !(await isTracked(conn, st))) return
  const values = await readValues(conn, st, ids)
  const entries = ids.map((crmid) => {
    const after = values.get(crmid)!
    return {crmid, status: MODTRACKER_STATUS.created, changedon: after.modifiedtime ?? '', details: delta({}, after)}
  })
  await writeRows(conn, st, entries, user)
}

/** When a record is trashed, in the same transaction. */
export async function trackDelete(conn: PoolConnection, st: ModuleStorage, crmid: number, user: number, now: string): Promise<void> {
  if (!(await isTracked(conn, st))) return
  await writeRows(conn, st, [{crmid, status: MODTRACKER_STATUS.deleted, changedon: now, details: []}], user)
}
