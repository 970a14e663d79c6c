/**
 * Test helpers that put a fresh coreBOS schema into the states real installs are in: HubSpot control
 * columns present, a module denormalized, AutoNumberPrefix numbering. Each does what coreBOS itself
 * does (vtlib ALTERs, denormalize.php, the 2022 changesets), by plain SQL.
 */
import type {CrmModule} from '../../src/sync/types.js'
import type {TestDatabase} from './db.js'

/** The tables coreBOS INNER JOINs for a module's list view (CRMEntity::$tab_name_index), as an oracle independent of cbhs. */
export const LIST_VIEW_TABLES: Readonly<Record<CrmModule, ReadonlyArray<readonly [string, string]>>> = {
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

export const BASE_TABLE: Readonly<Record<CrmModule, string>> = {
  Contacts: 'vtiger_contactdetails',
  Accounts: 'vtiger_account',
  Leads: 'vtiger_leaddetails',
  Potentials: 'vtiger_potential',
}

const CONTROL_COLUMNS = [
  ['hubspotid', 'varchar(25)', 1, 1, 'V~O', 'HubSpot ID'],
  ['hubspotcreated', 'varchar(3)', 56, 1, 'C~O', 'Created by HubSpot'],
  ['hubspotrecord', 'varchar(250)', 17, 4, 'V~O', 'HubSpot Record'],
  ['hubspotdeleted', 'varchar(3)', 56, 1, 'C~O', 'Deleted in HubSpot'],
  ['hubspotlastsync', 'datetime', 70, 2, 'DT~O', 'HubSpot Last Sync'],
  ['hubspotdeletedon', 'datetime', 70, 2, 'DT~O', 'HubSpot Deleted On'],
  ['hubspotsyncwith', 'varchar(3)', 56, 1, 'C~O', 'Sync with HubSpot'],
] as const

/**
 * Adds the seven control columns to the base tables, as vtlib's ALTER TABLE … ADD COLUMN does
 * (nullable, no default). `withFields` also registers vtiger_field rows as activateFields would.
 */
export async function addControlColumns(
  db: TestDatabase,
  modules: readonly CrmModule[] = ['Contacts', 'Accounts', 'Leads', 'Potentials'],
  options: {withFields?: boolean} = {},
): Promise<void> {
  for (const module of modules) {
    const table = BASE_TABLE[module]
    await db.query(`ALTER TABLE \`${table}\` ${CONTROL_COLUMNS.map(([c, t]) => `ADD COLUMN IF NOT EXISTS \`${c}\` ${t}`).join(', ')}`)
    if (!options.withFields) continue
    const [tab] = await db.query<{tabid: number}>('SELECT tabid FROM vtiger_tab WHERE name = ?', [module])
    for (const [c, , uitype, displaytype, typeofdata, label] of CONTROL_COLUMNS) {
      await db.query(
        `INSERT INTO vtiger_field (tabid, columnname, tablename, generatedtype, uitype, fieldname, fieldlabel, readonly, presence,
                                   maximumlength, sequence, block, displaytype, typeofdata, quickcreate, masseditable)
         VALUES (?, ?, ?, 1, ?, ?, ?, 1, 2, 100, 1, NULL, ?, ?, 1, 0)`,
        [tab.tabid, c, table, String(uitype), c, label, displaytype, typeofdata],
      )
    }
  }
}

/**
 * What Settings > Denormalize does (include/integrations/denormalize/denormalize.php): crmentity
 * columns added to the base table and filled, fields re-pointed, vtiger_entityname flagged, the
 * module's vtiger_crmentity rows removed. The base table's FK to vtiger_crmentity goes first.
 */
export async function denormalizeModule(db: TestDatabase, module: CrmModule): Promise<void> {
  const table = BASE_TABLE[module]
  const key = LIST_VIEW_TABLES[module][0][1]
  const fks = await db.query<{CONSTRAINT_NAME: string}>(
    `SELECT CONSTRAINT_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS
      WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = ? AND REFERENCED_TABLE_NAME = 'vtiger_crmentity'`,
    [table],
  )
  for (const fk of fks) await db.query(`ALTER TABLE \`${table}\` DROP FOREIGN KEY \`${fk.CONSTRAINT_NAME}\``)
  const [hasDescription] = await db.query<{n: number}>(
    `SELECT COUNT(*) AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = 'description'`,
    [table],
  )
  const add = [
    'ADD COLUMN crmid int NOT NULL DEFAULT 0',
    'ADD COLUMN cbuuid char(40) NULL DEFAULT NULL',
    'ADD COLUMN smcreatorid int NOT NULL DEFAULT 0',
    'ADD COLUMN smownerid int NOT NULL DEFAULT 0',
    'ADD COLUMN modifiedby int NOT NULL DEFAULT 0',
    'ADD COLUMN createdtime datetime NULL DEFAULT NULL',
    'ADD COLUMN modifiedtime datetime NULL DEFAULT NULL',
    'ADD COLUMN viewedtime datetime NULL DEFAULT NULL',
    'ADD COLUMN setype varchar(100) NULL DEFAULT NULL',
    ...(Number(hasDescription.n) === 0 ? ['ADD COLUMN description text NULL DEFAULT NULL'] : []),
    'ADD COLUMN deleted int(1) NOT NULL DEFAULT 0',
    'ADD INDEX (crmid)',
    'ADD INDEX (cbuuid)',
    'ADD INDEX (smcreatorid)',
    'ADD INDEX (modifiedby)',
    'ADD INDEX (deleted)',
    'ADD INDEX (smownerid, deleted)',
  ]
  await db.query(`ALTER TABLE \`${table}\` ${add.join(', ')}`)
  await db.query(
    `UPDATE \`${table}\` b INNER JOIN vtiger_crmentity e ON e.crmid = b.\`${key}\`
        SET b.crmid = e.crmid, b.cbuuid = e.cbuuid, b.smcreatorid = e.smcreatorid, b.smownerid = e.smownerid,
            b.modifiedby = e.modifiedby, b.createdtime = e.createdtime, b.modifiedtime = e.modifiedtime,
            b.viewedtime = e.viewedtime, b.setype = e.setype, b.description = e.description, b.deleted = e.deleted`,
  )
  const [tab] = await db.query<{tabid: number}>('SELECT tabid FROM vtiger_tab WHERE name = ?', [module])
  await db.query(`UPDATE vtiger_field SET tablename = ? WHERE tabid = ? AND tablename = 'vtiger_crmentity'`, [table, tab.tabid])
  await db.query(`UPDATE vtiger_entityname SET isdenormalized = '1', denormtable = ? WHERE tabid = ?`, [table, tab.tabid])
  await db.query('DELETE FROM vtiger_crmentity WHERE setype = ?', [module])
}

