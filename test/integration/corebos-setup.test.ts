import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {ConfigError} from '../../src/errors.js'
import {createPool, type Pool} from '../../src/corebos/connection.js'
import {CBHS_SCHEMA_VERSION, CBHS_TABLES, CONTROL_FIELD_SPECS, HUBSPOT_BLOCK_LABEL, setupCoreBos} from '../../src/corebos/setup.js'
import {createTestDatabase, type TestDatabase} from '../support/db.js'

const BASE_TABLES = ['vtiger_account', 'vtiger_contactdetails', 'vtiger_leaddetails', 'vtiger_potential']
const TABIDS = {Potentials: 2, Contacts: 4, Accounts: 6, Leads: 7}

/** Everything setup may touch: DDL of the tables and the metadata rows of the control fields. */
async function snapshot(db: TestDatabase): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {}
  const tables = await db.query<{t: string}>(
    "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND (TABLE_NAME LIKE 'cbhs\\_%' OR TABLE_NAME IN (?)) ORDER BY TABLE_NAME",
    [db.settings.database, [...BASE_TABLES, 'vtiger_crmentity']],
  )
  for (const {t} of tables) {
    const [row] = await db.query<Record<string, string>>(`SHOW CREATE TABLE \`${t}\``)
    // AUTO_INCREMENT counters are data, not schema
    out[`ddl:${t}`] = row['Create Table'].replace(/ AUTO_INCREMENT=\d+/, '')
  }
  const fields = await db.query<{fieldid: number}>("SELECT * FROM vtiger_field WHERE fieldname LIKE 'hubspot%' ORDER BY fieldid")
  out.fields = fields
  const ids = fields.map((f) => f.fieldid)
  out.blocks = await db.query('SELECT * FROM vtiger_blocks WHERE blocklabel = ? ORDER BY blockid', [HUBSPOT_BLOCK_LABEL])
  out.defOrg = ids.length ? await db.query('SELECT * FROM vtiger_def_org_field WHERE fieldid IN (?) ORDER BY fieldid', [ids]) : []
  out.profile2field = ids.length
    ? await db.query('SELECT * FROM vtiger_profile2field WHERE fieldid IN (?) ORDER BY fieldid, profileid', [ids])
    : []
  out.fieldSeq = await db.query('SELECT id FROM vtiger_field_seq')
  out.blockSeq = await db.query('SELECT id FROM vtiger_blocks_seq')
  out.counts = await db.query(
    `SELECT (SELECT COUNT(*) FROM vtiger_field) AS fields, (SELECT COUNT(*) FROM vtiger_blocks) AS blocks,
            (SELECT COUNT(*) FROM vtiger_def_org_field) AS defOrg, (SELECT COUNT(*) FROM vtiger_profile2field) AS p2f`,
  )
  if (tables.some((t) => t.t === 'cbhs_meta')) out.meta = await db.query('SELECT * FROM cbhs_meta ORDER BY meta_key')
  return out
}

