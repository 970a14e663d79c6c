/**
 * `cbhs setup`, coreBOS side: checks that the database is a coreBOS one, creates the cbhs_* state
 * tables, installs the seven HubSpot control fields the way vtlib does (reference corebos.md §3),
 * adopting the columns the legacy integration left behind, and offers an index for incremental scans.
 *
 * Idempotent: everything is looked up first and only what is missing is written, so a second run
 * reports no change. With `dryRun` the same list is computed and nothing is written. Nothing is ever
 * dropped: existing columns keep their data, existing metadata rows are left as they are except for
 * re-activating a deactivated control field (presence 1 → 2), exactly as the legacy activateFields did.
 */
import {ConfigError} from '../errors.js'
import {CONTROL_FIELDS, CRM_MODULES, type ControlField, type CrmModule} from '../sync/types.js'
import {inTransaction, quoteIdent, type Pool, type PoolConnection} from './connection.js'
import {nextId} from './numbering.js'
import {setupCheckboxes, setupLeadConversion} from './setup-conventions.js'
import {setupMarketingFields} from './setup-marketing.js'

export type SetupChangeKind =
  | 'create-table'
  | 'add-column'
  | 'adopt-column'
  | 'add-block'
  | 'add-field'
  | 'reactivate-field'
  | 'add-field-permissions'
  | 'add-index'
  | 'set-schema-version'
  | 'fill-checkbox'
  | 'set-field-default'
  | 'add-lead-mapping'
  | 'add-map-field'

export interface SetupChange {
  kind: SetupChangeKind
  /** what is changed: a table, `table.column`, `Module.field`, `Module.BLOCK_LABEL` */
  target: string
  detail: string
}

export interface SetupOptions {
  dryRun: boolean
  /** the coreBOS database name, for information_schema lookups */
  database: string
  /**
   * Add an index for the keyset scans on (setype, modifiedtime, crmid). coreBOS ships none, so every
   * incremental read is a full scan; adding one to a big core table is a schema change on someone's
   * CRM, hence opt-in. Without it, the index is returned as a suggestion.
   */
  addModifiedTimeIndex?: boolean
  /** sync.optIn per module (absent: explicit): decides the default of Sync with HubSpot */
  optIn?: Partial<Record<CrmModule, 'explicit' | 'default-on'>>
  /** also install the HubSpot Marketing block on Contacts and Leads; the Original Source picklist takes these options */
  marketing?: {sourceOptions: ReadonlyArray<{value: string; label: string}>}
}

export interface SetupResult {
  /** what was changed (or, with dryRun, would be); empty when everything is already in place */
  changes: SetupChange[]
  /** optional changes not made (e.g. the modifiedtime index without addModifiedTimeIndex) */
  suggestions: SetupChange[]
  /** things setup found odd and left alone (a narrower control column, a field row on another table) */
  warnings: string[]
  /**
   * Records that already carry a hubspotid in a column that existed before this run (the legacy
   * integration's links), per module. Only for modules whose hubspotid column was already there.
   */
  legacyLinkedRecords: Partial<Record<CrmModule, number>>
}

/** Version of the cbhs_* table layout, kept in cbhs_meta; bump it with every layout change. */
export const CBHS_SCHEMA_VERSION = 2

export const HUBSPOT_BLOCK_LABEL = 'LBL_HUBSPOT_INFORMATION'

interface ControlFieldSpec {
  name: ControlField
  label: string
  sqlType: string
  uitype: number
  displaytype: number
  typeofdata: string
  masseditable: number
}

/** reference corebos.md §3, in the order the legacy activateFields() added them */
export const CONTROL_FIELD_SPECS: readonly ControlFieldSpec[] = [
  {name: 'hubspotid', label: 'HubSpot ID', sqlType: 'varchar(25)', uitype: 1, displaytype: 1, typeofdata: 'V~O', masseditable: 0},
  {name: 'hubspotcreated', label: 'Created by HubSpot', sqlType: 'varchar(3)', uitype: 56, displaytype: 1, typeofdata: 'C~O', masseditable: 1},
  {name: 'hubspotrecord', label: 'HubSpot Record', sqlType: 'varchar(250)', uitype: 17, displaytype: 4, typeofdata: 'V~O', masseditable: 1},
  {name: 'hubspotdeleted', label: 'Deleted in HubSpot', sqlType: 'varchar(3)', uitype: 56, displaytype: 1, typeofdata: 'C~O', masseditable: 1},
  {name: 'hubspotlastsync', label: 'HubSpot Last Sync', sqlType: 'datetime', uitype: 70, displaytype: 2, typeofdata: 'DT~O', masseditable: 1},
  {name: 'hubspotdeletedon', label: 'HubSpot Deleted On', sqlType: 'datetime', uitype: 70, displaytype: 2, typeofdata: 'DT~O', masseditable: 1},
  {name: 'hubspotsyncwith', label: 'Sync with HubSpot', sqlType: 'varchar(3)', uitype: 56, displaytype: 1, typeofdata: 'C~O', masseditable: 1},
]
if (CONTROL_FIELD_SPECS.map((f) => f.name).join() !== CONTROL_FIELDS.join()) throw new Error('CONTROL_FIELD_SPECS out of step with CONTROL_FIELDS')

