/**
 * Entity numbers (contact_no, account_no …) as coreBOS hands them out (corebos.md §6.7): from
 * vtiger_modentity_num, or from vtiger_autonumberprefix when AutoNumberPrefix's filter handler is
 * active. Both lock their row FOR UPDATE, so they must run inside the caller's transaction.
 */
import {hostNowMs} from '../host-clock.js'
import {quoteIdent, type PoolConnection} from './connection.js'
import {decodeHtml, isPhpNumeric, phpDate, phpSprintfInt, wallClock} from './values.js'

export const AUTONUMBER_EVENT = 'corebos.filter.ModuleSeqNumber.increment'

/** Numbers cannot be produced for this module; every record of the batch fails with this message. */
export class NumberingError extends Error {}

export type NumberingSource = 'modentity_num' | 'autonumberprefix'

async function query<T>(conn: PoolConnection, sql: string, params: unknown[] = []): Promise<T[]> {
  const [rows] = await conn.query(sql, params)
  return rows as T[]
}

/** Which source numbers this install: the AutoNumberPrefix filter handler when registered and active. */
export async function numberingSource(conn: PoolConnection): Promise<NumberingSource> {
  const rows = await query<{n: number}>(
    conn,
    'SELECT 1 AS n FROM vtiger_eventhandlers WHERE event_name = ? AND is_active = 1 LIMIT 1',
    [AUTONUMBER_EVENT],
  )
  return rows.length > 0 ? 'autonumberprefix' : 'modentity_num'
}

/** cur_id + 1 keeping the zero padding (CRMEntity::setModuleSeqNumber): '0009' → '0010', '9' → '10'. */
export function nextLegacyId(current: string): string {
  const next = (BigInt(current) + 1n).toString()
  return next.padStart(current.length, '0')
}

/** AutoNumberPrefix's value for `current` (PrefixEvent::handleFilter, non-workflow branch). */
export function autonumberValue(prefix: string, format: string, current: number, timezone: string, at: Date = new Date()): string {
  if (isPhpNumeric(format)) {
    // substr(str_repeat('0', strlen($format)).$curid, -max(strlen($curid), strlen($format)))
    const cur = String(current)
    return prefix + cur.padStart(Math.max(cur.length, format.length), '0')
  }
  return prefix + phpSprintfInt(phpDate(format, wallClock(timezone, at)), current)
}

/**
 * Takes `count` consecutive numbers for `module` and advances the counter. Throws NumberingError
 * when the install's numbering cannot be reproduced here (workflow-expression formats, no active row).
 */
/** `at`: the instant an AutoNumberPrefix date format is rendered at (the database clock's, from the caller). */
export async function allocateNumbers(conn: PoolConnection, module: string, count: number, timezone: string, at: Date = new Date(hostNowMs())): Promise<string[]> {
  if (count === 0) return []
  const source = await numberingSource(conn)
  if (source === 'autonumberprefix') {
    let rows: Array<{autonumberprefixid: number; current: string | number; prefix: string; format: string; isworkflowexpression: string | null}>
    try {
      rows = await query(
        conn,
        `SELECT autonumberprefixid, current, prefix, format, isworkflowexpression FROM vtiger_autonumberprefix
          WHERE semodule = ? AND active = 1 ORDER BY default1 DESC LIMIT 1 FOR UPDATE`,
        [module],
      )
    } catch (error) {
      const err = error as {code?: string}
      if (err.code === 'ER_NO_SUCH_TABLE') {
        throw new NumberingError(`AutoNumberPrefix numbering is active but the vtiger_autonumberprefix table is missing`)
      }
      throw error
    }
    const row = rows[0]
    if (!row) throw new NumberingError(`AutoNumberPrefix numbering is active but has no active counter for ${module}`)
    const wf = String(row.isworkflowexpression ?? '').trim()
    if (wf !== '' && wf !== '0') {
      throw new NumberingError(
        `the ${module} number comes from an AutoNumberPrefix workflow expression, which cbhs cannot evaluate outside coreBOS`,
      )
    }
    const prefix = decodeHtml(String(row.prefix ?? ''))
    const format = decodeHtml(String(row.format ?? ''))
    const first = Number(row.current)
    const out: string[] = []
    for (let i = 0; i < count; i++) out.push(autonumberValue(prefix, format, first + i, timezone, at))
    await conn.query('UPDATE vtiger_autonumberprefix SET current = current + ? WHERE autonumberprefixid = ?', [count, row.autonumberprefixid])
    return out
  }

  const rows = await query<{num_id: number; prefix: string; cur_id: string}>(
    conn,
    "SELECT num_id, prefix, cur_id FROM vtiger_modentity_num WHERE semodule = ? AND active = '1' ORDER BY num_id LIMIT 1 FOR UPDATE",
    [module],
  )
  const row = rows[0]
  if (!row) throw new NumberingError(`vtiger_modentity_num has no active numbering row for ${module}`)
  let cur = String(row.cur_id).trim()
  if (!/^\d+$/.test(cur)) throw new NumberingError(`vtiger_modentity_num.cur_id '${row.cur_id}' of ${module} is not a number`)
  const prefix = decodeHtml(String(row.prefix ?? ''))
  const out: string[] = []
  for (let i = 0; i < count; i++) {
    out.push(prefix + cur)
    cur = nextLegacyId(cur)
  }
  await conn.query('UPDATE vtiger_modentity_num SET cur_id = ? WHERE num_id = ?', [cur, row.num_id])
  return out
}

/**
 * ADOdb GenID on a coreBOS *_seq table, on this connection: takes `count` ids and returns the last.
 * GREATEST guards against a sequence that fell behind the table (hand-made rows, restored dumps):
 * a duplicate key would abort the write, a gap is harmless.
 */
export async function nextId(conn: PoolConnection, seqTable: string, table: string, column: string, count = 1): Promise<number> {
  const max = `(SELECT COALESCE(MAX(${quoteIdent(column)}), 0) FROM ${quoteIdent(table)})`
  const [res] = await conn.query(`UPDATE ${quoteIdent(seqTable)} SET id = LAST_INSERT_ID(GREATEST(id, ${max}) + ?)`, [count])
  if ((res as {affectedRows: number}).affectedRows === 0) {
    // an empty sequence table: ADOdb would create the row; do the same
    const [rows] = await conn.query(`SELECT ${max} + ? AS id`, [count])
    const id = Number((rows as Array<{id: number | string}>)[0].id)
    await conn.query(`INSERT INTO ${quoteIdent(seqTable)} (id) VALUES (?)`, [id])
    return id
  }
  const [rows] = await conn.query('SELECT LAST_INSERT_ID() AS id')
  return Number((rows as Array<{id: number | string}>)[0].id)
}