describe('setupCoreBos on a fresh coreBOS database', () => {
  let db: TestDatabase
  let pool: Pool
  beforeAll(async () => {
    db = await createTestDatabase()
    // the pool as cbhs makes it (big numbers as strings, utf8mb4 on the wire)
    pool = createPool({...db.settings, timezone: 'UTC'})
  })
  afterAll(async () => {
    await pool?.end()
    await db?.drop()
  })

  let dryChanges: unknown
  it('dry run lists the changes and writes nothing', async () => {
    const before = await snapshot(db)
    const result = await setupCoreBos(pool, {dryRun: true, database: db.settings.database})
    expect(await snapshot(db)).toEqual(before)
    const kinds = result.changes.map((c) => c.kind)
    expect(kinds.filter((k) => k === 'create-table')).toHaveLength(CBHS_TABLES.length)
    expect(kinds.filter((k) => k === 'add-column')).toHaveLength(28)
    expect(kinds.filter((k) => k === 'add-block')).toHaveLength(4)
    expect(kinds.filter((k) => k === 'add-field')).toHaveLength(28)
    expect(kinds).toContain('set-schema-version')
    expect(kinds).not.toContain('adopt-column')
    expect(result.suggestions.map((s) => s.target)).toEqual(['vtiger_crmentity.cbhs_setype_modifiedtime'])
    expect(result.legacyLinkedRecords).toEqual({})
    dryChanges = result.changes
  })

  it('a real run makes exactly the changes the dry run listed', async () => {
    const result = await setupCoreBos(pool, {dryRun: false, database: db.settings.database})
    expect(result.changes).toEqual(dryChanges)
    expect(result.warnings).toEqual([])
  })

  it('creates the cbhs tables as utf8mb4 InnoDB', async () => {
    const rows = await db.query<{t: string; engine: string; collation: string}>(
      "SELECT TABLE_NAME AS t, ENGINE AS engine, TABLE_COLLATION AS collation FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME LIKE 'cbhs\\_%' ORDER BY TABLE_NAME",
      [db.settings.database],
    )
    expect(rows.map((r) => r.t)).toEqual(CBHS_TABLES.map((t) => t.name).sort())
    for (const r of rows) {
      expect(r.engine).toBe('InnoDB')
      expect(r.collation).toMatch(/^utf8mb4/)
    }
    const [meta] = await db.query<{meta_value: string}>("SELECT meta_value FROM cbhs_meta WHERE meta_key = 'schema_version'")
    expect(meta.meta_value).toBe(String(CBHS_SCHEMA_VERSION))
  })

  it('adds the seven control columns, nullable and without default, with the §3 types', async () => {
    for (const table of BASE_TABLES) {
      const cols = await db.query<{c: string; type: string; nullable: string; def: string | null}>(
        `SELECT COLUMN_NAME AS c, COLUMN_TYPE AS type, IS_NULLABLE AS nullable, COLUMN_DEFAULT AS def FROM information_schema.COLUMNS
          WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME LIKE 'hubspot%' ORDER BY ORDINAL_POSITION`,
        [db.settings.database, table],
      )
      expect(cols.map((c) => [c.c, c.type])).toEqual(CONTROL_FIELD_SPECS.map((s) => [s.name, s.sqlType]))
      for (const c of cols) {
        expect(c.nullable).toBe('YES')
        expect(c.def === null || c.def === 'NULL').toBe(true)
      }
    }
  })

  it('installs block, fields and permissions the way vtlib does', async () => {
    const blocks = await db.query<Record<string, number | string>>('SELECT * FROM vtiger_blocks WHERE blocklabel = ? ORDER BY blockid', [
      HUBSPOT_BLOCK_LABEL,
    ])
    expect(blocks).toHaveLength(4)
    // ids continue vtiger_blocks_seq (204 in the dump), one module after the other
    expect(blocks.map((b) => b.blockid)).toEqual([205, 206, 207, 208])
    const [seq] = await db.query<{id: number}>('SELECT id FROM vtiger_blocks_seq')
    expect(seq.id).toBe(208)
    for (const block of blocks) {
      const [last] = await db.query<{s: number}>('SELECT MAX(sequence) AS s FROM vtiger_blocks WHERE tabid = ? AND blockid <> ?', [
        block.tabid,
        block.blockid,
      ])
      expect(block.sequence).toBe(last.s + 1)
      expect([block.show_title, block.visible, block.create_view, block.edit_view, block.detail_view]).toEqual([0, 0, 0, 0, 0])
      expect([block.display_status, block.iscustom, block.isrelatedlist]).toEqual([1, 0, 0])
    }

    const fields = await db.query<Record<string, number | string | null>>(
      "SELECT * FROM vtiger_field WHERE fieldname LIKE 'hubspot%' ORDER BY fieldid",
    )
    expect(fields).toHaveLength(28)
    expect(fields[0].fieldid).toBe(1160)
    const [fseq] = await db.query<{id: number}>('SELECT id FROM vtiger_field_seq')
    expect(fseq.id).toBe(1187)
    for (const [module, tabid] of Object.entries(TABIDS)) {
      const mine = fields.filter((f) => f.tabid === tabid)
      const block = blocks.find((b) => b.tabid === tabid)!
      const [base] = await db.query<{tablename: string}>('SELECT tablename FROM vtiger_entityname WHERE tabid = ?', [tabid])
      expect(mine.map((f) => f.fieldname), module).toEqual(CONTROL_FIELD_SPECS.map((s) => s.name))
      mine.forEach((f, i) => {
        const spec = CONTROL_FIELD_SPECS[i]
        expect(f).toMatchObject({
          columnname: spec.name,
          tablename: base.tablename,
          generatedtype: 1,
          uitype: String(spec.uitype),
          fieldlabel: spec.label,
          readonly: 1,
          presence: 2,
          defaultvalue: '',
          maximumlength: 100,
          sequence: i + 1,
          block: block.blockid,
          displaytype: spec.displaytype,
          typeofdata: spec.typeofdata,
          quickcreate: 1,
          quickcreatesequence: null,
          info_type: 'BAS',
          masseditable: spec.masseditable,
        })
      })
    }
    const ids = fields.map((f) => f.fieldid)
    const defOrg = await db.query<Record<string, number>>('SELECT * FROM vtiger_def_org_field WHERE fieldid IN (?)', [ids])
    expect(defOrg).toHaveLength(28)
    for (const row of defOrg) expect([row.visible, row.readonly]).toEqual([0, 0])
    const p2f = await db.query<Record<string, number | string>>('SELECT * FROM vtiger_profile2field WHERE fieldid IN (?)', [ids])
    const [profiles] = await db.query<{n: number}>('SELECT COUNT(*) AS n FROM vtiger_profile')
    expect(p2f).toHaveLength(28 * profiles.n)
    for (const row of p2f) expect([row.visible, row.readonly, row.summary]).toEqual([0, 0, 'B'])
    for (const f of fields) {
      expect(p2f.filter((r) => r.fieldid === f.fieldid && r.tabid === f.tabid)).toHaveLength(profiles.n)
    }
  })

  it('a second run (and its dry run) changes nothing', async () => {
    const before = await snapshot(db)
    const dry = await setupCoreBos(pool, {dryRun: true, database: db.settings.database})
    expect(dry.changes).toEqual([])
    const again = await setupCoreBos(pool, {dryRun: false, database: db.settings.database})
    expect(again.changes).toEqual([])
    expect(await snapshot(db)).toEqual(before)
  })

  it('adds the modifiedtime index only when asked, once', async () => {
    const dry = await setupCoreBos(pool, {dryRun: true, database: db.settings.database, addModifiedTimeIndex: true})
    expect(dry.changes).toEqual([expect.objectContaining({kind: 'add-index', target: 'vtiger_crmentity.cbhs_setype_modifiedtime'})])
    const result = await setupCoreBos(pool, {dryRun: false, database: db.settings.database, addModifiedTimeIndex: true})
    expect(result.changes).toEqual(dry.changes)
    const idx = await db.query<{col: string}>(
      `SELECT COLUMN_NAME AS col FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'vtiger_crmentity'
        AND INDEX_NAME = 'cbhs_setype_modifiedtime' ORDER BY SEQ_IN_INDEX`,
      [db.settings.database],
    )
    expect(idx.map((r) => r.col)).toEqual(['setype', 'modifiedtime', 'crmid'])
    const again = await setupCoreBos(pool, {dryRun: false, database: db.settings.database, addModifiedTimeIndex: true})
    expect(again.changes).toEqual([])
    expect(again.suggestions).toEqual([])
  })

  it('adds columns a later cbhs version introduced to an existing state table', async () => {
    await db.query('ALTER TABLE cbhs_run DROP COLUMN lock_connection_id')
    const result = await setupCoreBos(pool, {dryRun: false, database: db.settings.database})
    expect(result.changes).toEqual([expect.objectContaining({kind: 'add-column', target: 'cbhs_run.lock_connection_id'})])
    expect((await setupCoreBos(pool, {dryRun: true, database: db.settings.database})).changes).toEqual([])
  })

  it('refuses a database set up by a newer cbhs', async () => {
    await db.query("UPDATE cbhs_meta SET meta_value = '99' WHERE meta_key = 'schema_version'")
    await expect(setupCoreBos(pool, {dryRun: true, database: db.settings.database})).rejects.toMatchObject({code: 'STATE_SCHEMA_NEWER'})
    await db.query("UPDATE cbhs_meta SET meta_value = ? WHERE meta_key = 'schema_version'", [String(CBHS_SCHEMA_VERSION)])
  })

  it('brings a database of schema 1 (before the carrier queue) to this schema: the queue table, then the version', async () => {
    await db.query('DROP TABLE cbhs_carrier_queue')
    await db.query("UPDATE cbhs_meta SET meta_value = '1' WHERE meta_key = 'schema_version'")
    const result = await setupCoreBos(pool, {dryRun: false, database: db.settings.database})
    expect(result.changes).toEqual([
      expect.objectContaining({kind: 'create-table', target: 'cbhs_carrier_queue'}),
      expect.objectContaining({kind: 'set-schema-version', detail: `1 → ${CBHS_SCHEMA_VERSION}`}),
    ])
    expect((await setupCoreBos(pool, {dryRun: true, database: db.settings.database})).changes).toEqual([])
  })
})

