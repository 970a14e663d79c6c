/**
 * `cbhs setup --marketing`, coreBOS side: the "HubSpot Marketing" block on Contacts and Leads with
 * one read-only custom field per HubSpot marketing property (src/maps/marketing.ts), installed as
 * vtlib's Vtiger_Field::save would (column on the module's custom-field table, vtiger_field row,
 * vtiger_def_org_field and vtiger_profile2field rows), and the Original Source picklist as
 * Vtiger_Field::setPicklistValues makes one (vtiger_<field> table, vtiger_picklist, a
 * vtiger_role2picklist row per role). Idempotent like the rest of setup: only what is missing.
 */
import {MARKETING_BLOCK_LABEL, MARKETING_DISPLAYTYPE, MARKETING_FIELDS, MARKETING_MODULES, type MarketingFieldSpec} from '../maps/marketing.js'
import type {CrmModule} from '../sync/types.js'
import {inTransaction, quoteIdent, type Pool, type PoolConnection} from './connection.js'
import {nextId} from './numbering.js'
import {insertBlock, insertFieldRow, type SetupChange} from './setup.js'

/** The custom-field table of each module and its key, as coreBOS ships them. */
const CUSTOM_FIELD_TABLES: Readonly<Partial<Record<CrmModule, {table: string; key: string}>>> = {
  Contacts: {table: 'vtiger_contactscf', key: 'contactid'},
  Leads: {table: 'vtiger_leadscf', key: 'leadid'},
}

