/**
 * Reads and writes Accounts, Contacts, Leads and Potentials directly in the coreBOS database,
 * writing exactly the rows CRMEntity::save / mark_deleted would (corebos.md §6.10, §6.11), minus
 * events and workflows.
 */
import {createHash, randomBytes} from 'node:crypto'
import type {CountChangedOptions, CreateInput, CrmOwners, CrmRecords, ModuleMeta, ReadChangedOptions, RecordUpdate, WriteResult} from '../sync/ports.js'
import {CONTROL_FIELDS, type ControlField, type ControlValues, type CrmCursor, type CrmModule, type CrmRecord} from '../sync/types.js'
import {CbhsError, ConfigError, EXIT} from '../errors.js'
import {inTransaction, quoteIdent, stopsThePass, type Pool, type PoolConnection} from './connection.js'
import {retryLockVictim} from './lock-retry.js'
import {forgetModuleMeta, loadModuleStorage, type ModuleStorage} from './metadata.js'
import {allocateNumbers, NumberingError} from './numbering.js'
import {readCrmOwners} from './owners.js'
import {trackCreates, trackDelete, trackUpdate, trackUpdates} from './modtracker.js'
import {watchStage, watchStages} from './stage-history.js'
import {checkTimezone, emptyValue, naiveNow, toColumnValue, ValueError, type ColumnInfo} from './values.js'

export interface CoreBosRecordsOptions {
  /** the install's $default_timezone: createdtime/modifiedtime are naive datetimes in it */
  timezone: string
  /** owner and modifier when a caller passes no user id (coreBOS uses the admin, id 1) */
  defaultUserId?: number
  /** ids fetched per keyset scan in readChanged; each scan is a full pass over the entity table */
  readWindow?: number
}

/** One record cannot be written or was not found; the rest of a pass goes on. */
export class RecordWriteError extends CbhsError {
  readonly field?: string
  constructor(code: 'RECORD_INVALID' | 'RECORD_NOT_FOUND', message: string, options: {field?: string; cause?: unknown} = {}) {
    super(code, message, {exitCode: EXIT.PARTIAL, cause: options.cause})
    this.field = options.field
  }
}

/** Columns a caller never sets: coreBOS maintains them itself on every save. */
const SYSTEM_ENTITY_COLUMNS = new Set(['crmid', 'smcreatorid', 'modifiedby', 'createdtime', 'modifiedtime', 'viewedtime', 'setype', 'deleted', 'cbuuid', 'presence', 'version', 'status'])
/** Fields coreBOS writes on create: displaytype 1, 3, 4 and 5 (insertIntoEntityTable's $creatingdisplay). */
const CREATE_DISPLAYTYPES = new Set([1, 3, 4, 5])
/** The control fields that are checkboxes (uitype 56): '1' or '0', never NULL. */
const CONTROL_CHECKBOXES: ReadonlySet<string> = new Set(['hubspotcreated', 'hubspotdeleted', 'hubspotsyncwith'])
const MAX_ROWS_PER_INSERT = 500
const ID_CHUNK = 1000

const DEFAULT = Symbol('DEFAULT')
type SqlValue = string | number | null | typeof DEFAULT

/** mysql2 typeCast: every value as the text MySQL sent (numbers and dates included), NULL as null. */
const asText = (field: {string(): string | null}): string | null => field.string()

interface ReadPlan {
  /** FROM … JOIN … for the id scan: entity table (+ base table) */
  scanFrom: string
  /** FROM … with every module table joined */
  fullFrom: string
  /** expressions of the entity alias */
  idExpr: string
  mtExpr: string
  deletedExpr: string
  convertedExpr: string | null
  /** the select list after id, mt, deleted[, converted] */
  columns: string[]
  /** fieldname → index into `columns` */
  fieldIndex: Array<[string, number]>
}

interface WriteColumn {
  field: string
  column: string
  uitype: number
  info: ColumnInfo
  displaytype: number
}

const planCache = new WeakMap<ModuleStorage, ReadPlan>()
const writableCache = new WeakMap<ModuleStorage, Map<string, WriteColumn & {table: string}>>()

function readPlan(st: ModuleStorage): ReadPlan {
  const cached = planCache.get(st)
  if (cached) return cached
  const {meta} = st
  const q = quoteIdent
  const alias = new Map<string, string>()
  alias.set(meta.baseTable, 'b')
  meta.tables.forEach((t, i) => {
    if (i > 0) alias.set(t.name, `t${i}`)
  })
  const e = meta.denormalized ? 'b' : 'e'
  if (!meta.denormalized) alias.set(meta.entityTable, 'e')
  const base = meta.tables[0]
  const idExpr = `${e}.${q(st.entityKey)}`
  const scanFrom = meta.denormalized
    ? `${q(meta.baseTable)} b`
    : `${q(meta.entityTable)} e INNER JOIN ${q(meta.baseTable)} b ON b.${q(base.key)} = e.${q('crmid')}`
  const joins = meta.tables
    .slice(1)
    .map((t) => `LEFT JOIN ${q(t.name)} ${alias.get(t.name)} ON ${alias.get(t.name)}.${q(t.key)} = ${idExpr}`)
    .join(' ')
  // a denormalized table allows NULL modifiedtime; the epoch keeps such rows in the keyset order
  const mtCol = st.entityColumns.get('modifiedtime')
  const mtExpr = mtCol?.nullable ? `COALESCE(${e}.${q('modifiedtime')}, '1970-01-01 00:00:00')` : `${e}.${q('modifiedtime')}`

  const columns: string[] = []
  const byExpr = new Map<string, number>()
  const fieldIndex: Array<[string, number]> = []
  for (const f of meta.fields.values()) {
    const a = alias.get(f.table)
    if (!a) continue
    const expr = `${a}.${q(f.column)}`
    let idx = byExpr.get(expr)
    if (idx === undefined) {
      idx = columns.length
      columns.push(expr)
      byExpr.set(expr, idx)
    }
    fieldIndex.push([f.name, idx])
  }
  const plan: ReadPlan = {
    scanFrom,
    fullFrom: `${scanFrom} ${joins}`,
    idExpr,
    mtExpr,
    deletedExpr: `${e}.${q('deleted')}`,
    convertedExpr: st.hasConverted ? `COALESCE(b.${q('converted')}, 0)` : null,
    columns,
    fieldIndex,
  }
  planCache.set(st, plan)
  return plan
}

/**
 * The plan reading only these fields: MariaDB leaves out the LEFT JOINed tables none of them is in
 * (table elimination on their primary keys), so the read touches the entity and base rows only.
 */
function narrowed(plan: ReadPlan, fields: readonly string[]): ReadPlan {
  const picked = plan.fieldIndex.filter(([name]) => fields.includes(name))
  return {...plan, columns: picked.map(([, i]) => plan.columns[i]), fieldIndex: picked.map(([name], k) => [name, k])}
}

/** A keyset position of the (modifiedtime, crmid) order; the first scan of a read includes it. */
interface KeysetPosition extends CrmCursor {
  inclusive: boolean
}

/**
 * The one predicate of a change read: the module, deletion and opt-in filters, and the keyset
 * position. readChanged scans with it and countChanged counts with it, so a count is what a read reads.
 */