describe('setupCoreBos adopting the legacy integration', () => {
  let db: TestDatabase
  beforeAll(async () => {
    db = await createTestDatabase()
    // what the legacy activateFields() left on Contacts: columns with data, a block, and the fields
    // deactivated (presence 1) by deactivateFields(); one profile lost its permission rows
    await db.query(
      `ALTER TABLE vtiger_contactdetails ADD COLUMN hubspotid varchar(25), ADD COLUMN hubspotcreated varchar(3),
         ADD COLUMN hubspotrecord varchar(250), ADD COLUMN hubspotdeleted varchar(3), ADD COLUMN hubspotlastsync DATETIME,
         ADD COLUMN hubspotdeletedon DATETIME, ADD COLUMN hubspotsyncwith varchar(3)`,
    )
    await db.query(
      "INSERT INTO vtiger_crmentity (crmid, smcreatorid, smownerid, modifiedby, setype, createdtime, modifiedtime, deleted) VALUES (9001, 1, 1, 1, 'Contacts', '2024-01-01 10:00:00', '2024-01-01 10:00:00', 0), (9002, 1, 1, 1, 'Contacts', '2024-01-01 10:00:00', '2024-01-01 10:00:00', 0)",
    )
    await db.query(
      `INSERT INTO vtiger_contactdetails (contactid, contact_no, lastname, hubspotid, hubspotsyncwith, hubspotlastsync, hubspotrecord)
       VALUES (9001, 'CON9001', 'Legacy', '3234574', '1', '2024-01-02 03:04:05', 'https://app.hubspot.com/sales/123/contact/3234574'),
              (9002, 'CON9002', 'Unlinked', NULL, NULL, NULL, NULL)`,
    )
    await db.query("UPDATE vtiger_blocks_seq SET id = id + 1")
    const [bseq] = await db.query<{id: number}>('SELECT id FROM vtiger_blocks_seq')
    await db.query(
      "INSERT INTO vtiger_blocks (blockid, tabid, blocklabel, sequence, show_title, visible, create_view, edit_view, detail_view) VALUES (?, 4, 'LBL_HUBSPOT_INFORMATION', 7, 0, 0, 0, 0, 0)",
      [bseq.id],
    )
    let fieldid = 1160
    for (const spec of CONTROL_FIELD_SPECS) {
      await db.query(
        `INSERT INTO vtiger_field (tabid, fieldid, columnname, tablename, generatedtype, uitype, fieldname, fieldlabel, readonly, presence,
           defaultvalue, maximumlength, sequence, block, displaytype, typeofdata, quickcreate, quickcreatesequence, info_type, helpinfo, masseditable)
         VALUES (4, ?, ?, 'vtiger_contactdetails', 1, ?, ?, ?, 1, 1, '', 100, ?, ?, ?, ?, 1, NULL, 'BAS', '', ?)`,
        [fieldid, spec.name, String(spec.uitype), spec.name, spec.label, fieldid - 1159, bseq.id, spec.displaytype, spec.typeofdata, spec.masseditable],
      )
      await db.query('INSERT INTO vtiger_def_org_field (tabid, fieldid, visible, readonly) VALUES (4, ?, 0, 0)', [fieldid])
      await db.query(
        "INSERT INTO vtiger_profile2field (profileid, tabid, fieldid, visible, readonly, summary) VALUES (1, 4, ?, 0, 0, 'B'), (2, 4, ?, 0, 0, 'B'), (3, 4, ?, 0, 0, 'B')",
        [fieldid, fieldid, fieldid],
      )
      fieldid++
    }
    await db.query('UPDATE vtiger_field_seq SET id = ?', [fieldid - 1])
    // Accounts: the columns only (metadata rows lost), with a narrower hubspotid than §3 asks
    await db.query(
      `ALTER TABLE vtiger_account ADD COLUMN hubspotid varchar(20), ADD COLUMN hubspotcreated varchar(3),
         ADD COLUMN hubspotrecord varchar(250), ADD COLUMN hubspotdeleted varchar(3), ADD COLUMN hubspotlastsync DATETIME,
         ADD COLUMN hubspotdeletedon DATETIME, ADD COLUMN hubspotsyncwith varchar(3)`,
    )
  })
  afterAll(async () => db?.drop())

  it('keeps the data, reactivates the fields, fills in missing rows, and lists it all in the dry run first', async () => {
    const dry = await setupCoreBos(db.pool, {dryRun: true, database: db.settings.database})
    const result = await setupCoreBos(db.pool, {dryRun: false, database: db.settings.database})
    expect(result.changes).toEqual(dry.changes)

    const on = (target: string) => result.changes.filter((c) => c.target.startsWith(target)).map((c) => c.kind)
    // the legacy integration left hubspotid unindexed: setup adds the lookup index cbhs needs
    expect(on('vtiger_contactdetails.')).toEqual([...Array(7).fill('adopt-column'), 'add-index'])
    // the legacy integration left NULL checkboxes: coreBOS stores '0', and explicit opt-in reads NULL as not opted in
    expect(on('Contacts.')).toEqual([...Array(7).fill(['reactivate-field', 'add-field-permissions']).flat(), ...Array(3).fill('fill-checkbox')])
    expect(on('vtiger_account.')).toEqual([...Array(7).fill('adopt-column'), 'add-index'])
    expect(on('Accounts.')).toEqual(['add-block', ...Array(7).fill('add-field')])
    expect(on('vtiger_leaddetails.')).toEqual([...Array(7).fill('add-column'), 'add-index'])
    expect(result.legacyLinkedRecords).toEqual({Contacts: 1, Accounts: 0})
    expect(result.warnings).toEqual([expect.stringContaining('vtiger_account.hubspotid is varchar(20)')])

    const rows = await db.query<Record<string, string | null>>(
      'SELECT contactid, hubspotid, hubspotsyncwith, hubspotlastsync, hubspotrecord FROM vtiger_contactdetails WHERE contactid IN (9001, 9002) ORDER BY contactid',
    )
    expect(rows[0]).toEqual({
      contactid: 9001,
      hubspotid: '3234574',
      hubspotsyncwith: '1',
      hubspotlastsync: '2024-01-02 03:04:05',
      hubspotrecord: 'https://app.hubspot.com/sales/123/contact/3234574',
    })
    const boxes = await db.query<Record<string, string | null>>(
      'SELECT hubspotcreated, hubspotdeleted, hubspotsyncwith FROM vtiger_contactdetails WHERE contactid IN (9001, 9002) ORDER BY contactid',
    )
    expect(boxes).toEqual([
      {hubspotcreated: '0', hubspotdeleted: '0', hubspotsyncwith: '1'},
      {hubspotcreated: '0', hubspotdeleted: '0', hubspotsyncwith: '0'},
    ])
    const fields = await db.query<{fieldid: number; presence: number}>(
      "SELECT fieldid, presence FROM vtiger_field WHERE tabid = 4 AND fieldname LIKE 'hubspot%' ORDER BY fieldid",
    )
    expect(fields.map((f) => f.fieldid)).toEqual([1160, 1161, 1162, 1163, 1164, 1165, 1166])
    expect(fields.every((f) => f.presence === 2)).toBe(true)
    const [blocks] = await db.query<{n: number}>("SELECT COUNT(*) AS n FROM vtiger_blocks WHERE tabid = 4 AND blocklabel = 'LBL_HUBSPOT_INFORMATION'")
    expect(blocks.n).toBe(1)
    const p4 = await db.query('SELECT fieldid FROM vtiger_profile2field WHERE profileid = 4 AND fieldid BETWEEN 1160 AND 1166')
    expect(p4).toHaveLength(7)
    const accountType = await db.query<{type: string}>(
      "SELECT COLUMN_TYPE AS type FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'vtiger_account' AND COLUMN_NAME = 'hubspotid'",
      [db.settings.database],
    )
    expect(accountType[0].type).toBe('varchar(20)')

    const again = await setupCoreBos(db.pool, {dryRun: false, database: db.settings.database})
    expect(again.changes).toEqual([])
  })
})

