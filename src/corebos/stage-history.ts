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

/** The stored values of `fields` of one record ('' for NULL or a field this install lacks). */
async function readFields(conn: PoolConnection, st: ModuleStorage, fields: string[], crmid: number): Promise<Record<string, string>> {
  const out: Record<string, string> = Object.fromEntries(fields.map((f) => [f, '']))
  const byTable = new Map<string, {key: string; cols: Array<[string, string]>}>()
  for (const f of fields) {
    const c = column(st, f)
    if (!c) continue
    const t = byTable.get(c.table) ?? byTable.set(c.table, {key: c.key, cols: []}).get(c.table)!
    t.cols.push([f, c.column])
  }
  for (const [table, {key, cols}] of byTable) {
    const [rows] = await conn.query(
      `SELECT ${cols.map(([, c], i) => `${quoteIdent(c)} AS v${i}`).join(', ')} FROM ${quoteIdent(table)} WHERE ${quoteIdent(key)} = ?`,
      [crmid],
    )
    const row = (rows as Array<Record<string, string | number | null>>)[0]
    cols.forEach(([f], i) => {
      const v = row?.[`v${i}`]
      out[f] = v === null || v === undefined ? '' : String(v)
    })
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
export async function watchStage(conn: PoolConnection, st: ModuleStorage, crmid: number, sets: ReadonlyMap<string, ReadonlyMap<string, unknown>>): Promise<StageWatch | null> {
  const stage = st.meta.module === 'Potentials' ? column(st, STAGE) : null
  if (!stage || !sets.get(stage.table)?.has(stage.column)) return null
  const before = (await readFields(conn, st, [STAGE], crmid))[STAGE]
  // coreBOS compares against a stage that is set; a deal without one gets no row
  if (before === '') return null
  return {
    async record(now: string) {
      const saved = await readFields(conn, st, [STAGE, 'amount', 'probability', 'closingdate'], crmid)
      const {amount, probability, closingdate: closedate} = saved
      if (saved[STAGE] === '' || saved[STAGE] === before) return
      const a = phpEmptyNumber(amount) ? 0 : Number(amount)
      const p = phpEmptyNumber(probability) ? 0 : Number(probability)
      await conn.query(
        `INSERT INTO vtiger_potstagehistory (potentialid, amount, stage, probability, expectedrevenue, closedate, lastmodified)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
        [crmid, a, decodeHtml(before), p, a === 0 || p === 0 ? 0 : (a * p) / 100, closedate === '' ? null : closedate, now],
      )
    },
  }
}