function changedWhere(plan: ReadPlan, filters: {sql: string[]; params: unknown[]}, from: KeysetPosition | null): {sql: string[]; params: unknown[]} {
  if (!from) return {sql: [...filters.sql], params: [...filters.params]}
  return {
    sql: [...filters.sql, `(${plan.mtExpr} > ? OR (${plan.mtExpr} = ? AND ${plan.idExpr} ${from.inclusive ? '>=' : '>'} ?))`],
    params: [...filters.params, from.modifiedtime, from.modifiedtime, from.crmid],
  }
}

function controlsMissing(st: ModuleStorage, column: string): ConfigError {
  return new ConfigError('CONTROL_FIELDS_MISSING', `${st.meta.module} has no ${column} column on ${st.meta.baseTable}; the coreBOS side is not set up.`, {
    suggestion: 'Run `cbhs setup` to add the HubSpot control fields.',
  })
}

function errMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** A server error caused by the data of a row (bad value, duplicate, constraint), not by the connection. */
function isRowLevelDbError(error: unknown): boolean {
  const err = error as {sqlState?: string; errno?: number}
  if (!err?.sqlState) return false
  return err.sqlState.startsWith('22') || err.sqlState.startsWith('23') || [1048, 1364, 1366, 1406, 1292, 1264].includes(err.errno ?? 0)
}

function insertStatement(table: string, columns: string[], rows: SqlValue[][]): {sql: string; params: unknown[]} {
  const params: unknown[] = []
  const tuples = rows.map((row) => {
    const parts = row.map((v) => {
      if (v === DEFAULT) return 'DEFAULT'
      params.push(v)
      return '?'
    })
    return `(${parts.join(',')})`
  })
  return {sql: `INSERT INTO ${quoteIdent(table)} (${columns.map(quoteIdent).join(',')}) VALUES ${tuples.join(',')}`, params}
}

interface PreparedCreate {
  index: number
  /** table → column → value, for the module tables (entity columns added at insert time) */
  values: Map<string, Map<string, SqlValue>>
  owner: number
  number: string | null
}

interface PreparedUpdate {
  sets: Map<string, Map<string, SqlValue>>
  owner: number | null
}

interface ReadyUpdate {
  /** the update's index in the caller's list */
  i: number
  update: RecordUpdate
  prepared: PreparedUpdate
}

/** Rows of one table grouped by the columns they set (in one order), so each group is one multi-row statement. */
function byColumns(rows: Array<{id: number; sets: ReadonlyMap<string, SqlValue>}>): Array<{columns: string[]; rows: Array<{id: number; values: SqlValue[]}>}> {
  const groups = new Map<string, {columns: string[]; rows: Array<{id: number; values: SqlValue[]}>}>()
  for (const row of rows) {
    const columns = [...row.sets.keys()].sort()
    const name = columns.join(',')
    const group = groups.get(name) ?? groups.set(name, {columns, rows: []}).get(name)!
    group.rows.push({id: row.id, values: columns.map((c) => row.sets.get(c)!)})
  }
  return [...groups.values()]
}

/**
 * Each row's own values written by id: one UPDATE joined to a derived table of the new values per
 * set of columns, the same as one `UPDATE … SET … WHERE key = ?` per row (`AND setype = ?` with a
 * setype: rows of every module share vtiger_crmentity).
 */
async function updateJoined(conn: PoolConnection, table: string, key: string, rows: Array<{id: number; sets: ReadonlyMap<string, SqlValue>}>, setype?: string): Promise<void> {
  const q = quoteIdent
  for (const group of byColumns(rows)) {
    for (let i = 0; i < group.rows.length; i += MAX_ROWS_PER_INSERT) {
      const part = group.rows.slice(i, i + MAX_ROWS_PER_INSERT)
      const derived = part.map(() => `SELECT ? AS cbhs_id${group.columns.map((_, k) => `, ? AS v${k}`).join('')}`).join(' UNION ALL ')
      await conn.query(
        `UPDATE ${q(table)} t JOIN (${derived}) v ON t.${q(key)} = v.cbhs_id${setype === undefined ? '' : ` AND t.${q('setype')} = ?`} SET ${group.columns.map((c, k) => `t.${q(c)} = v.v${k}`).join(', ')}`,
        [...part.flatMap((r) => [r.id, ...r.values]), ...(setype === undefined ? [] : [setype])],
      )
    }
  }
}

/** Each row's values into a secondary table, its row inserted when missing: multi-row INSERT … ON DUPLICATE KEY UPDATE per set of columns. */
async function upsertRows(conn: PoolConnection, table: string, key: string, rows: Array<{id: number; sets: ReadonlyMap<string, SqlValue>}>): Promise<void> {
  const q = quoteIdent
  for (const group of byColumns(rows)) {
    for (let i = 0; i < group.rows.length; i += MAX_ROWS_PER_INSERT) {
      const {sql, params} = insertStatement(table, [key, ...group.columns], group.rows.slice(i, i + MAX_ROWS_PER_INSERT).map((r) => [r.id, ...r.values]))
      await conn.query(`${sql} ON DUPLICATE KEY UPDATE ${group.columns.map((c) => `${q(c)} = VALUES(${q(c)})`).join(', ')}`, params)
    }
  }
}

export class CoreBosRecords implements CrmRecords {
  private readonly timezone: string
  private readonly defaultUserId: number
  private readonly readWindow: number

  constructor(
    private readonly pool: Pool,
    options: CoreBosRecordsOptions,
  ) {
    checkTimezone(options.timezone)
    this.timezone = options.timezone
    this.defaultUserId = options.defaultUserId ?? 1
    this.readWindow = options.readWindow ?? 0
  }

  private storage(module: CrmModule): Promise<ModuleStorage> {
    return loadModuleStorage(this.pool, module)
  }

  async meta(module: CrmModule): Promise<ModuleMeta> {
    return (await this.storage(module)).meta
  }

  async now(): Promise<string> {
    return naiveNow(this.timezone, new Date(await this.nowMs()))
  }

  /** The database server's clock (UTC_TIMESTAMP does not depend on the session's time zone). */
  async nowMs(conn?: PoolConnection): Promise<number> {
    const [rows] = await (conn ?? this.pool).query({sql: 'SELECT UTC_TIMESTAMP(3) AS now', typeCast: asText as never})
    const text = String((rows as Array<{now: string}>)[0].now)
    return Date.parse(`${text.replace(' ', 'T')}Z`)
  }

  /** What coreBOS stores as createdtime/modifiedtime: the database clock, naive, in the install's zone. */
  private async stamp(conn?: PoolConnection): Promise<string> {
    return naiveNow(this.timezone, new Date(await this.nowMs(conn)))
  }

  owners(): Promise<CrmOwners> {
    return readCrmOwners(this.pool)
  }

  private user(userId: number): number {
    return Number.isInteger(userId) && userId > 0 ? userId : this.defaultUserId
  }

  // -------------------------------------------------------------------------------------------
  // reads
  // -------------------------------------------------------------------------------------------

  /** The storage, re-read once if the control columns are missing (setup may have run since). */
  private async storageWithControls(module: CrmModule): Promise<ModuleStorage> {
    let st = await this.storage(module)
    if (!st.controlColumns.has('hubspotsyncwith')) {
      forgetModuleMeta(this.pool, module)
      st = await this.storage(module)
    }
    if (!st.controlColumns.has('hubspotsyncwith')) throw controlsMissing(st, 'hubspotsyncwith')
    return st
  }

