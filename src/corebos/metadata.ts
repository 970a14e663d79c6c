/**
 * Module metadata read from the install itself (vtiger_tab, vtiger_entityname, vtiger_field,
 * information_schema), because installs differ: custom fields, denormalized modules, columns
 * added by changesets. Every identifier that later reaches SQL comes from here.
 */
import type {CrmFieldMeta, ModuleMeta} from '../sync/ports.js'
import {CONTROL_FIELDS, type ControlField, type CrmModule} from '../sync/types.js'
import {ConfigError} from '../errors.js'
import {quoteIdent, type Pool} from './connection.js'
import type {ColumnInfo} from './values.js'

/** ModuleMeta plus the storage details the reader and writer need. */
export interface ModuleStorage {
  meta: ModuleMeta
  /** the column identifying a row of the entity table: crmid, or the base key when denormalized */
  entityKey: string
  /** columns of the entity table (vtiger_crmentity, or the base table when denormalized) */
  entityColumns: Map<string, ColumnInfo>
  /** columns of every module table (base table first) */
  columns: Map<string, Map<string, ColumnInfo>>
  /** HubSpot control columns present on the base table */
  controlColumns: Map<ControlField, ColumnInfo>
  /** vtiger_crmobject exists (every coreBOS since 2020; absent on old vtiger-derived installs) */
  hasCrmobject: boolean
  /** Leads: vtiger_leaddetails.converted exists (converted leads count as gone) */
  hasConverted: boolean
  /** non-empty vtiger_field.defaultvalue by field name: what vtws_create puts into a field it is not given */
  defaults: Map<string, string>
}

/**
 * Table → key column for the core modules (CRMEntity::$tab_name_index of each module class, which
 * lives in PHP and not in the database). Used for tables without fields (the *cf tables of a fresh
 * install) and as the key when information_schema cannot tell.
 */
const CORE_TABLES: Readonly<Record<CrmModule, ReadonlyArray<readonly [string, string]>>> = {
  Contacts: [
    ['vtiger_contactdetails', 'contactid'],
    ['vtiger_contactaddress', 'contactaddressid'],
    ['vtiger_contactsubdetails', 'contactsubscriptionid'],
    ['vtiger_contactscf', 'contactid'],
    ['vtiger_customerdetails', 'customerid'],
  ],
  Accounts: [
    ['vtiger_account', 'accountid'],
    ['vtiger_accountbillads', 'accountaddressid'],
    ['vtiger_accountshipads', 'accountaddressid'],
    ['vtiger_accountscf', 'accountid'],
  ],
  Leads: [
    ['vtiger_leaddetails', 'leadid'],
    ['vtiger_leadaddress', 'leadaddressid'],
    ['vtiger_leadsubdetails', 'leadsubscriptionid'],
    ['vtiger_leadscf', 'leadid'],
  ],
  Potentials: [
    ['vtiger_potential', 'potentialid'],
    ['vtiger_potentialscf', 'potentialid'],
  ],
}

const NUMBER_FIELDS: Readonly<Record<CrmModule, string>> = {
  Contacts: 'contact_no',
  Accounts: 'account_no',
  Leads: 'lead_no',
  Potentials: 'potential_no',
}

/** The seven control fields as the legacy integration defines them (corebos.md §3), for fields without a vtiger_field row. */
const CONTROL_SPEC: Readonly<Record<ControlField, {label: string; uitype: number; displaytype: number; dataType: string}>> = {
  hubspotid: {label: 'HubSpot ID', uitype: 1, displaytype: 1, dataType: 'V'},
  hubspotcreated: {label: 'Created by HubSpot', uitype: 56, displaytype: 1, dataType: 'C'},
  hubspotrecord: {label: 'HubSpot Record', uitype: 17, displaytype: 4, dataType: 'V'},
  hubspotdeleted: {label: 'Deleted in HubSpot', uitype: 56, displaytype: 1, dataType: 'C'},
  hubspotlastsync: {label: 'HubSpot Last Sync', uitype: 70, displaytype: 2, dataType: 'DT'},
  hubspotdeletedon: {label: 'HubSpot Deleted On', uitype: 70, displaytype: 2, dataType: 'DT'},
  hubspotsyncwith: {label: 'Sync with HubSpot', uitype: 56, displaytype: 1, dataType: 'C'},
}

/** crmentity fields every module has; synthesized if an install lacks their vtiger_field rows. */
const ENTITY_FIELDS: ReadonlyArray<{name: string; column: string; label: string; uitype: number; dataType: string; displaytype: number}> = [
  {name: 'assigned_user_id', column: 'smownerid', label: 'Assigned To', uitype: 53, dataType: 'V', displaytype: 1},
  {name: 'createdtime', column: 'createdtime', label: 'Created Time', uitype: 70, dataType: 'DT', displaytype: 2},
  {name: 'modifiedtime', column: 'modifiedtime', label: 'Modified Time', uitype: 70, dataType: 'DT', displaytype: 2},
]