// ---------------------------------------------------------------------------------------------
// cbhs_* tables
// ---------------------------------------------------------------------------------------------

/**
 * Our own tables are utf8mb4 (snapshots and messages keep any character, unlike the utf8mb3 coreBOS
 * tables); identifiers are ascii_bin so keys stay small and compare exactly. Every timestamp of ours
 * is a UTC DATETIME(3): never the install's timezone, so changing $default_timezone cannot shift
 * retry times or run history. Watermark values are strings because push and pull keep different
 * forms (naive coreBOS datetime vs HubSpot ISO instant).
 */
interface TableDef {
  name: string
  columns: Array<[name: string, ddl: string]>
  keys: string[]
}

const ID = 'CHARACTER SET ascii COLLATE ascii_bin'

export const CBHS_TABLES: readonly TableDef[] = [
  {
    name: 'cbhs_meta',
    columns: [
      ['meta_key', `VARCHAR(64) ${ID} NOT NULL`],
      ['meta_value', 'TEXT NULL'],
      ['updated_at', 'DATETIME(3) NOT NULL'],
    ],
    keys: ['PRIMARY KEY (`meta_key`)'],
  },
  {
    name: 'cbhs_watermark',
    columns: [
      ['module', `VARCHAR(32) ${ID} NOT NULL`],
      ['direction', `VARCHAR(8) ${ID} NOT NULL`],
      ['value', 'VARCHAR(64) NULL'],
      // `cursor` is a reserved word in MySQL
      ['cursor_value', 'TEXT NULL'],
      ['updated_at', 'DATETIME(3) NULL'],
      ['last_run_id', 'BIGINT UNSIGNED NULL'],
      ['last_outcome', `VARCHAR(16) ${ID} NULL`],
      ['last_outcome_at', 'DATETIME(3) NULL'],
      ['last_success_at', 'DATETIME(3) NULL'],
      ['last_message', 'TEXT NULL'],
    ],
    keys: ['PRIMARY KEY (`module`, `direction`)'],
  },
  {
    name: 'cbhs_link',
    columns: [
      ['module', `VARCHAR(32) ${ID} NOT NULL`],
      ['crmid', 'INT NOT NULL'],
      ['object_type', `VARCHAR(16) ${ID} NOT NULL`],
      ['hubspot_id', `VARCHAR(64) ${ID} NOT NULL`],
      // JSON text; LONGTEXT rather than JSON so MySQL and MariaDB store it the same way
      ['snapshot', 'LONGTEXT NOT NULL'],
      ['associations', 'LONGTEXT NOT NULL'],
      ['archived', 'TINYINT(1) NOT NULL DEFAULT 0'],
      ['synced_at', 'DATETIME(3) NOT NULL'],
      ['created_at', 'DATETIME(3) NOT NULL'],
    ],
    keys: [
      'PRIMARY KEY (`module`, `crmid`)',
      // one HubSpot object belongs to one coreBOS record: a Lead and a Contact never share a contact
      'UNIQUE KEY `cbhs_link_object` (`object_type`, `hubspot_id`)',
      'KEY `cbhs_link_archived` (`module`, `archived`, `crmid`)',
    ],
  },
  {
    // the crmid write-backs a full pull owes the objects it created records for (src/sync/carrier-queue.ts)
    name: 'cbhs_carrier_queue',
    columns: [
      ['object_type', `VARCHAR(16) ${ID} NOT NULL`],
      ['hubspot_id', `VARCHAR(64) ${ID} NOT NULL`],
      ['queued_at', 'DATETIME(3) NOT NULL'],
    ],
    keys: ['PRIMARY KEY (`object_type`, `hubspot_id`)'],
  },
  {
    name: 'cbhs_run',
    columns: [
      ['id', 'BIGINT UNSIGNED NOT NULL AUTO_INCREMENT'],
      ['command', `VARCHAR(64) ${ID} NOT NULL`],
      ['started_at', 'DATETIME(3) NOT NULL'],
      ['finished_at', 'DATETIME(3) NULL'],
      ['exit_code', 'INT NULL'],
      ['dry_run', 'TINYINT(1) NOT NULL DEFAULT 0'],
      ['counts', 'LONGTEXT NULL'],
      ['api_calls', 'INT NOT NULL DEFAULT 0'],
      ['message', 'TEXT NULL'],
      ['host', 'VARCHAR(255) NULL'],
      ['pid', 'INT NULL'],
      ['lock_connection_id', 'BIGINT UNSIGNED NULL'],
    ],
    keys: ['PRIMARY KEY (`id`)', 'KEY `cbhs_run_command` (`command`, `exit_code`, `id`)', 'KEY `cbhs_run_open` (`finished_at`)'],
  },
  {
    name: 'cbhs_failure',
    columns: [
      ['id', 'BIGINT UNSIGNED NOT NULL AUTO_INCREMENT'],
      ['module', `VARCHAR(32) ${ID} NOT NULL`],
      ['direction', `VARCHAR(8) ${ID} NOT NULL`],
      ['crmid', 'INT NULL'],
      ['hubspot_id', `VARCHAR(64) ${ID} NULL`],
      // 'crm:<crmid>' or 'hs:<hubspot id>': the record's identity when the entry was opened
      ['record_key', `VARCHAR(80) ${ID} NOT NULL`],
      // 1 while open, NULL once resolved: UNIQUE ignores NULLs, so only open entries are unique
      ['open_flag', 'TINYINT NULL DEFAULT 1'],
      ['category', 'VARCHAR(64) NULL'],
      ['message', 'TEXT NOT NULL'],
      ['attempts', 'INT NOT NULL DEFAULT 1'],
      ['first_failed_at', 'DATETIME(3) NOT NULL'],
      ['last_failed_at', 'DATETIME(3) NOT NULL'],
      ['next_retry_at', 'DATETIME(3) NULL'],
      ['given_up', 'TINYINT(1) NOT NULL DEFAULT 0'],
      ['resolved_at', 'DATETIME(3) NULL'],
      ['resolution', `VARCHAR(16) ${ID} NULL`],
    ],
    keys: [
      'PRIMARY KEY (`id`)',
      'UNIQUE KEY `cbhs_failure_open` (`module`, `direction`, `record_key`, `open_flag`)',
      'KEY `cbhs_failure_due` (`module`, `direction`, `open_flag`, `given_up`, `next_retry_at`)',
      'KEY `cbhs_failure_crmid` (`crmid`)',
      'KEY `cbhs_failure_hubspot` (`hubspot_id`)',
      'KEY `cbhs_failure_last` (`last_failed_at`)',
    ],
  },
]