  /** Conditions shared by the id scan and the row fetch (module, deletion, opt-in). */
  private filters(st: ModuleStorage, plan: ReadPlan, options: Pick<ReadChangedOptions, 'optIn' | 'includeDeleted'>): {sql: string[]; params: unknown[]} {
    const sql: string[] = []
    const params: unknown[] = []
    if (!st.meta.denormalized) {
      sql.push(`e.${quoteIdent('setype')} = ?`)
      params.push(st.meta.module)
    }
    if (!options.includeDeleted) {
      sql.push(`${plan.deletedExpr} = 0`)
      if (plan.convertedExpr) sql.push(`${plan.convertedExpr} = 0`)
    }
    const syncwith = `b.${quoteIdent('hubspotsyncwith')}`
    if (options.optIn === 'explicit') sql.push(`${syncwith} = '1'`)
    else if (options.optIn === 'default-on') sql.push(`COALESCE(${syncwith}, '') <> '0'`)
    return {sql, params}
  }

  private toRecord(st: ModuleStorage, plan: ReadPlan, row: Array<string | null>): CrmRecord {
    const base = plan.convertedExpr ? 4 : 3
    const fields: Record<string, string | null> = {}
    for (const [name, idx] of plan.fieldIndex) fields[name] = row[base + idx]
    const deleted = row[2] !== null && row[2] !== '0'
    const record: CrmRecord = {module: st.meta.module, crmid: Number(row[0]), modifiedtime: row[1] ?? '', deleted, fields}
    if (plan.convertedExpr) {
      const converted = row[3] !== null && row[3] !== '0'
      record.converted = converted
      record.deleted = deleted || converted
    }
    return record
  }

  /** Full records matching `where`, in crmid order. */
  private async selectRecords(st: ModuleStorage, plan: ReadPlan, where: {sql: string[]; params: unknown[]}): Promise<CrmRecord[]> {
    const select = [plan.idExpr, plan.mtExpr, plan.deletedExpr, ...(plan.convertedExpr ? [plan.convertedExpr] : []), ...plan.columns]
    const sql = `SELECT ${select.join(', ')} FROM ${plan.fullFrom} WHERE ${where.sql.join(' AND ')} ORDER BY ${plan.idExpr}`
    const [rows] = await this.pool.query({sql, rowsAsArray: true, typeCast: asText as never}, where.params)
    const records = (rows as Array<Array<string | null>>).map((row) => this.toRecord(st, plan, row))
    if (st.meta.module === 'Potentials' && records.length > 0) await this.attachRelatedContacts(records)
    return records
  }

  /** A potential's contacts of the related list (live contacts only: a trashed one is no relation to sync). */
  private async attachRelatedContacts(records: CrmRecord[]): Promise<void> {
    const [rows] = await this.pool.query(
      `SELECT r.potentialid, r.contactid FROM vtiger_contpotentialrel r JOIN vtiger_crmobject o ON o.crmid = r.contactid AND o.deleted = 0 AND o.setype = 'Contacts'
       WHERE r.potentialid IN (?) ORDER BY r.potentialid, r.contactid`,
      [records.map((r) => r.crmid)],
    )
    const byPotential = new Map<number, number[]>()
    for (const row of rows as Array<{potentialid: number; contactid: number}>) {
      const list = byPotential.get(Number(row.potentialid)) ?? byPotential.set(Number(row.potentialid), []).get(Number(row.potentialid))!
      list.push(Number(row.contactid))
    }
    for (const r of records) r.relatedContacts = byPotential.get(r.crmid) ?? []
  }

  async relateContacts(potentialid: number, change: {add: number[]; remove: number[]}): Promise<void> {
    if (change.add.length > 0) await this.pool.query('INSERT IGNORE INTO vtiger_contpotentialrel (contactid, potentialid) VALUES ?', [change.add.map((c) => [c, potentialid])])
    if (change.remove.length > 0) await this.pool.query('DELETE FROM vtiger_contpotentialrel WHERE potentialid = ? AND contactid IN (?)', [potentialid, change.remove])
  }

  private async fetchRows(st: ModuleStorage, plan: ReadPlan, ids: number[], where: {sql: string[]; params: unknown[]}): Promise<Map<number, CrmRecord>> {
    const records = await this.selectRecords(st, plan, {sql: [`${plan.idExpr} IN (?)`, ...where.sql], params: [ids, ...where.params]})
    return new Map(records.map((r) => [r.crmid, r]))
  }

  readChanged(module: CrmModule, options: ReadChangedOptions): AsyncIterable<CrmRecord[]> {
    const self = this
    return {
      async *[Symbol.asyncIterator]() {
        const st = await self.storageWithControls(module)
        const plan = readPlan(st)
        const where = self.filters(st, plan, options)
        const pageSize = Math.max(1, Math.floor(options.pageSize))
        // ids are scanned in windows of many pages: with no index on modifiedtime every scan reads
        // the whole entity table, so fewer scans is what makes large reads fast
        const window = self.readWindow > 0 ? self.readWindow : Math.min(Math.max(pageSize * 50, 5000), 50_000)
        let cursor: KeysetPosition | null = options.since ? {...options.since, inclusive: true} : null
        for (;;) {
          const cond = changedWhere(plan, where, cursor)
          // a denormalized module read whole (reconcile, deleted rows included) has no condition at all
          const sql = `SELECT ${plan.idExpr}, ${plan.mtExpr} FROM ${plan.scanFrom} WHERE ${cond.sql.length > 0 ? cond.sql.join(' AND ') : 'TRUE'} ORDER BY ${plan.mtExpr}, ${plan.idExpr} LIMIT ?`
          const [scan] = await self.pool.query({sql, rowsAsArray: true, typeCast: asText as never}, [...cond.params, window])
          const ids = scan as Array<[string, string]>
          for (let i = 0; i < ids.length; i += pageSize) {
            const slice = ids.slice(i, i + pageSize)
            const found = await self.fetchRows(st, plan, slice.map((r) => Number(r[0])), where)
            const page: CrmRecord[] = []
            for (const [id, mt] of slice) {
              const rec = found.get(Number(id))
              // changed since the scan: it now sorts later in the stream and is read there
              if (rec && rec.modifiedtime === mt) page.push(rec)
            }
            if (page.length > 0) yield page
          }
          if (ids.length < window) return
          const last = ids[ids.length - 1]
          cursor = {modifiedtime: last[1], crmid: Number(last[0]), inclusive: false}
        }
      },
    }
  }

  /**
   * How many records readChanged with the same options would read (one COUNT, no rows); with `until`
   * (a naive datetime), none modified after it: what the next push has waiting, for progress and `status`.
   */
  async countChanged(module: CrmModule, options: CountChangedOptions): Promise<number> {
    const st = await this.storageWithControls(module)
    const plan = readPlan(st)
    const where = changedWhere(plan, this.filters(st, plan, options), options.since ? {...options.since, inclusive: true} : null)
    if (options.until) {
      where.sql.push(`${plan.mtExpr} <= ?`)
      where.params.push(options.until)
    }
    const [rows] = await this.pool.query(`SELECT COUNT(*) AS n FROM ${plan.scanFrom} WHERE ${where.sql.length > 0 ? where.sql.join(' AND ') : 'TRUE'}`, where.params)
    return Number((rows as Array<{n: number | string}>)[0]?.n ?? 0)
  }