export interface AutoNumberRow {
  module: CrmModule
  prefix: string
  format: string
  current: number
  isworkflowexpression?: string
  default1?: string
  active?: string
}

/**
 * Installs AutoNumberPrefix as changesets 2022 installAutonumberInc/migrateAutonumberInc leave it:
 * the vtiger_autonumberprefix table (manifest.xml) with counters, and the active filter handler.
 */
export async function installAutoNumberPrefix(db: TestDatabase, rows: AutoNumberRow[]): Promise<void> {
  await db.query(`CREATE TABLE IF NOT EXISTS vtiger_autonumberprefix (
    autonumberprefixid int(11) NOT NULL,
    autonumberprefixno varchar(100) DEFAULT NULL,
    prefix varchar(100) NOT NULL,
    semodule varchar(100) NOT NULL,
    format varchar(250) NOT NULL,
    active varchar(3) NOT NULL,
    isworkflowexpression varchar(3) NOT NULL,
    current int(11) NOT NULL,
    default1 varchar(3) NOT NULL,
    PRIMARY KEY (autonumberprefixid),
    KEY (autonumberprefixno), KEY (semodule), KEY (active), KEY (default1)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8`)
  await db.query('CREATE TABLE IF NOT EXISTS vtiger_autonumberprefixcf (autonumberprefixid int(11) NOT NULL, PRIMARY KEY (autonumberprefixid)) ENGINE=InnoDB DEFAULT CHARSET=utf8')
  for (const r of rows) {
    // the counters are CRM records themselves; their ids come from the shared sequence
    await db.query('UPDATE vtiger_crmentity_seq SET id = id + 1')
    const [{id}] = await db.query<{id: number}>('SELECT id FROM vtiger_crmentity_seq')
    await db.query(
      `INSERT INTO vtiger_crmentity (crmid, smcreatorid, smownerid, modifiedby, setype, description, createdtime, modifiedtime, cbuuid)
       VALUES (?, 1, 1, 1, 'AutoNumberPrefix', '', NOW(), NOW(), SHA1(?))`,
      [id, `anp${id}`],
    )
    await db.query(
      `INSERT INTO vtiger_autonumberprefix (autonumberprefixid, autonumberprefixno, prefix, semodule, format, active, isworkflowexpression, current, default1)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [id, `ANP-${id}`, r.prefix, r.module, r.format, r.active ?? '1', r.isworkflowexpression ?? '0', r.current, r.default1 ?? '1'],
    )
    await db.query('INSERT INTO vtiger_autonumberprefixcf (autonumberprefixid) VALUES (?)', [id])
  }
  const [has] = await db.query<{n: number}>(
    "SELECT COUNT(*) AS n FROM vtiger_eventhandlers WHERE event_name = 'corebos.filter.ModuleSeqNumber.increment'",
  )
  if (Number(has.n) === 0) {
    await db.query(
      `INSERT INTO vtiger_eventhandlers (event_name, handler_path, handler_class, cond, is_active, dependent_on)
       VALUES ('corebos.filter.ModuleSeqNumber.increment', 'modules/AutoNumberPrefix/PrefixEvent.php', 'PrefixEvent', '', 1, '[]')`,
    )
  }
}

/**
 * The record as a coreBOS list view finds it: entity table INNER JOIN every module table, deleted = 0
 * (and converted = 0 for Leads). Null when coreBOS would not show it.
 */
export async function listViewRow(db: TestDatabase, module: CrmModule, crmid: number): Promise<Record<string, unknown> | null> {
  const tables = LIST_VIEW_TABLES[module]
  const [base, key] = tables[0]
  const [entity] = await db.query<{isdenormalized: string; denormtable: string}>(
    'SELECT isdenormalized, denormtable FROM vtiger_entityname WHERE modulename = ?',
    [module],
  )
  const denorm = entity.isdenormalized === '1'
  const from = denorm
    ? `\`${base}\``
    : `vtiger_crmentity INNER JOIN \`${base}\` ON \`${base}\`.\`${key}\` = vtiger_crmentity.crmid`
  const entityTable = denorm ? base : 'vtiger_crmentity'
  const joins = tables
    .slice(1)
    .map(([t, k]) => `INNER JOIN \`${t}\` ON \`${t}\`.\`${k}\` = \`${base}\`.\`${key}\``)
    .join(' ')
  const converted = module === 'Leads' ? ` AND \`${base}\`.converted = 0` : ''
  const rows = await db.query(
    `SELECT * FROM ${from} ${joins} WHERE \`${entityTable}\`.deleted = 0${converted} AND \`${base}\`.\`${key}\` = ?`,
    [crmid],
  )
  return rows[0] ?? null
}

/** The Potential's mandatory values, with an Account to relate to. */
export function potentialFields(relatedTo: number, name = 'Big deal'): Record<string, string> {
  return {potentialname: name, related_to: String(relatedTo), sales_stage: 'Prospecting', closingdate: '2026-12-31'}
}