function createTableSql(table: TableDef): string {
  const lines = [...table.columns.map(([name, ddl]) => `${quoteIdent(name)} ${ddl}`), ...table.keys]
  return (
    `CREATE TABLE IF NOT EXISTS ${quoteIdent(table.name)} (\n  ${lines.join(',\n  ')}\n) ` +
    'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci'
  )
}

// ---------------------------------------------------------------------------------------------
// inspection
// ---------------------------------------------------------------------------------------------

/** tables setup reads or writes; without any of them this is not a coreBOS database we can set up */
const REQUIRED_TABLES = [
  'vtiger_tab',
  'vtiger_field',
  'vtiger_field_seq',
  'vtiger_entityname',
  'vtiger_crmentity',
  'vtiger_blocks',
  'vtiger_blocks_seq',
  'vtiger_def_org_field',
  'vtiger_profile2field',
  'vtiger_profile',
]

export interface CoreBosModuleInfo {
  module: CrmModule
  tabid: number
  baseTable: string
  /** key column of the base table (vtiger_entityname.entityidfield: contactid, accountid …) */
  baseKey: string
  /** vtiger_crmentity, or the base table when the module is denormalized */
  entityTable: string
  denormalized: boolean
}

interface Inspection {
  modules: Map<CrmModule, CoreBosModuleInfo>
  /** lower-cased table name → (lower-cased column name → COLUMN_TYPE) */
  columns: Map<string, Map<string, string>>
  tables: Set<string>
}