  /**
   * Live records the opt-in leaves out (explicit: not ticked; default-on: explicitly '0'): one COUNT,
   * where live-minus-opted-in took two scans of the module.
   */
  async countNotOptedIn(module: CrmModule, optIn: ReadChangedOptions['optIn']): Promise<number> {
    if (optIn !== 'explicit' && optIn !== 'default-on') return 0
    const st = await this.storageWithControls(module)
    const plan = readPlan(st)
    const where = this.filters(st, plan, {optIn: 'any', includeDeleted: false})
    const syncwith = `COALESCE(b.${quoteIdent('hubspotsyncwith')}, '')`
    where.sql.push(optIn === 'explicit' ? `${syncwith} <> '1'` : `${syncwith} = '0'`)
    const [rows] = await this.pool.query(`SELECT COUNT(*) AS n FROM ${plan.scanFrom} WHERE ${where.sql.join(' AND ')}`, where.params)
    return Number((rows as Array<{n: number | string}>)[0]?.n ?? 0)
  }

  /**
   * Live, opted-in records dated after `after` (a naive datetime: the latest the database clock has
   * shown): how many, and the first `sample` of them by modifiedtime, for `status`.
   */
  async datedAfter(module: CrmModule, options: {after: string; optIn: ReadChangedOptions['optIn']; sample: number}): Promise<{count: number; sample: Array<{crmid: number; modifiedtime: string}>}> {
    const st = await this.storageWithControls(module)
    const plan = readPlan(st)
    const where = this.filters(st, plan, {optIn: options.optIn, includeDeleted: false})
    where.sql.push(`${plan.mtExpr} > ?`)
    where.params.push(options.after)
    const cond = where.sql.join(' AND ')
    const [count] = await this.pool.query(`SELECT COUNT(*) AS n FROM ${plan.scanFrom} WHERE ${cond}`, where.params)
    const n = Number((count as Array<{n: number | string}>)[0]?.n ?? 0)
    if (n === 0) return {count: 0, sample: []}
    const [rows] = await this.pool.query(
      {sql: `SELECT ${plan.idExpr}, ${plan.mtExpr} FROM ${plan.scanFrom} WHERE ${cond} ORDER BY ${plan.mtExpr}, ${plan.idExpr} LIMIT ?`, rowsAsArray: true, typeCast: asText as never},
      [...where.params, Math.max(0, Math.floor(options.sample))],
    )
    return {count: n, sample: (rows as Array<[string, string]>).map(([id, mt]) => ({crmid: Number(id), modifiedtime: mt}))}
  }

  async readByIds(module: CrmModule, crmids: number[]): Promise<CrmRecord[]> {
    const st = await this.storage(module)
    const plan = readPlan(st)
    const where = {sql: st.meta.denormalized ? [] : [`e.${quoteIdent('setype')} = ?`], params: st.meta.denormalized ? [] : [module]}
    const unique = [...new Set(crmids.map(Number).filter((n) => Number.isInteger(n) && n > 0))]
    const out: CrmRecord[] = []
    for (let i = 0; i < unique.length; i += ID_CHUNK) {
      const chunk = unique.slice(i, i + ID_CHUNK)
      const found = await this.fetchRows(st, plan, chunk, where)
      for (const id of chunk) {
        const rec = found.get(id)
        if (rec) out.push(rec)
      }
    }
    return out
  }

  async findByHubSpotIds(module: CrmModule, hubspotIds: string[]): Promise<Map<string, CrmRecord>> {
    let st = await this.storage(module)
    if (!st.controlColumns.has('hubspotid')) {
      forgetModuleMeta(this.pool, module)
      st = await this.storage(module)
    }
    if (!st.controlColumns.has('hubspotid')) throw controlsMissing(st, 'hubspotid')
    const plan = readPlan(st)
    const live = this.filters(st, plan, {includeDeleted: false, optIn: 'default-on'})
    // opt-in does not matter here: a record linked to a HubSpot id is that object's record either way
    live.sql.pop()
    const out = new Map<string, CrmRecord>()
    const unique = [...new Set(hubspotIds.map(String).filter((s) => s !== ''))]
    for (let i = 0; i < unique.length; i += ID_CHUNK) {
      const chunk = unique.slice(i, i + ID_CHUNK)
      const records = await this.selectRecords(st, plan, {sql: [`b.${quoteIdent('hubspotid')} IN (?)`, ...live.sql], params: [chunk, ...live.params]})
      // duplicates (two records claiming one object) resolve to the oldest record, the one the link most likely named
      for (const rec of records) {
        const id = rec.fields.hubspotid
        if (id && !out.has(id)) out.set(id, rec)
      }
    }
    return out
  }

  async findByEmails(module: CrmModule, emails: string[], options: {only?: readonly string[]} = {}): Promise<Map<string, CrmRecord[]>> {
    const st = await this.storage(module)
    const field = st.meta.fields.get('email')
    const out = new Map<string, CrmRecord[]>()
    // only the base table's own e-mail column is searched: it is indexed in both Contacts and Leads
    if (!field || field.table !== st.meta.baseTable) return out
    const plan = options.only ? narrowed(readPlan(st), ['email', ...options.only]) : readPlan(st)
    const live = this.filters(st, plan, {includeDeleted: false, optIn: 'any'})
    const unique = [...new Set(emails.map((e) => e.trim().toLowerCase()).filter(Boolean))]
    for (let i = 0; i < unique.length; i += ID_CHUNK) {
      const chunk = unique.slice(i, i + ID_CHUNK)
      // the column's collation is case-insensitive, so the index serves this IN
      const records = await this.selectRecords(st, plan, {sql: [`b.${quoteIdent(field.column)} IN (?)`, ...live.sql], params: [chunk, ...live.params]})
      for (const rec of records) {
        const email = (rec.fields.email ?? '').trim().toLowerCase()
        if (email) (out.get(email) ?? out.set(email, []).get(email)!).push(rec)
      }
    }
    return out
  }

  // -------------------------------------------------------------------------------------------
  // writes
  // -------------------------------------------------------------------------------------------

  /** Fields a caller may set, by name, with their column; entity bookkeeping columns excluded. */
  private writable(st: ModuleStorage): Map<string, WriteColumn & {table: string}> {
    const cached = writableCache.get(st)
    if (cached) return cached
    const out = new Map<string, WriteColumn & {table: string}>()
    writableCache.set(st, out)
    const {meta} = st
    for (const f of meta.fields.values()) {
      if (f.table === meta.entityTable && SYSTEM_ENTITY_COLUMNS.has(f.column)) continue
      const info = f.table === meta.entityTable && !meta.denormalized ? st.entityColumns.get(f.column) : st.columns.get(f.table)?.get(f.column)
      if (!info) continue
      out.set(f.name, {field: f.name, table: f.table, column: f.column, uitype: f.uitype, info, displaytype: f.displaytype})
    }
    return out
  }

  /** Converts one field value, collecting a message naming the field instead of throwing. */
  private convert(w: WriteColumn & {table: string}, value: string | null | undefined, errors: string[]): SqlValue {
    try {
      return toColumnValue(value, w.info, w.uitype)
    } catch (error) {
      if (error instanceof ValueError) {
        errors.push(`field '${w.field}' (${w.table}.${w.column}) ${error.message}`)
        return null
      }
      throw error
    }
  }

