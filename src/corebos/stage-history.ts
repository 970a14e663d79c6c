/**
 * The Potentials stage history coreBOS keeps in vtiger_potstagehistory. Potentials::save reads the
 * stored sales_stage before an edit; save_module then, when the stage changes to a non-empty value,
 * adds a row holding the stage being LEFT with the amount, probability, expected revenue
 * (amount × probability / 100) and close date being saved, lastmodified = the save time.
 * A create (not edit mode) adds none. get_stage_history() and the stage reports read it.
 */
import {quoteIdent, type PoolConnection} from './connection.js'
import type {ModuleStorage} from './metadata.js'
import {decodeHtml} from './values.js'

const STAGE = 'sales_stage'

function column(st: ModuleStorage, field: string): {table: string; column: string; key: string} | null {
  const f = st.meta.fields.get(field)
  const table = f && st.meta.tables.find((t) => t.name === f.table)
  return f && table ? {table: f.table, column: f.column, key: table.key} : null
}

/** The stored values of `fields` of these records ('' for NULL or a field this install lacks). */
async function readFields(conn: PoolConnection, st: ModuleStorage, fields: string[], ids: number[]): Promise<Map<number, Record<string, string>>> {
  const out = new Map(ids.map((id) => [id, Object.fromEntries(fields.map((f) => [f, ''])) as Record<string, string>]))
  const byTable = new Map<string, {key: string; cols: Array<[string, string]>}>()
  for (const f of fields) {
    const c = column(st, f)
    if (!c) continue
    const t = byTable.get(c.table) ?? byTable.set(c.table, {key: c.key, cols: []}).get(c.table)!
    t.cols.push([f, c.column])
  }
  for (const [table, {key, cols}] of byTable) {
    const [rows] = await conn.query(
      `SELECT ${quoteIdent(key)} AS k, ${cols.map(([, c], i) => `${quoteIdent(c)} AS v${i}`).join(', ')} FROM ${quoteIdent(table)} WHERE ${quoteIdent(key)} IN (?)`,
      [ids],
    )
    for (const row of rows as Array<Record<string, string | number | null>>) {
      const values = out.get(Number(row.k))
      if (!values) continue
      cols.forEach(([f], i) => {
        const v = row[`v${i}`]
        values[f] = v === null || v === undefined ? '' : String(v)
      })
    }
  }
  return out
}

/** PHP empty() of a database value: '', '0' and a zero number are empty. */
const phpEmptyNumber = (v: string): boolean => v === '' || Number(v) === 0

export interface StageWatch {
  /** after the update, in its transaction: adds the history row if the stage changed */
  record(now: string, user: number): Promise<void>
}

/**
 * Call before an update of a Potential with the columns it sets, by table; null when there is
 * nothing to watch (another module, or an update that does not write the stage).
 */
export function watchStage(conn: PoolConnection, st: ModuleStorage, crmid: number, sets: ReadonlyMap<string, ReadonlyMap<string, unknown>>): Promise<StageWatch | null> {
  return watchStages(conn, st, [{crmid, sets}])
}

/** watchStage for a batch of updates (distinct ids), with one read before and one after. */
export async function watchStages(conn: PoolConnection, st: ModuleStorage, updates: Array<{crmid: number; sets: ReadonlyMap<string, ReadonlyMap<string, unknown>>}>): Promise<StageWatch | null> {
  const stage = st.meta.module === 'Potentials' ? column(st, STAGE) : null
  if (!stage) return null
  const ids = updates.filter((u) => u.sets.get(stage.table)?.has(stage.column)).map((u) => u.crmid)
  if (ids.length === 0) return null
  const stored = await readFields(conn, st, [STAGE], ids)
  // coreBOS compares against a stage that is set; a deal without one gets no row
  const before = new Map(ids.map((id) => [id, stored.get(id)![STAGE]] as const).filter(([, v]) => v !== ''))
  if (before.size === 0) return null
  return {
    async record(now: string) {
      const saved = await readFields(conn, st, [STAGE, 'amount', 'probability', 'closingdate'], [...before.keys()])
      const rows: unknown[][] = []
      for (const [crmid, left] of before) {
        const {amount, probability, closingdate: closedate, [STAGE]: stageNow} = saved.get(crmid)!
        if (stageNow === '' || stageNow === left) continue
        const a = phpEmptyNumber(amount) ? 0 : Number(amount)
        const p = phpEmptyNumber(probability) ? 0 : Number(probability)
        rows.push([crmid, a, decodeHtml(left), p, a === 0 || p === 0 ? 0 : (a * p) / 100, closedate === '' ? null : closedate, now])
      }
      if (rows.length === 0) return
      await conn.query('INSERT INTO vtiger_potstagehistory (potentialid, amount, stage, probability, expectedrevenue, closedate, lastmodified) VALUES ?', [rows])
    },
  }
}