/**
 * Proves this is a coreBOS database and returns the four modules' storage. Throws
 * ConfigError NOT_COREBOS naming every missing table and module.
 */
export async function inspectCoreBos(pool: Pool, database: string): Promise<CoreBosModuleInfo[]> {
  return [...(await inspect(pool, database)).modules.values()]
}

async function inspect(pool: Pool, database: string): Promise<Inspection> {
  const [tableRows] = await pool.query('SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?', [database])
  const tables = new Set((tableRows as Array<{name: string}>).map((r) => r.name.toLowerCase()))
  const missingTables = REQUIRED_TABLES.filter((t) => !tables.has(t))
  const missingModules: string[] = []
  const missingBaseTables: string[] = []
  const modules = new Map<CrmModule, CoreBosModuleInfo>()
  if (!missingTables.includes('vtiger_tab') && !missingTables.includes('vtiger_entityname')) {
    const [rows] = await pool.query(
      `SELECT t.tabid, t.name, e.modulename, e.tablename, e.entityidfield, e.isdenormalized, e.denormtable
         FROM vtiger_tab t LEFT JOIN vtiger_entityname e ON e.tabid = t.tabid
        WHERE t.name IN (?)`,
      [CRM_MODULES],
    )
    const byName = new Map((rows as Array<Record<string, string | number | null>>).map((r) => [String(r.name), r]))
    for (const module of CRM_MODULES) {
      const row = byName.get(module)
      if (!row) {
        missingModules.push(`${module} (vtiger_tab)`)
        continue
      }
      if (row.modulename === null || !row.tablename) {
        missingModules.push(`${module} (vtiger_entityname)`)
        continue
      }
      const baseTable = String(row.tablename)
      if (!tables.has(baseTable.toLowerCase())) {
        missingBaseTables.push(baseTable)
        continue
      }
      const denormalized = String(row.isdenormalized ?? '0') === '1'
      const entityTable = denormalized && row.denormtable ? String(row.denormtable) : 'vtiger_crmentity'
      modules.set(module, {
        module,
        tabid: Number(row.tabid),
        baseTable,
        baseKey: String(row.entityidfield),
        entityTable,
        denormalized,
      })
    }
  }
  if (missingTables.length > 0 || missingModules.length > 0 || missingBaseTables.length > 0) {
    const parts: string[] = []
    if (missingTables.length > 0) parts.push(`missing tables ${missingTables.join(', ')}`)
    if (missingModules.length > 0) parts.push(`missing modules ${missingModules.join(', ')}`)
    if (missingBaseTables.length > 0) parts.push(`missing module tables ${missingBaseTables.join(', ')}`)
    throw new ConfigError('NOT_COREBOS', `Database '${database}' is not a coreBOS database: ${parts.join('; ')}.`, {
      suggestion:
        'Point cbhs at the coreBOS database (CBHS_DB_NAME, or --corebos-dir with the install folder holding config.inc.php), then run `cbhs setup` again.',
      data: {missingTables, missingModules, missingBaseTables},
    })
  }
  const wanted = [...new Set([...[...modules.values()].map((m) => m.baseTable), ...CBHS_TABLES.map((t) => t.name)])]
  const [colRows] = await pool.query(
    `SELECT TABLE_NAME AS t, COLUMN_NAME AS c, COLUMN_TYPE AS type
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME IN (?)`,
    [database, wanted],
  )
  const columns = new Map<string, Map<string, string>>()
  for (const r of colRows as Array<{t: string; c: string; type: string}>) {
    const key = r.t.toLowerCase()
    if (!columns.has(key)) columns.set(key, new Map())
    columns.get(key)!.set(r.c.toLowerCase(), String(r.type).toLowerCase())
  }
  return {modules, columns, tables}
}

// ---------------------------------------------------------------------------------------------
// setup
// ---------------------------------------------------------------------------------------------