  private convertControl(st: ModuleStorage, values: ControlValues, errors: string[]): Map<string, SqlValue> {
    const out = new Map<string, SqlValue>()
    for (const [name, value] of Object.entries(values)) {
      if (value === undefined) continue
      if (!(CONTROL_FIELDS as readonly string[]).includes(name)) {
        errors.push(`'${name}' is not a HubSpot control field`)
        continue
      }
      const info = st.controlColumns.get(name as ControlField)
      if (!info) throw controlsMissing(st, name)
      const uitype = CONTROL_CHECKBOXES.has(name) ? 56 : 1
      // NULL clears a control value, except a checkbox: coreBOS stores '0' for every unticked box
      // and its filters ("Deleted in HubSpot = no") do not match NULL
      if (value === null || value === '') {
        out.set(name, uitype === 56 ? '0' : info.nullable ? null : emptyValue(info, 1))
        continue
      }
      try {
        out.set(name, toColumnValue(value, info, uitype))
      } catch (error) {
        if (!(error instanceof ValueError)) throw error
        errors.push(`control field '${name}' ${error.message}`)
      }
    }
    return out
  }

  private prepareCreate(st: ModuleStorage, input: CreateInput, index: number, userId: number): PreparedCreate | string {
    const {meta} = st
    const writable = this.writable(st)
    const errors: string[] = []
    const values = new Map<string, Map<string, SqlValue>>()
    const set = (table: string, column: string, value: SqlValue): void => {
      let t = values.get(table)
      if (!t) values.set(table, (t = new Map()))
      t.set(column, value)
    }
    const given = input.fields ?? {}
    for (const name of Object.keys(given)) {
      if (!meta.fields.has(name)) errors.push(`unknown field '${name}' for ${meta.module}`)
    }
    let number: string | null = null
    for (const w of writable.values()) {
      if (w.field === meta.numberField) {
        const v = given[w.field]
        if (v !== undefined && v !== null && v !== '') number = this.convert(w, v, errors) as string | null
        continue
      }
      if (w.field === 'assigned_user_id') continue
      const has = Object.prototype.hasOwnProperty.call(given, w.field) && given[w.field] !== undefined
      // vtws_create puts vtiger_field.defaultvalue into a field it is not given (a default-on opt-in box)
      const fallback = has ? undefined : st.defaults.get(w.field)
      const raw = has ? given[w.field] : fallback
      const f = meta.fields.get(w.field)!
      if (f.mandatory && (raw === undefined || raw === null || String(raw).trim() === '') && f.uitype !== 4 && f.displaytype !== 2) {
        errors.push(`field '${w.field}' is mandatory and has no value`)
        continue
      }
      // coreBOS writes every displaytype 1/3/4 field on create, empty ones with their empty value;
      // others (displaytype 2) only when given, else the column default
      if (!has && !CREATE_DISPLAYTYPES.has(w.displaytype)) continue
      if (st.controlColumns.has(w.field as ControlField) && w.table === meta.baseTable) {
        if (has || fallback !== undefined || CONTROL_CHECKBOXES.has(w.field)) {
          set(w.table, w.column, this.convertControl(st, {[w.field]: raw ?? null}, errors).get(w.field) ?? null)
        }
        continue
      }
      set(w.table, w.column, this.convert(w, raw, errors))
    }
    let owner = userId
    const ownerRaw = given.assigned_user_id
    if (ownerRaw !== undefined && ownerRaw !== null && String(ownerRaw).trim() !== '') {
      const s = String(ownerRaw).trim()
      if (/^\d+$/.test(s) && Number(s) > 0) owner = Number(s)
      else errors.push(`field 'assigned_user_id' '${s}' is not a user or group id`)
    }
    if (input.control) {
      for (const [column, v] of this.convertControl(st, input.control, errors)) set(meta.baseTable, column, v)
    }
    if (errors.length > 0) return `${meta.module} input #${index + 1}: ${errors.join('; ')}`
    return {index, values, owner, number}
  }

  async create(module: CrmModule, inputs: CreateInput[], userId: number): Promise<WriteResult[]> {
    const st = await this.storage(module)
    const user = this.user(userId)
    const results: WriteResult[] = inputs.map(() => ({crmid: 0, ok: false}))
    const ready: PreparedCreate[] = []
    inputs.forEach((input, i) => {
      const prepared = this.prepareCreate(st, input, i, user)
      if (typeof prepared === 'string') results[i] = {crmid: 0, ok: false, error: prepared}
      else ready.push(prepared)
    })
    if (ready.length === 0) return results
    try {
      const ids = await this.insertBatch(st, ready, user)
      ready.forEach((p, k) => (results[p.index] = {crmid: ids[k], ok: true}))
    } catch (error) {
      if (error instanceof NumberingError) {
        for (const p of ready) results[p.index] = {crmid: 0, ok: false, error: `${module} input #${p.index + 1}: ${error.message}`}
        return results
      }
      if (!isRowLevelDbError(error)) throw error
      if (ready.length === 1) {
        results[ready[0].index] = {crmid: 0, ok: false, error: `${module} input #${ready[0].index + 1}: ${errMessage(error)}`}
        return results
      }
      // the batch statement failed on some row we could not foresee: find it by writing one by one
      for (const p of ready) {
        try {
          const [id] = await this.insertBatch(st, [p], user)
          results[p.index] = {crmid: id, ok: true}
        } catch (single) {
          if (!(single instanceof NumberingError) && !isRowLevelDbError(single)) throw single
          results[p.index] = {crmid: 0, ok: false, error: `${module} input #${p.index + 1}: ${errMessage(single)}`}
        }
      }
    }
    return results
  }

  /** Takes `count` crmids with one short autocommit statement, so the sequence row is not held by our transaction. */
  private async reserveIds(conn: PoolConnection, count: number): Promise<number[]> {
    await conn.query('UPDATE vtiger_crmentity_seq SET id = LAST_INSERT_ID(id + ?)', [count])
    const [rows] = await conn.query('SELECT LAST_INSERT_ID() AS id')
    const last = Number((rows as Array<{id: number | string}>)[0].id)
    return Array.from({length: count}, (_, i) => last - count + 1 + i)
  }