interface FieldRow {
  fieldid: number
  fieldname: string
  fieldlabel: string | null
  tablename: string
  columnname: string
  uitype: string
  typeofdata: string | null
  displaytype: number | null
  presence: number
  defaultvalue: string | null
}

interface ColumnRow {
  TABLE_NAME: string
  COLUMN_NAME: string
  DATA_TYPE: string
  COLUMN_TYPE: string
  CHARACTER_MAXIMUM_LENGTH: string | number | null
  CHARACTER_OCTET_LENGTH: string | number | null
  CHARACTER_SET_NAME: string | null
  IS_NULLABLE: string
  COLUMN_DEFAULT: string | null
  NUMERIC_PRECISION: string | number | null
  NUMERIC_SCALE: string | number | null
  COLUMN_KEY: string
}

const toNum = (v: string | number | null): number | null => (v === null || v === undefined ? null : Number(v))

async function rows<T>(pool: Pool, sql: string, params: unknown[] = []): Promise<T[]> {
  const [result] = await pool.query(sql, params)
  return result as T[]
}

/** Columns of the given tables in the current database, by table. */
export async function tableColumns(pool: Pool, tables: string[]): Promise<Map<string, Map<string, ColumnInfo & {primary: boolean}>>> {
  const out = new Map<string, Map<string, ColumnInfo & {primary: boolean}>>()
  if (tables.length === 0) return out
  const list = await rows<ColumnRow>(
    pool,
    `SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, CHARACTER_MAXIMUM_LENGTH, CHARACTER_OCTET_LENGTH,
            CHARACTER_SET_NAME, IS_NULLABLE, COLUMN_DEFAULT, NUMERIC_PRECISION, NUMERIC_SCALE, COLUMN_KEY
       FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (?)
      ORDER BY TABLE_NAME, ORDINAL_POSITION`,
    [tables],
  )
  for (const r of list) {
    let t = out.get(r.TABLE_NAME)
    if (!t) out.set(r.TABLE_NAME, (t = new Map()))
    const nullable = r.IS_NULLABLE === 'YES'
    t.set(r.COLUMN_NAME, {
      name: r.COLUMN_NAME,
      dataType: r.DATA_TYPE.toLowerCase(),
      columnType: r.COLUMN_TYPE,
      maxLength: toNum(r.CHARACTER_MAXIMUM_LENGTH),
      octetLength: toNum(r.CHARACTER_OCTET_LENGTH),
      charset: r.CHARACTER_SET_NAME,
      nullable,
      // MariaDB reports a NULL default as the string 'NULL'; NOT NULL columns without default as SQL NULL
      hasDefault: nullable || r.COLUMN_DEFAULT !== null,
      precision: toNum(r.NUMERIC_PRECISION),
      scale: toNum(r.NUMERIC_SCALE),
      primary: r.COLUMN_KEY === 'PRI',
    })
  }
  return out
}

function notSetUp(message: string, cause?: unknown): ConfigError {
  return new ConfigError('COREBOS_METADATA', message, {
    suggestion: 'Check that --corebos-dir / CBHS_DB_NAME points at a coreBOS database, then run `cbhs status`.',
    cause,
  })
}