export async function setupCoreBos(pool: Pool, options: SetupOptions): Promise<SetupResult> {
  const found = await inspect(pool, options.database)
  const result: SetupResult = {changes: [], suggestions: [], warnings: [], legacyLinkedRecords: {}}
  await setupStateTables(pool, found, options, result)
  for (const info of found.modules.values()) {
    await setupControlFields(pool, found, info, options, result)
    await setupCheckboxes(pool, info, found.columns.get(info.baseTable.toLowerCase()) ?? new Map(), options, result)
  }
  await setupLeadConversion(pool, found.modules, found.tables.has('vtiger_convertleadmapping'), options, result)
  if (options.marketing) result.changes.push(...(await setupMarketingFields(pool, {dryRun: options.dryRun, database: options.database, sourceOptions: options.marketing.sourceOptions})))
  await setupScanIndexes(pool, found, options, result)
  await setupHubSpotIdIndexes(pool, found, options, result)
  return result
}

async function setupStateTables(pool: Pool, found: Inspection, options: SetupOptions, result: SetupResult): Promise<void> {
  for (const table of CBHS_TABLES) {
    const existing = found.columns.get(table.name)
    if (!existing) {
      result.changes.push({kind: 'create-table', target: table.name, detail: `InnoDB utf8mb4, ${table.columns.length} columns`})
      if (!options.dryRun) await pool.query(createTableSql(table))
      continue
    }
    // a table from an older cbhs: add what later versions added (never drop or alter anything)
    const missing = table.columns.filter(([name]) => !existing.has(name.toLowerCase()))
    for (const [name, ddl] of missing) {
      result.changes.push({kind: 'add-column', target: `${table.name}.${name}`, detail: ddl})
    }
    if (missing.length > 0 && !options.dryRun) {
      await pool.query(
        `ALTER TABLE ${quoteIdent(table.name)} ${missing.map(([name, ddl]) => `ADD COLUMN ${quoteIdent(name)} ${ddl}`).join(', ')}`,
      )
    }
  }

  let current: number | null = null
  if (found.columns.has('cbhs_meta')) {
    const [rows] = await pool.query("SELECT meta_value FROM cbhs_meta WHERE meta_key = 'schema_version'")
    const row = (rows as Array<{meta_value: string | null}>)[0]
    current = row ? Number(row.meta_value) : null
  }
  if (current !== null && current > CBHS_SCHEMA_VERSION) {
    throw new ConfigError(
      'STATE_SCHEMA_NEWER',
      `The cbhs tables were set up by a newer cbhs (schema ${current}; this cbhs knows ${CBHS_SCHEMA_VERSION}).`,
      {suggestion: 'Upgrade cbhs to the version that ran `cbhs setup` on this database.'},
    )
  }
  if (current !== CBHS_SCHEMA_VERSION) {
    result.changes.push({
      kind: 'set-schema-version',
      target: 'cbhs_meta.schema_version',
      detail: `${current ?? 'none'} → ${CBHS_SCHEMA_VERSION}`,
    })
    if (!options.dryRun) {
      await pool.query(
        `INSERT INTO cbhs_meta (meta_key, meta_value, updated_at) VALUES ('schema_version', ?, UTC_TIMESTAMP(3))
         ON DUPLICATE KEY UPDATE meta_value = VALUES(meta_value), updated_at = VALUES(updated_at)`,
        [String(CBHS_SCHEMA_VERSION)],
      )
    }
  }
}

interface FieldRow {
  fieldid: number
  fieldname: string
  presence: number
  tablename: string | null
  columnname: string | null
}

/** Column types that hold at least what the spec asks for (a wider varchar is fine). */
function typeFits(existing: string, wanted: string): boolean {
  const e = existing.toLowerCase()
  const w = wanted.toLowerCase()
  if (e === w) return true
  const ev = /^(?:var)?char\((\d+)\)/.exec(e)
  const wv = /^varchar\((\d+)\)/.exec(w)
  if (ev && wv) return Number(ev[1]) >= Number(wv[1])
  if (w === 'datetime') return e.startsWith('datetime') || e.startsWith('timestamp')
  if (wv) return /text$/.test(e)
  return false
}