  private async insertBatch(st: ModuleStorage, batch: PreparedCreate[], user: number): Promise<number[]> {
    const {meta} = st
    const conn = await this.pool.getConnection()
    try {
      const ids = await this.reserveIds(conn, batch.length)
      const nowMs = await this.nowMs(conn)
      const now = naiveNow(this.timezone, new Date(nowMs))
      await conn.beginTransaction()
      try {
        const numberField = meta.fields.get(meta.numberField)
        const need = numberField ? batch.filter((p) => p.number === null).length : 0
        const numbers = await allocateNumbers(conn, meta.module, need, this.timezone, new Date(nowMs))

        // per table: the column list (union over the batch) and one row per record
        const tableRows = new Map<string, Array<Map<string, SqlValue>>>()
        const tableNames = [...new Set([...(meta.denormalized ? [] : [meta.entityTable]), ...meta.tables.map((t) => t.name)])]
        for (const t of tableNames) tableRows.set(t, [])
        const keyOf = new Map(meta.tables.map((t) => [t.name, t.key]))
        const crmobject: SqlValue[][] = []
        let n = 0
        batch.forEach((p, k) => {
          const crmid = ids[k]
          const cbuuid = createHash('sha1').update(`${meta.module}:${crmid}:${now}:${randomBytes(8).toString('hex')}`).digest('hex')
          for (const t of tableNames) {
            const row = new Map(p.values.get(t) ?? [])
            const key = keyOf.get(t)
            if (key) row.set(key, crmid)
            if (t === meta.entityTable) {
              const entity: Record<string, SqlValue> = {
                crmid,
                smcreatorid: user,
                smownerid: p.owner,
                modifiedby: user,
                setype: meta.module,
                createdtime: now,
                modifiedtime: now,
                cbuuid,
                deleted: 0,
                presence: 1,
                version: 0,
              }
              const cols = st.entityColumns
              for (const [c, v] of Object.entries(entity)) if (cols.has(c)) row.set(c, v)
              if (cols.has('description') && !row.has('description')) row.set('description', '')
            }
            if (numberField && t === numberField.table) row.set(numberField.column, p.number ?? numbers[n])
            if (t === meta.baseTable && st.hasConverted) row.set('converted', 0)
            // a NOT NULL column without default that no field covers would fail in strict mode
            const cols = t === meta.entityTable ? st.entityColumns : st.columns.get(t)!
            for (const c of cols.values()) {
              if (!c.hasDefault && !row.has(c.name)) row.set(c.name, emptyValue(c, 1) ?? '')
            }
            tableRows.get(t)!.push(row)
          }
          if (numberField && p.number === null) n++
          crmobject.push([crmid, cbuuid, 0, meta.module, p.owner, now])
        })

        // parents first: the 2021 schema still has the foreign keys crmentity ← base ← other tables
        for (const t of tableNames) {
          const rowsOfTable = tableRows.get(t)!
          const columns = [...new Set(rowsOfTable.flatMap((r) => [...r.keys()]))]
          for (let i = 0; i < rowsOfTable.length; i += MAX_ROWS_PER_INSERT) {
            const chunk = rowsOfTable.slice(i, i + MAX_ROWS_PER_INSERT).map((r) => columns.map((c) => (r.has(c) ? r.get(c)! : DEFAULT)))
            const {sql, params} = insertStatement(t, columns, chunk)
            await conn.query(sql, params)
          }
        }
        if (st.hasCrmobject) {
          for (let i = 0; i < crmobject.length; i += MAX_ROWS_PER_INSERT) {
            const {sql, params} = insertStatement('vtiger_crmobject', ['crmid', 'cbuuid', 'deleted', 'setype', 'smownerid', 'modifiedtime'], crmobject.slice(i, i + MAX_ROWS_PER_INSERT))
            await conn.query(sql, params)
          }
        }
        await trackCreates(conn, st, ids, user)
        await conn.commit()
        return ids
      } catch (error) {
        await conn.rollback().catch(() => undefined)
        throw error
      }
    } finally {
      conn.release()
    }
  }

  /** The entity row's WHERE: by id, and by setype when rows of every module share vtiger_crmentity. */
  private entityWhere(st: ModuleStorage, crmid: number): {sql: string; params: unknown[]} {
    const key = `${quoteIdent(st.entityKey)} = ?`
    return st.meta.denormalized ? {sql: key, params: [crmid]} : {sql: `${key} AND ${quoteIdent('setype')} = ?`, params: [crmid, st.meta.module]}
  }

  async update(module: CrmModule, crmid: number, fields: Record<string, string | null>, userId: number): Promise<void> {
    const st = await this.storage(module)
    const prepared = this.prepareUpdate(st, module, crmid, fields)
    const now = await this.stamp()
    await inTransaction(this.pool, (conn) => this.applyUpdate(conn, st, module, crmid, prepared, now, this.user(userId)))
  }

  /**
   * Many updates in one transaction (pull writes a page at once), with a few multi-row statements
   * per batch rather than several per record. A record whose values are invalid fails alone with
   * its reason; when the database refuses the batch, it is written again one record at a time so
   * only the record it refuses fails. An update with `expected` is compare-and-set: a record whose
   * modifiedtime, or as-read value of a field being written, is no longer the one it was read with
   * is left untouched and comes back stale, for the engine to read and merge again.
   */
  async updateMany(module: CrmModule, updates: RecordUpdate[], userId: number): Promise<WriteResult[]> {
    const st = await this.storage(module)
    const results: WriteResult[] = updates.map((u) => ({crmid: u.crmid, ok: true}))
    const ready: ReadyUpdate[] = []
    const again: ReadyUpdate[] = []
    const taken = new Set<number>()
    updates.forEach((u, i) => {
      try {
        const r = {i, update: u, prepared: this.prepareUpdate(st, module, u.crmid, u.fields)}
        // a second update of one record is compared against the first one's write: after the batch
        if (taken.has(u.crmid)) again.push(r)
        else ready.push(r)
        taken.add(u.crmid)
      } catch (error) {
        results[i] = {crmid: u.crmid, ok: false, error: (error as Error).message}
      }
    })
    if (ready.length === 0 && again.length === 0) return results
    const now = await this.stamp()
    const user = this.user(userId)
    const stale = (u: RecordUpdate, found: string): WriteResult => ({crmid: u.crmid, ok: false, stale: true, error: `${module} ${u.crmid} changed in coreBOS since it was read (${found})`})
    const one = async (r: ReadyUpdate) => {
      try {
        const found = await inTransaction(this.pool, (conn) => this.applyUpdate(conn, st, module, r.update.crmid, r.prepared, now, user, r.update.expected))
        results[r.i] = found === null ? {crmid: r.update.crmid, ok: true} : stale(r.update, found)
      } catch (single) {
        if (stopsThePass(single)) throw single
        results[r.i] = {crmid: r.update.crmid, ok: false, error: (single as Error).message}
      }
    }
    for (let k = 0; k < ready.length; k += MAX_ROWS_PER_INSERT) {
      const batch = ready.slice(k, k + MAX_ROWS_PER_INSERT)
      try {
        const outcome = await inTransaction(this.pool, (conn) => this.applyUpdates(conn, st, module, batch, now, user))
        for (const r of batch) {
          const o = outcome.get(r.i)
          results[r.i] = o === undefined ? {crmid: r.update.crmid, ok: true} : o.stale ? stale(r.update, o.stale) : {crmid: r.update.crmid, ok: false, error: o.error}
        }
      } catch (error) {
        if (stopsThePass(error)) throw error
        // the database refused something of the batch (rolled back whole): one by one, only that record fails
        for (const r of batch) await one(r)
      }
    }
    for (const r of again) await one(r)
    return results
  }