describe('setupCoreBos on a database that is not coreBOS', () => {
  let db: TestDatabase
  beforeAll(async () => {
    db = await createTestDatabase({empty: true})
  })
  afterAll(async () => db?.drop())

  it('throws NOT_COREBOS naming what is missing, and creates nothing', async () => {
    const error = await setupCoreBos(db.pool, {dryRun: false, database: db.settings.database}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConfigError)
    const err = error as ConfigError
    expect(err.code).toBe('NOT_COREBOS')
    expect(err.exitCode).toBe(3)
    expect(err.message).toContain(db.settings.database)
    expect(err.message).toContain('vtiger_tab, vtiger_field')
    expect(err.message).toContain('vtiger_crmentity')
    expect(err.suggestion).toMatch(/cbhs setup/)
    const tables = await db.query('SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?', [db.settings.database])
    expect(tables).toEqual([])
  })

  it('names missing modules when the tables exist but a module does not', async () => {
    await db.query('CREATE TABLE vtiger_tab (tabid int PRIMARY KEY, name varchar(100))')
    await db.query(
      "CREATE TABLE vtiger_entityname (tabid int PRIMARY KEY, modulename varchar(50), tablename varchar(100), entityidfield varchar(150), isdenormalized varchar(3), denormtable varchar(100))",
    )
    for (const t of ['vtiger_field', 'vtiger_field_seq', 'vtiger_crmentity', 'vtiger_blocks', 'vtiger_blocks_seq', 'vtiger_def_org_field', 'vtiger_profile2field', 'vtiger_profile', 'vtiger_account']) {
      await db.query(`CREATE TABLE \`${t}\` (id int)`)
    }
    await db.query("INSERT INTO vtiger_tab VALUES (6, 'Accounts'), (4, 'Contacts')")
    await db.query("INSERT INTO vtiger_entityname VALUES (6, 'Accounts', 'vtiger_account', 'accountid', '0', 'vtiger_crmentity')")
    const error = (await setupCoreBos(db.pool, {dryRun: true, database: db.settings.database}).catch((e: unknown) => e)) as ConfigError
    expect(error.code).toBe('NOT_COREBOS')
    expect(error.message).toContain('Contacts (vtiger_entityname)')
    expect(error.message).toContain('Leads (vtiger_tab)')
    expect(error.message).toContain('Potentials (vtiger_tab)')
    expect(error.message).not.toContain('Accounts')
  })
})