async function setupControlFields(
  pool: Pool,
  found: Inspection,
  info: CoreBosModuleInfo,
  options: SetupOptions,
  result: SetupResult,
): Promise<void> {
  const {module, tabid, baseTable} = info
  const columns = found.columns.get(baseTable.toLowerCase()) ?? new Map<string, string>()
  const names = CONTROL_FIELD_SPECS.map((s) => s.name)

  const [blockRows] = await pool.query('SELECT blockid FROM vtiger_blocks WHERE tabid = ? AND blocklabel = ? ORDER BY blockid', [
    tabid,
    HUBSPOT_BLOCK_LABEL,
  ])
  const existingBlockId = (blockRows as Array<{blockid: number}>)[0]?.blockid ?? null

  const [fieldRowsRaw] = await pool.query(
    'SELECT fieldid, fieldname, presence, tablename, columnname FROM vtiger_field WHERE tabid = ? AND fieldname IN (?) ORDER BY fieldid',
    [tabid, names],
  )
  const fieldRows = new Map<string, FieldRow>()
  for (const row of fieldRowsRaw as FieldRow[]) {
    const key = row.fieldname.toLowerCase()
    if (!fieldRows.has(key)) fieldRows.set(key, row)
  }
  const fieldIds = [...fieldRows.values()].map((f) => f.fieldid)
  const [profileRows] = await pool.query('SELECT profileid FROM vtiger_profile ORDER BY profileid')
  const profileIds = (profileRows as Array<{profileid: number}>).map((p) => Number(p.profileid))
  const defOrg = new Set<number>()
  const profile2field = new Set<string>()
  if (fieldIds.length > 0) {
    const [d] = await pool.query('SELECT fieldid FROM vtiger_def_org_field WHERE fieldid IN (?)', [fieldIds])
    for (const r of d as Array<{fieldid: number}>) defOrg.add(Number(r.fieldid))
    const [p] = await pool.query('SELECT profileid, fieldid FROM vtiger_profile2field WHERE fieldid IN (?)', [fieldIds])
    for (const r of p as Array<{profileid: number; fieldid: number}>) profile2field.add(`${r.profileid}:${r.fieldid}`)
  }

  // what to do, in vtlib's order: columns, block, fields (each with its permission rows)
  const missingColumns = CONTROL_FIELD_SPECS.filter((s) => !columns.has(s.name))
  for (const spec of missingColumns) {
    result.changes.push({kind: 'add-column', target: `${baseTable}.${spec.name}`, detail: `${spec.sqlType} NULL, no default`})
  }
  for (const spec of CONTROL_FIELD_SPECS) {
    const type = columns.get(spec.name)
    if (type === undefined) continue
    if (!typeFits(type, spec.sqlType)) {
      result.warnings.push(`${baseTable}.${spec.name} is ${type}, not ${spec.sqlType}; cbhs keeps it as it is and writes values that fit.`)
    }
    const row = fieldRows.get(spec.name)
    if (!row || Number(row.presence) === 1) {
      result.changes.push({
        kind: 'adopt-column',
        target: `${baseTable}.${spec.name}`,
        detail: 'existing column and its values kept (left by the legacy integration)',
      })
    }
  }
  if (columns.has('hubspotid')) {
    const [rows] = await pool.query(
      `SELECT COUNT(*) AS n FROM ${quoteIdent(baseTable)} WHERE hubspotid IS NOT NULL AND hubspotid <> '' AND hubspotid <> '0'`,
    )
    result.legacyLinkedRecords[module] = Number((rows as Array<{n: number | string}>)[0].n)
  }

  const needBlock = existingBlockId === null && CONTROL_FIELD_SPECS.some((s) => !fieldRows.has(s.name))
  if (needBlock) {
    result.changes.push({kind: 'add-block', target: `${module}.${HUBSPOT_BLOCK_LABEL}`, detail: 'vtiger_blocks row after the last block'})
  }
  const toInsert: ControlFieldSpec[] = []
  const toReactivate: FieldRow[] = []
  const permissionRows: Array<{fieldid: number; defOrg: boolean; profiles: number[]}> = []
  for (const spec of CONTROL_FIELD_SPECS) {
    const row = fieldRows.get(spec.name)
    if (!row) {
      toInsert.push(spec)
      result.changes.push({
        kind: 'add-field',
        target: `${module}.${spec.name}`,
        detail:
          `vtiger_field '${spec.label}' (uitype ${spec.uitype}, ${spec.typeofdata}, displaytype ${spec.displaytype}) ` +
          `with vtiger_def_org_field and vtiger_profile2field rows for ${profileIds.length} profiles`,
      })
      continue
    }
    if (
      (row.tablename ?? '').toLowerCase() !== baseTable.toLowerCase() ||
      (row.columnname ?? '').toLowerCase() !== spec.name
    ) {
      result.warnings.push(
        `${module}.${spec.name}: vtiger_field ${row.fieldid} points at ${row.tablename}.${row.columnname}, not ${baseTable}.${spec.name}; left as it is.`,
      )
    }
    if (Number(row.presence) === 1) {
      toReactivate.push(row)
      result.changes.push({kind: 'reactivate-field', target: `${module}.${spec.name}`, detail: `vtiger_field ${row.fieldid} presence 1 → 2`})
    }
    const lacksDefOrg = !defOrg.has(Number(row.fieldid))
    const lacksProfiles = profileIds.filter((p) => !profile2field.has(`${p}:${row.fieldid}`))
    if (lacksDefOrg || lacksProfiles.length > 0) {
      permissionRows.push({fieldid: Number(row.fieldid), defOrg: lacksDefOrg, profiles: lacksProfiles})
      const what = [
        ...(lacksDefOrg ? ['vtiger_def_org_field row'] : []),
        ...(lacksProfiles.length > 0 ? [`vtiger_profile2field rows for profiles ${lacksProfiles.join(', ')}`] : []),
      ]
      result.changes.push({kind: 'add-field-permissions', target: `${module}.${spec.name}`, detail: what.join('; ')})
    }
  }
  if (options.dryRun) return

  // DDL commits implicitly, so the columns come first: metadata pointing at a missing column would
  // break coreBOS screens, while a column without metadata is harmless until the next run adds it.
  if (missingColumns.length > 0) {
    await pool.query(
      `ALTER TABLE ${quoteIdent(baseTable)} ${missingColumns.map((s) => `ADD COLUMN ${quoteIdent(s.name)} ${s.sqlType} NULL`).join(', ')}`,
    )
  }
  if (!needBlock && toInsert.length === 0 && toReactivate.length === 0 && permissionRows.length === 0) return
  await inTransaction(pool, async (conn) => {
    let blockId = existingBlockId
    if (blockId === null && toInsert.length > 0) blockId = await insertBlock(conn, tabid)
    for (const spec of toInsert) {
      const fieldid = await insertFieldRow(conn, {tabid, table: baseTable, blockId: blockId!, ...spec})
      permissionRows.push({fieldid, defOrg: true, profiles: profileIds})
    }
    if (toReactivate.length > 0) {
      await conn.query('UPDATE vtiger_field SET presence = 2 WHERE fieldid IN (?) AND presence = 1', [toReactivate.map((r) => r.fieldid)])
    }
    // vtlib's Vtiger_Profile::initForField: visible to everyone, not read-only
    for (const p of permissionRows) {
      if (p.defOrg) {
        await conn.query('INSERT INTO vtiger_def_org_field (tabid, fieldid, visible, readonly) VALUES (?, ?, 0, 0)', [tabid, p.fieldid])
      }
      if (p.profiles.length > 0) {
        await conn.query('INSERT INTO vtiger_profile2field (profileid, tabid, fieldid, visible, readonly, summary) VALUES ?', [
          p.profiles.map((profileid) => [profileid, tabid, p.fieldid, 0, 0, 'B']),
        ])
      }
    }
  })
}