  /**
   * A batch of updates of distinct records, as applyUpdate writes each one, in a few statements:
   * the entity rows locked and the as-read values compared in one read each, then one UPDATE (or
   * INSERT … ON DUPLICATE KEY UPDATE) per table and set of columns, stage history and ModTracker
   * rows for the batch. Returns the records not written: stale ones (what differs) and missing ones.
   */
  private async applyUpdates(conn: PoolConnection, st: ModuleStorage, module: CrmModule, batch: ReadyUpdate[], now: string, user: number): Promise<Map<number, {stale?: string; error?: string}>> {
    const {meta} = st
    const q = quoteIdent
    const out = new Map<number, {stale?: string; error?: string}>()
    const ids = batch.map((r) => r.update.crmid)
    const key = q(st.entityKey)
    const setype = meta.denormalized ? undefined : meta.module
    const mt = st.entityColumns.get('modifiedtime')?.nullable ? `COALESCE(${q('modifiedtime')}, '1970-01-01 00:00:00')` : q('modifiedtime')
    const [found] = await conn.query(
      {sql: `SELECT ${key} AS id, ${q('smownerid')} AS owner, ${mt} AS mt FROM ${q(meta.entityTable)} WHERE ${key} IN (?)${setype === undefined ? '' : ` AND ${q('setype')} = ?`} FOR UPDATE`, typeCast: asText as never},
      setype === undefined ? [ids] : [ids, setype],
    )
    const current = new Map((found as Array<{id: string; owner: string; mt: string | null}>).map((row) => [Number(row.id), row]))
    let apply: ReadyUpdate[] = []
    for (const r of batch) {
      const {crmid, expected} = r.update
      const row = current.get(crmid)
      if (!row) out.set(r.i, {error: `${module} ${crmid} does not exist (purged from coreBOS).`})
      else if (expected && (row.mt ?? '') !== expected.modifiedtime) out.set(r.i, {stale: `modifiedtime ${row.mt ?? ''}, read ${expected.modifiedtime}`})
      else apply.push(r)
    }
    const changed = await this.changedFields(conn, st, apply.filter((r) => r.update.expected?.fields).map((r) => ({crmid: r.update.crmid, values: r.update.expected!.fields!})))
    apply = apply.filter((r) => {
      const field = changed.get(r.update.crmid)
      if (field) out.set(r.i, {stale: `${field} is no longer what was read`})
      return !field
    })
    if (apply.length === 0) return out
    const applyIds = apply.map((r) => r.update.crmid)
    // what coreBOS's save adds beside the records: stage history, ModTracker (read before, written after)
    const effects = [await watchStages(conn, st, apply.map((r) => ({crmid: r.update.crmid, sets: r.prepared.sets}))), await trackUpdates(conn, st, applyIds)]
    for (const t of meta.tables) {
      if (t.name === meta.entityTable) continue
      const rows = apply.flatMap((r) => {
        const s = r.prepared.sets.get(t.name)
        return s && s.size > 0 ? [{id: r.update.crmid, sets: s}] : []
      })
      if (rows.length === 0) continue
      // coreBOS inserts a missing secondary row on edit (insertIntoEntityTable falls back to insert mode)
      if (t.name === meta.baseTable) await updateJoined(conn, t.name, t.key, rows)
      else await upsertRows(conn, t.name, t.key, rows)
    }
    await updateJoined(
      conn,
      meta.entityTable,
      st.entityKey,
      apply.map((r) => {
        const sets = new Map(r.prepared.sets.get(meta.entityTable) ?? [])
        if (r.prepared.owner !== null) sets.set('smownerid', r.prepared.owner)
        sets.set('modifiedtime', now)
        sets.set('modifiedby', user)
        return {id: r.update.crmid, sets}
      }),
      setype,
    )
    if (st.hasCrmobject) {
      const owners = apply.map((r) => [r.update.crmid, r.prepared.owner ?? Number(current.get(r.update.crmid)!.owner)])
      for (let i = 0; i < owners.length; i += MAX_ROWS_PER_INSERT) {
        const part = owners.slice(i, i + MAX_ROWS_PER_INSERT)
        await conn.query(
          `UPDATE vtiger_crmobject o JOIN (${part.map(() => 'SELECT ? AS cbhs_id, ? AS cbhs_owner').join(' UNION ALL ')}) v ON o.crmid = v.cbhs_id SET o.smownerid = v.cbhs_owner, o.modifiedtime = ?`,
          [...part.flat(), now],
        )
      }
    }
    for (const effect of effects) await effect?.record(now, user)
    return out
  }

  private prepareUpdate(st: ModuleStorage, module: CrmModule, crmid: number, fields: Record<string, string | null>): PreparedUpdate {
    const {meta} = st
    const writable = this.writable(st)
    const errors: string[] = []
    const sets = new Map<string, Map<string, SqlValue>>()
    let owner: number | null = null
    for (const [name, raw] of Object.entries(fields)) {
      if (raw === undefined) continue
      const f = meta.fields.get(name)
      if (!f) {
        errors.push(`unknown field '${name}' for ${module}`)
        continue
      }
      if (name === 'assigned_user_id') {
        const s = String(raw ?? '').trim()
        if (/^\d+$/.test(s) && Number(s) > 0) owner = Number(s)
        else errors.push(`field 'assigned_user_id' '${s}' is not a user or group id`)
        continue
      }
      const w = writable.get(name)
      // coreBOS never rewrites the entity number on edit, nor the bookkeeping columns
      if (!w || f.uitype === 4) continue
      if (f.mandatory && (raw === null || String(raw).trim() === '') && f.displaytype !== 2) {
        errors.push(`field '${name}' is mandatory and cannot be emptied`)
        continue
      }
      let value: SqlValue
      if (st.controlColumns.has(name as ControlField) && w.table === meta.baseTable) value = this.convertControl(st, {[name]: raw}, errors).get(name) ?? null
      else value = this.convert(w, raw, errors)
      let t = sets.get(w.table)
      if (!t) sets.set(w.table, (t = new Map()))
      t.set(w.column, value)
    }
    if (errors.length > 0) {
      throw new RecordWriteError('RECORD_INVALID', `${module} ${crmid}: ${errors.join('; ')}`)
    }
    return {sets, owner}
  }

  /**
   * Writes one record's update, as coreBOS's save does. With `expected`, only if the record still has
   * that modifiedtime and those values (read under the entity row's lock); returns what differs when not.
   */
  private async applyUpdate(
    conn: PoolConnection,
    st: ModuleStorage,
    module: CrmModule,
    crmid: number,
    prepared: PreparedUpdate,
    now: string,
    user: number,
    expected?: RecordUpdate['expected'],
  ): Promise<string | null> {
    const {meta} = st
    const {sets, owner} = prepared
    const q = quoteIdent
    const where = this.entityWhere(st, crmid)
    // the same expression the reads report modifiedtime with (NULL on a denormalized table reads as the epoch)
    const mt = st.entityColumns.get('modifiedtime')?.nullable ? `COALESCE(${q('modifiedtime')}, '1970-01-01 00:00:00')` : q('modifiedtime')
    const [found] = await conn.query(
      {sql: `SELECT ${q('smownerid')} AS owner, ${mt} AS mt FROM ${q(meta.entityTable)} WHERE ${where.sql} FOR UPDATE`, typeCast: asText as never},
      where.params,
    )
    const current = (found as Array<{owner: string; mt: string | null}>)[0]
    if (!current) throw new RecordWriteError('RECORD_NOT_FOUND', `${module} ${crmid} does not exist (purged from coreBOS).`)
    if (expected) {
      if ((current.mt ?? '') !== expected.modifiedtime) return `modifiedtime ${current.mt ?? ''}, read ${expected.modifiedtime}`
      const changed = await this.changedField(conn, st, crmid, expected.fields ?? {})
      if (changed) return `${changed} is no longer what was read`
    }
    // what coreBOS's save adds beside the record: stage history, ModTracker (read before, written after)
    const effects = [await watchStage(conn, st, crmid, sets), await trackUpdate(conn, st, crmid)]
    for (const t of meta.tables) {
      const s = sets.get(t.name)
      if (!s || s.size === 0 || t.name === meta.entityTable) continue
      if (t.name === meta.baseTable) {
        await conn.query(`UPDATE ${q(t.name)} SET ${[...s.keys()].map((c) => `${q(c)} = ?`).join(', ')} WHERE ${q(t.key)} = ?`, [...s.values(), crmid])
      } else {
        // coreBOS inserts a missing secondary row on edit (insertIntoEntityTable falls back to insert mode)
        const cols = [t.key, ...s.keys()]
        await conn.query(
          `INSERT INTO ${q(t.name)} (${cols.map(q).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})
           ON DUPLICATE KEY UPDATE ${[...s.keys()].map((c) => `${q(c)} = VALUES(${q(c)})`).join(', ')}`,
          [crmid, ...s.values()],
        )
      }
    }
    const entitySets = new Map(sets.get(meta.entityTable) ?? [])
    if (owner !== null) entitySets.set('smownerid', owner)
    entitySets.set('modifiedtime', now)
    entitySets.set('modifiedby', user)
    await conn.query(`UPDATE ${q(meta.entityTable)} SET ${[...entitySets.keys()].map((c) => `${q(c)} = ?`).join(', ')} WHERE ${where.sql}`, [
      ...entitySets.values(),
      ...where.params,
    ])
    if (st.hasCrmobject) {
      await conn.query('UPDATE vtiger_crmobject SET smownerid = ?, modifiedtime = ? WHERE crmid = ?', [owner ?? Number(current.owner), now, crmid])
    }
    for (const effect of effects) await effect?.record(now, user)
    return null
  }