export async function setupMarketingFields(
  pool: Pool,
  options: {dryRun: boolean; database: string; sourceOptions: ReadonlyArray<{value: string; label: string}>},
): Promise<SetupChange[]> {
  const changes: SetupChange[] = []
  for (const module of MARKETING_MODULES) {
    const cf = CUSTOM_FIELD_TABLES[module]!
    const [tabRows] = await pool.query('SELECT tabid FROM vtiger_tab WHERE name = ?', [module])
    const tabid = Number((tabRows as Array<{tabid: number}>)[0].tabid)
    const [colRows] = await pool.query('SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [options.database, cf.table])
    const columns = new Set((colRows as Array<{c: string}>).map((r) => r.c.toLowerCase()))
    const [fieldRows] = await pool.query('SELECT fieldname FROM vtiger_field WHERE tabid = ? AND fieldname IN (?)', [tabid, MARKETING_FIELDS.map((f) => f.name)])
    const fields = new Set((fieldRows as Array<{fieldname: string}>).map((r) => r.fieldname.toLowerCase()))
    const [blockRows] = await pool.query('SELECT blockid FROM vtiger_blocks WHERE tabid = ? AND blocklabel = ? ORDER BY blockid', [tabid, MARKETING_BLOCK_LABEL])
    const existingBlock = (blockRows as Array<{blockid: number}>)[0]?.blockid ?? null

    const missingColumns = MARKETING_FIELDS.filter((f) => !columns.has(f.name))
    const missingFields = MARKETING_FIELDS.filter((f) => !fields.has(f.name))
    for (const f of missingColumns) changes.push({kind: 'add-column', target: `${cf.table}.${f.name}`, detail: `${f.sqlType} NULL`})
    if (existingBlock === null && missingFields.length > 0) changes.push({kind: 'add-block', target: `${module}.${MARKETING_BLOCK_LABEL}`, detail: 'vtiger_blocks row after the last block'})
    for (const f of missingFields) {
      changes.push({kind: 'add-field', target: `${module}.${f.name}`, detail: `vtiger_field '${f.label}' from HubSpot's ${f.property} (uitype ${f.uitype}, ${f.typeofdata}, displaytype ${MARKETING_DISPLAYTYPE}: read-only in coreBOS)`})
    }
    if (options.dryRun) continue
    if (missingColumns.length > 0) {
      await pool.query(`ALTER TABLE ${quoteIdent(cf.table)} ${missingColumns.map((f) => `ADD COLUMN ${quoteIdent(f.name)} ${f.sqlType} NULL`).join(', ')}`)
    }
    if (missingFields.length === 0) continue
    await inTransaction(pool, async (conn) => {
      const blockId = existingBlock ?? (await insertBlock(conn, tabid, MARKETING_BLOCK_LABEL))
      const [profileRows] = await conn.query('SELECT profileid FROM vtiger_profile ORDER BY profileid')
      const profiles = (profileRows as Array<{profileid: number}>).map((p) => Number(p.profileid))
      for (const f of missingFields) await insertField(conn, tabid, cf.table, blockId, f, profiles)
    })
  }
  changes.push(...(await setupSourcePicklist(pool, options)))
  return changes
}

async function insertField(conn: PoolConnection, tabid: number, table: string, blockId: number, f: MarketingFieldSpec, profiles: number[]): Promise<void> {
  const fieldid = await insertFieldRow(conn, {tabid, table, blockId, ...f, displaytype: MARKETING_DISPLAYTYPE, masseditable: 0})
  // vtlib's Vtiger_Profile::initForField: visible to everyone (coreBOS still shows displaytype 2 read-only)
  await conn.query('INSERT INTO vtiger_def_org_field (tabid, fieldid, visible, readonly) VALUES (?, ?, 0, 0)', [tabid, fieldid])
  if (profiles.length > 0) {
    await conn.query('INSERT INTO vtiger_profile2field (profileid, tabid, fieldid, visible, readonly, summary) VALUES ?', [profiles.map((p) => [p, tabid, fieldid, 0, 0, 'B'])])
  }
}

/** The picklist of every uitype-15 marketing field: one table per field name, shared by Contacts and Leads, as coreBOS's. */
async function setupSourcePicklist(pool: Pool, options: {dryRun: boolean; database: string; sourceOptions: ReadonlyArray<{value: string; label: string}>}): Promise<SetupChange[]> {
  const changes: SetupChange[] = []
  for (const f of MARKETING_FIELDS.filter((x) => x.uitype === 15)) {
    const table = `vtiger_${f.name}`
    const [exists] = await pool.query('SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [options.database, table])
    const hasTable = Number((exists as Array<{n: number}>)[0].n) > 0
    const present = new Set<string>()
    if (hasTable) {
      const [rows] = await pool.query(`SELECT ${quoteIdent(f.name)} AS v FROM ${quoteIdent(table)}`)
      for (const r of rows as Array<{v: string}>) present.add(r.v.toLowerCase())
    }
    // the option values, as HubSpot stores them: what a pull writes and a picklist matches first
    const missing = options.sourceOptions.filter((o) => !present.has(o.value.toLowerCase()))
    if (!hasTable) changes.push({kind: 'create-table', target: table, detail: `picklist of ${f.name} (vtiger_picklist, vtiger_role2picklist)`})
    if (missing.length > 0) changes.push({kind: 'add-field', target: `${table} values`, detail: missing.map((o) => o.value).join(', ')})
    if (options.dryRun || (hasTable && missing.length === 0)) continue
    if (!hasTable) {
      const id = quoteIdent(`${f.name}id`)
      await pool.query(
        `CREATE TABLE IF NOT EXISTS ${quoteIdent(table)} (${id} int NOT NULL AUTO_INCREMENT, ${quoteIdent(f.name)} varchar(200) NOT NULL,
          presence int NOT NULL DEFAULT '1', picklist_valueid int NOT NULL DEFAULT '0', sortorderid int DEFAULT '0', PRIMARY KEY (${id})) ENGINE=InnoDB DEFAULT CHARSET=utf8`,
      )
    }
    await inTransaction(pool, async (conn) => {
      const [pl] = await conn.query('SELECT picklistid FROM vtiger_picklist WHERE name = ?', [f.name])
      let picklistid = (pl as Array<{picklistid: number}>)[0]?.picklistid
      if (picklistid === undefined) {
        picklistid = await nextId(conn, 'vtiger_picklist_seq', 'vtiger_picklist', 'picklistid')
        await conn.query('INSERT INTO vtiger_picklist (picklistid, name) VALUES (?, ?)', [picklistid, f.name])
      }
      const [roleRows] = await conn.query('SELECT roleid FROM vtiger_role ORDER BY roleid')
      const roles = (roleRows as Array<{roleid: string}>).map((r) => r.roleid)
      const [sortRows] = await conn.query(`SELECT COALESCE(MAX(sortorderid), 0) AS s FROM ${quoteIdent(table)}`)
      let sort = Number((sortRows as Array<{s: number | string}>)[0].s)
      for (const o of missing) {
        const valueId = await nextId(conn, 'vtiger_picklistvalues_seq', 'vtiger_role2picklist', 'picklistvalueid')
        sort++
        await conn.query(`INSERT INTO ${quoteIdent(table)} (${quoteIdent(f.name)}, presence, picklist_valueid, sortorderid) VALUES (?, 1, ?, ?)`, [o.value, valueId, sort])
        if (roles.length > 0) await conn.query('INSERT INTO vtiger_role2picklist (roleid, picklistvalueid, picklistid, sortid) VALUES ?', [roles.map((r) => [r, valueId, picklistid, sort])])
      }
    })
  }
  return changes
}