/**
 * vtlib Vtiger_Field::save: id from vtiger_field_seq, sequence = MAX(sequence) in the block + 1,
 * quickcreate 1 (so no quickcreatesequence). The permission rows come separately.
 */
export async function insertFieldRow(
  conn: PoolConnection,
  f: {tabid: number; table: string; blockId: number; name: string; label: string; uitype: number; displaytype: number; typeofdata: string; masseditable: number},
): Promise<number> {
  const fieldid = await nextId(conn, 'vtiger_field_seq', 'vtiger_field', 'fieldid')
  const [seqRows] = await conn.query('SELECT COALESCE(MAX(sequence), 0) + 1 AS s FROM vtiger_field WHERE tabid = ? AND block = ?', [f.tabid, f.blockId])
  const sequence = Number((seqRows as Array<{s: number | string}>)[0].s)
  await conn.query(
    `INSERT INTO vtiger_field (tabid, fieldid, columnname, tablename, generatedtype, uitype, fieldname, fieldlabel,
       readonly, presence, defaultvalue, maximumlength, sequence, block, displaytype, typeofdata, quickcreate,
       quickcreatesequence, info_type, helpinfo, masseditable)
     VALUES (?, ?, ?, ?, 1, ?, ?, ?, 1, 2, '', 100, ?, ?, ?, ?, 1, NULL, 'BAS', '', ?)`,
    [f.tabid, fieldid, f.name, f.table, String(f.uitype), f.name, f.label, sequence, f.blockId, f.displaytype, f.typeofdata, f.masseditable],
  )
  return fieldid
}