  /** The first of these fields whose stored value (read as the reads read it) is not the given one. */
  private async changedField(conn: PoolConnection, st: ModuleStorage, crmid: number, values: Record<string, string | null>): Promise<string | null> {
    return (await this.changedFields(conn, st, [{crmid, values}])).get(crmid) ?? null
  }

  /** For each record (distinct ids), in one read: the first of its fields whose stored value is not the given one. */
  private async changedFields(conn: PoolConnection, st: ModuleStorage, checks: Array<{crmid: number; values: Record<string, string | null>}>): Promise<Map<number, string>> {
    const out = new Map<number, string>()
    const plan = readPlan(st)
    const index = new Map(plan.fieldIndex)
    const named = checks.map((c) => ({...c, names: Object.keys(c.values).filter((name) => index.has(name))})).filter((c) => c.names.length > 0)
    if (named.length === 0) return out
    const columns = [...new Set(named.flatMap((c) => c.names.map((n) => index.get(n)!)))]
    const position = new Map(columns.map((col, i) => [col, i + 1]))
    const [rows] = await conn.query(
      {sql: `SELECT ${plan.idExpr}, ${columns.map((col) => plan.columns[col]).join(', ')} FROM ${plan.fullFrom} WHERE ${plan.idExpr} IN (?)`, rowsAsArray: true, typeCast: asText as never},
      [named.map((c) => c.crmid)],
    )
    const byId = new Map((rows as Array<Array<string | null>>).map((row) => [Number(row[0]), row]))
    for (const c of named) {
      const row = byId.get(c.crmid)
      if (!row) continue
      const name = c.names.find((n) => row[position.get(index.get(n)!)!] !== c.values[n])
      if (name) out.set(c.crmid, name)
    }
    return out
  }

  async trash(module: CrmModule, crmid: number, userId: number): Promise<void> {
    const st = await this.storage(module)
    const now = await this.stamp()
    const user = this.user(userId)
    const where = this.entityWhere(st, crmid)
    await inTransaction(this.pool, async (conn) => {
      const [res] = await conn.query(`UPDATE ${quoteIdent(st.meta.entityTable)} SET deleted = 1, modifiedtime = ?, modifiedby = ? WHERE ${where.sql}`, [now, user, ...where.params])
      // a purged record has nothing left to trash
      if ((res as {affectedRows: number}).affectedRows === 0) return
      if (st.hasCrmobject) await conn.query('UPDATE vtiger_crmobject SET deleted = 1, modifiedtime = ? WHERE crmid = ?', [now, crmid])
      await trackDelete(conn, st, crmid, user, now)
    })
  }

  async setControlMany(module: CrmModule, rows: Array<{crmid: number; values: ControlValues}>): Promise<void> {
    if (rows.length === 0) return
    const byColumns = new Map<string, Array<{crmid: number; values: ControlValues}>>()
    for (const row of rows) {
      // grouped by the values it sets: an undefined value leaves the column alone, so a record that
      // leaves hubspotid undefined must not share the UPDATE of records that set it (it would get NULL)
      const key = Object.keys(row.values).filter((k) => row.values[k as ControlField] !== undefined).sort().join(',')
      ;(byColumns.get(key) ?? byColumns.set(key, []).get(key)!).push(row)
    }
    for (const group of byColumns.values()) {
      let st = await this.storage(module)
      if (Object.keys(group[0].values).some((k) => !st.controlColumns.has(k as ControlField))) {
        forgetModuleMeta(this.pool, module)
        st = await this.storage(module)
      }
      const q = quoteIdent
      for (let i = 0; i < group.length; i += ID_CHUNK) {
        const part = group.slice(i, i + ID_CHUNK)
        const converted = part.map((row) => {
          const errors: string[] = []
          const sets = this.convertControl(st, row.values, errors)
          if (errors.length > 0) throw new RecordWriteError('RECORD_INVALID', `${module} ${row.crmid}: ${errors.join('; ')}`)
          return {crmid: row.crmid, sets}
        })
        const columns = [...converted[0].sets.keys()]
        if (columns.length === 0) continue
        // one UPDATE joined to a derived table of the new values: modifiedtime stays, as in setControl
        const derived = converted
          .map(() => `SELECT ? AS cbhs_id${columns.map((c) => `, ? AS ${q(c)}`).join('')}`)
          .join(' UNION ALL ')
        const params = converted.flatMap((c) => [c.crmid, ...columns.map((col) => c.sets.get(col))])
        await retryLockVictim(() =>
          this.pool.query(
            `UPDATE ${q(st.meta.baseTable)} b JOIN (${derived}) v ON b.${q(st.meta.baseKey)} = v.cbhs_id SET ${columns.map((c) => `b.${q(c)} = v.${q(c)}`).join(', ')}`,
            params,
          ),
        )
      }
    }
  }

  async setControl(module: CrmModule, crmid: number, values: ControlValues): Promise<void> {
    let st = await this.storage(module)
    if (Object.keys(values).some((k) => !st.controlColumns.has(k as ControlField))) {
      forgetModuleMeta(this.pool, module)
      st = await this.storage(module)
    }
    const errors: string[] = []
    const sets = this.convertControl(st, values, errors)
    if (errors.length > 0) throw new RecordWriteError('RECORD_INVALID', `${module} ${crmid}: ${errors.join('; ')}`)
    if (sets.size === 0) return
    const q = quoteIdent
    // plain UPDATE of the base table: modifiedtime stays, so the write never reads back as a change
    await this.pool.query(`UPDATE ${q(st.meta.baseTable)} SET ${[...sets.keys()].map((c) => `${q(c)} = ?`).join(', ')} WHERE ${q(st.meta.baseKey)} = ?`, [
      ...sets.values(),
      crmid,
    ])
  }
}