async function buildStorage(pool: Pool, module: CrmModule): Promise<ModuleStorage> {
  const [tab] = await rows<{tabid: number}>(pool, 'SELECT tabid FROM vtiger_tab WHERE name = ?', [module]).catch((error) => {
    throw notSetUp(`The database has no vtiger_tab table; it does not look like coreBOS.`, error)
  })
  if (!tab) throw notSetUp(`Module ${module} is not installed in this coreBOS (no vtiger_tab row).`)
  const tabid = Number(tab.tabid)

  const [entity] = await rows<Record<string, unknown>>(pool, 'SELECT * FROM vtiger_entityname WHERE tabid = ?', [tabid])
  if (!entity) throw notSetUp(`Module ${module} has no vtiger_entityname row.`)
  const baseTable = String(entity.tablename)
  const denormalized = String(entity.isdenormalized ?? '0') === '1'
  const entityTable = denormalized ? String(entity.denormtable || baseTable) : 'vtiger_crmentity'

  const fieldRows = await rows<FieldRow>(
    pool,
    `SELECT fieldid, fieldname, fieldlabel, tablename, columnname, uitype, typeofdata, displaytype, presence, defaultvalue
       FROM vtiger_field WHERE tabid = ? AND presence IN (0, 2) ORDER BY fieldid`,
    [tabid],
  )
  // a denormalized module whose crmentity fields were not re-pointed still stores them in the base table
  const tableOf = (f: FieldRow): string => (denormalized && f.tablename === 'vtiger_crmentity' ? entityTable : f.tablename)

  const core = CORE_TABLES[module]
  const candidates = [...new Set([baseTable, entityTable, 'vtiger_crmentity', 'vtiger_crmobject', ...core.map(([t]) => t), ...fieldRows.map(tableOf)])]
  const cols = await tableColumns(pool, candidates)
  if (!cols.has(baseTable)) throw notSetUp(`The base table ${baseTable} of ${module} does not exist.`)
  if (!cols.has(entityTable)) throw notSetUp(`The entity table ${entityTable} of ${module} does not exist.`)

  // keys: the core map, else a column with a foreign key to the base table (installs before the 2022 FK drop),
  // else a single-column integer primary key of a table that is not a picklist table
  const fks = await rows<{TABLE_NAME: string; COLUMN_NAME: string}>(
    pool,
    `SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE
      WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (?) AND REFERENCED_TABLE_NAME IN (?)`,
    [candidates, [baseTable, 'vtiger_crmentity']],
  )
  const coreKey = new Map(core.map(([t, k]) => [t, k]))
  const baseKeyName = String(entity.entityidfield ?? '')
  const baseCols = cols.get(baseTable)!
  const baseKey = baseCols.has(baseKeyName) ? baseKeyName : coreKey.get(baseTable) ?? [...baseCols.values()].find((c) => c.primary)?.name
  if (!baseKey) throw notSetUp(`Cannot find the key column of ${baseTable}.`)

  const keyOf = (table: string): string | undefined => {
    const tc = cols.get(table)
    if (!tc) return undefined
    if (table === baseTable) return baseKey
    const known = coreKey.get(table)
    if (known && tc.has(known)) return known
    const fk = fks.find((r) => r.TABLE_NAME === table)
    if (fk) return fk.COLUMN_NAME
    const pk = [...tc.values()].filter((c) => c.primary)
    if (pk.length === 1 && /int$/.test(pk[0].dataType) && !tc.has('picklist_valueid')) return pk[0].name
    return undefined
  }

  const tables: Array<{name: string; key: string}> = [{name: baseTable, key: baseKey}]
  const ordered = [...core.map(([t]) => t), ...fieldRows.map(tableOf).filter((t) => !coreKey.has(t)).sort()]
  for (const t of ordered) {
    if (t === baseTable || t === entityTable || t === 'vtiger_crmentity' || tables.some((x) => x.name === t)) continue
    const key = keyOf(t)
    if (key) tables.push({name: t, key})
  }
  const moduleTables = new Set([...tables.map((t) => t.name), entityTable])

  // picklists (vtiger_<fieldname>.<fieldname>) and uitype-10 targets
  const picklistFields = fieldRows.filter((f) => ['15', '16', '33'].includes(String(f.uitype)))
  const picklistTables = await tableColumns(pool, picklistFields.map((f) => `vtiger_${f.fieldname}`))
  const relRows = await rows<{fieldid: number; relmodule: string}>(
    pool,
    'SELECT fieldid, relmodule FROM vtiger_fieldmodulerel WHERE module = ? ORDER BY fieldid, sequence, relmodule',
    [module],
  ).catch(() => [] as Array<{fieldid: number; relmodule: string}>)

  const fields = new Map<string, CrmFieldMeta>()
  for (const f of fieldRows) {
    const table = tableOf(f)
    if (!moduleTables.has(table)) continue // pseudo-fields such as campaignrelstatus
    const column = cols.get(table)?.get(f.columnname)
    if (!column) continue // a field row without its column: nothing to read or write
    if (fields.has(f.fieldname)) continue
    const [dataType = 'V', mandatoryFlag] = (f.typeofdata ?? 'V~O').split('~')
    const uitype = Number(f.uitype)
    const meta: CrmFieldMeta = {
      name: f.fieldname,
      label: f.fieldlabel ?? f.fieldname,
      table,
      column: f.columnname,
      uitype: Number.isFinite(uitype) ? uitype : 1,
      dataType,
      mandatory: mandatoryFlag === 'M',
      maxLength: column.dataType === 'varchar' || column.dataType === 'char' ? column.maxLength : null,
      sqlType: column.dataType,
      displaytype: Number(f.displaytype ?? 1),
      presence: Number(f.presence),
    }
    const pl = picklistTables.get(`vtiger_${f.fieldname}`)
    if (pl?.has(f.fieldname)) {
      const order = pl.has('sortorderid') ? 'sortorderid' : [...pl.values()].find((c) => c.primary)?.name ?? f.fieldname
      const values = await rows<{v: string}>(
        pool,
        `SELECT ${quoteIdent(f.fieldname)} AS v FROM ${quoteIdent(`vtiger_${f.fieldname}`)} ORDER BY ${quoteIdent(order)}`,
      )
      meta.picklistValues = values.map((r) => String(r.v))
    }
    if (meta.uitype === 10) {
      meta.referenceModules = relRows.filter((r) => Number(r.fieldid) === Number(f.fieldid)).map((r) => r.relmodule)
    }
    fields.set(f.fieldname, meta)
  }

  const entityColumns = cols.get(entityTable)!
  for (const e of ENTITY_FIELDS) {
    const column = entityColumns.get(e.column)
    if (fields.has(e.name) || !column) continue
    fields.set(e.name, {
      name: e.name,
      label: e.label,
      table: entityTable,
      column: e.column,
      uitype: e.uitype,
      dataType: e.dataType,
      mandatory: e.name === 'assigned_user_id',
      maxLength: null,
      sqlType: column.dataType,
      displaytype: e.displaytype,
      presence: 0,
    })
  }

  // control fields: present as columns (added by `cbhs setup` or the legacy integration) even when
  // their vtiger_field rows are missing or deactivated, because the sync always needs them
  const controlColumns = new Map<ControlField, ColumnInfo>()
  const controlRows = await rows<FieldRow>(
    pool,
    `SELECT fieldid, fieldname, fieldlabel, tablename, columnname, uitype, typeofdata, displaytype, presence, defaultvalue
       FROM vtiger_field WHERE tabid = ? AND fieldname IN (?)`,
    [tabid, CONTROL_FIELDS],
  )
  for (const name of CONTROL_FIELDS) {
    const column = baseCols.get(name)
    if (!column) continue
    controlColumns.set(name, column)
    const existing = fields.get(name)
    if (existing && existing.table === baseTable) continue
    const spec = CONTROL_SPEC[name]
    const row = controlRows.find((r) => r.fieldname === name)
    fields.set(name, {
      name,
      label: row?.fieldlabel ?? spec.label,
      table: baseTable,
      column: name,
      uitype: spec.uitype,
      dataType: spec.dataType,
      mandatory: false,
      maxLength: column.dataType === 'varchar' || column.dataType === 'char' ? column.maxLength : null,
      sqlType: column.dataType,
      displaytype: spec.displaytype,
      presence: row ? Number(row.presence) : 2,
    })
  }

  const numberField =
    [...fields.values()].find((f) => f.uitype === 4 && f.table === baseTable)?.name ?? [...fields.values()].find((f) => f.uitype === 4)?.name ?? NUMBER_FIELDS[module]

  const columns = new Map<string, Map<string, ColumnInfo>>()
  for (const t of tables) columns.set(t.name, cols.get(t.name)!)

  const defaults = new Map<string, string>()
  for (const f of [...fieldRows, ...controlRows.filter((r) => Number(r.presence) !== 1)]) {
    const d = f.defaultvalue ?? ''
    if (d !== '' && fields.has(f.fieldname) && !defaults.has(f.fieldname)) defaults.set(f.fieldname, d)
  }

  return {
    meta: {module, tabid, baseTable, baseKey, tables, entityTable, denormalized, fields, numberField},
    entityKey: denormalized ? baseKey : 'crmid',
    entityColumns,
    columns,
    controlColumns,
    hasCrmobject: cols.has('vtiger_crmobject'),
    hasConverted: module === 'Leads' && baseCols.has('converted'),
    defaults,
  }
}

const cache = new WeakMap<Pool, Map<CrmModule, Promise<ModuleStorage>>>()

/** Storage details of a module, read once per pool (call forgetModuleMeta after changing the schema). */
export function loadModuleStorage(pool: Pool, module: CrmModule): Promise<ModuleStorage> {
  let perPool = cache.get(pool)
  if (!perPool) cache.set(pool, (perPool = new Map()))
  let pending = perPool.get(module)
  if (!pending) {
    pending = buildStorage(pool, module)
    perPool.set(module, pending)
    // a failed read (database down, module missing) must not stick in the cache
    pending.catch(() => perPool!.delete(module))
  }
  return pending
}

export async function loadModuleMeta(pool: Pool, module: CrmModule): Promise<ModuleMeta> {
  return (await loadModuleStorage(pool, module)).meta
}

/** Drops cached metadata, e.g. after `cbhs setup` added the control columns or a module was denormalized. */
export function forgetModuleMeta(pool: Pool, module?: CrmModule): void {
  if (module) cache.get(pool)?.delete(module)
  else cache.delete(pool)
}