/** vtlib Vtiger_Block::__create: id from vtiger_blocks_seq, sequence after the module's last block. */
export async function insertBlock(conn: PoolConnection, tabid: number, label = HUBSPOT_BLOCK_LABEL): Promise<number> {
  const blockid = await nextId(conn, 'vtiger_blocks_seq', 'vtiger_blocks', 'blockid')
  const [rows] = await conn.query('SELECT COALESCE(MAX(sequence), 0) + 1 AS s FROM vtiger_blocks WHERE tabid = ?', [tabid])
  const sequence = Number((rows as Array<{s: number | string}>)[0].s)
  await conn.query(
    `INSERT INTO vtiger_blocks (blockid, tabid, blocklabel, sequence, show_title, visible, create_view, edit_view, detail_view)
     VALUES (?, ?, ?, ?, 0, 0, 0, 0, 0)`,
    [blockid, tabid, label, sequence],
  )
  return blockid
}

async function setupScanIndexes(pool: Pool, found: Inspection, options: SetupOptions, result: SetupResult): Promise<void> {
  // one index per entity table: vtiger_crmentity serves all non-denormalized modules at once
  const wanted = new Map<string, {columns: string[]; name: string}>()
  for (const info of found.modules.values()) {
    if (info.entityTable.toLowerCase() === 'vtiger_crmentity') {
      wanted.set('vtiger_crmentity', {columns: ['setype', 'modifiedtime', 'crmid'], name: 'cbhs_setype_modifiedtime'})
    } else {
      wanted.set(info.entityTable, {columns: ['modifiedtime', 'crmid'], name: 'cbhs_modifiedtime'})
    }
  }
  for (const [table, index] of wanted) {
    const [rows] = await pool.query(
      `SELECT INDEX_NAME AS name, SEQ_IN_INDEX AS seq, COLUMN_NAME AS col FROM information_schema.STATISTICS
        WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY INDEX_NAME, SEQ_IN_INDEX`,
      [options.database, table],
    )
    const byIndex = new Map<string, string[]>()
    for (const r of rows as Array<{name: string; col: string}>) {
      if (!byIndex.has(r.name)) byIndex.set(r.name, [])
      byIndex.get(r.name)!.push(r.col.toLowerCase())
    }
    // any index leading with the scan's equality + range columns serves the keyset reads
    const lead = index.columns.slice(0, index.columns.length - 1)
    const present = [...byIndex.values()].some((cols) => lead.every((c, i) => cols[i] === c))
    if (present) continue
    const change: SetupChange = {
      kind: 'add-index',
      target: `${table}.${index.name}`,
      detail: `(${index.columns.join(', ')}) so incremental scans read only changed rows instead of the whole table`,
    }
    if (!options.addModifiedTimeIndex) {
      result.suggestions.push(change)
      continue
    }
    result.changes.push(change)
    if (!options.dryRun) {
      // online build: coreBOS keeps writing to the table while the index is made
      await pool.query(
        `ALTER TABLE ${quoteIdent(table)} ADD INDEX ${quoteIdent(index.name)} (${index.columns.map(quoteIdent).join(', ')}), ALGORITHM=INPLACE, LOCK=NONE`,
      )
    }
  }
}

/**
 * An index on each base table's hubspotid (a column cbhs owns): pull looks records up by it for
 * every object it has no link for, which would otherwise scan the whole table each time.
 */
async function setupHubSpotIdIndexes(pool: Pool, found: Inspection, options: SetupOptions, result: SetupResult): Promise<void> {
  for (const info of found.modules.values()) {
    const [rows] = await pool.query(
      `SELECT INDEX_NAME AS name, COLUMN_NAME AS col, SEQ_IN_INDEX AS seq FROM information_schema.STATISTICS
        WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`,
      [options.database, info.baseTable],
    )
    const present = (rows as Array<{name: string; col: string; seq: number}>).some((r) => r.col.toLowerCase() === 'hubspotid' && Number(r.seq) === 1)
    if (present) continue
    result.changes.push({kind: 'add-index', target: `${info.baseTable}.cbhs_hubspotid`, detail: '(hubspotid) so records are found by their HubSpot id without a full scan'})
    if (!options.dryRun) {
      await pool.query(`ALTER TABLE ${quoteIdent(info.baseTable)} ADD INDEX cbhs_hubspotid (hubspotid), ALGORITHM=INPLACE, LOCK=NONE`)
    }
  }
}
