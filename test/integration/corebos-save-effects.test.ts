/**
 * What coreBOS's own save adds beside the record rows, and cbhs must add too because it writes
 * without coreBOS's PHP: the Potentials stage history (Potentials::save_module), ModTracker rows
 * (ModTrackerHandler on aftersave.final / beforedelete), and '0'/'1' checkboxes (insertIntoEntityTable).
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {CoreBosRecords} from '../../src/corebos/records.js'
import {forgetModuleMeta} from '../../src/corebos/metadata.js'
import {createTestDatabase, type TestDatabase} from '../support/db.js'
import {addControlColumns, potentialFields} from '../support/corebos-fixtures.js'

const SYNC_USER = 5

interface HistoryRow {
  potentialid: number
  amount: string | null
  stage: string | null
  probability: string | null
  expectedrevenue: string | null
  closedate: string | null
  lastmodified: string | null
}

describe('coreBOS save side effects of cbhs writes', () => {
  let db: TestDatabase
  let crm: CoreBosRecords
  let accountId = 0
  beforeAll(async () => {
    db = await createTestDatabase()
    await addControlColumns(db)
    // a user of id 5 as the sync user: only its id matters to the rows written
    crm = new CoreBosRecords(db.pool as never, {timezone: 'UTC'})
    const [a] = await crm.create('Accounts', [{fields: {accountname: 'Stage Co'}}], 1)
    accountId = a.crmid
  })
  afterAll(async () => db?.drop())

  const history = (id: number) =>
    db.query<HistoryRow>(
      'SELECT potentialid, amount, stage, probability, expectedrevenue, closedate, lastmodified FROM vtiger_potstagehistory WHERE potentialid = ? ORDER BY historyid',
      [id],
    )

  describe('Potentials stage history (vtiger_potstagehistory)', () => {
    it('a stage change adds one row holding the stage left, with the amount, probability, revenue and close date saved', async () => {
      const [p] = await crm.create('Potentials', [{fields: {...potentialFields(accountId), amount: '1000', probability: '10'}}], 1)
      expect(p.ok, p.error).toBe(true)
      // coreBOS's create is not edit mode: no history row
      expect(await history(p.crmid)).toEqual([])

      await crm.update('Potentials', p.crmid, {sales_stage: 'Qualification', amount: '2500', closingdate: '2027-03-15'}, SYNC_USER)
      const rows = await history(p.crmid)
      expect(rows).toHaveLength(1)
      const [modified] = await db.query<{modifiedtime: string}>('SELECT modifiedtime FROM vtiger_crmentity WHERE crmid = ?', [p.crmid])
      expect(rows[0]).toEqual({
        potentialid: p.crmid,
        stage: 'Prospecting',
        amount: '2500.000000',
        probability: '10.000',
        expectedrevenue: '250.000000',
        closedate: '2027-03-15',
        lastmodified: modified.modifiedtime,
      })
    })

    it('an update that leaves the stage alone, or sets the same stage, adds no row', async () => {
      const [p] = await crm.create('Potentials', [{fields: potentialFields(accountId)}], 1)
      await crm.update('Potentials', p.crmid, {amount: '99'}, SYNC_USER)
      await crm.update('Potentials', p.crmid, {sales_stage: 'Prospecting'}, SYNC_USER)
      expect(await history(p.crmid)).toEqual([])
    })

    it('updateMany writes one row per changed deal; no amount or probability gives 0 revenue', async () => {
      const [a, b] = await crm.create('Potentials', [{fields: potentialFields(accountId)}, {fields: potentialFields(accountId)}], 1)
      const results = await crm.updateMany(
        'Potentials',
        [
          {crmid: a.crmid, fields: {sales_stage: 'Closed Won'}},
          {crmid: b.crmid, fields: {potentialname: 'renamed'}},
        ],
        SYNC_USER,
      )
      expect(results.every((r) => r.ok)).toBe(true)
      const rowsA = await history(a.crmid)
      expect(rowsA).toHaveLength(1)
      expect(rowsA[0]).toMatchObject({stage: 'Prospecting', amount: '0.000000', expectedrevenue: '0.000000', closedate: '2026-12-31'})
      expect(await history(b.crmid)).toEqual([])
    })
  })

  describe('ModTracker', () => {
    const basic = (id: number) =>
      db.query<{id: number; crmid: number; module: string; whodid: number; changedon: string; status: number}>(
        'SELECT id, crmid, module, whodid, changedon, status FROM vtiger_modtracker_basic WHERE crmid = ? ORDER BY id',
        [id],
      )
    const detail = async (basicId: number) => {
      const rows = await db.query<{fieldname: string; prevalue: string | null; postvalue: string | null}>(
        'SELECT fieldname, prevalue, postvalue FROM vtiger_modtracker_detail WHERE id = ? ORDER BY fieldname',
        [basicId],
      )
      return Object.fromEntries(rows.map((r) => [r.fieldname, [r.prevalue, r.postvalue]]))
    }

    it('writes nothing for a module that is not tracked', async () => {
      const [c] = await crm.create('Contacts', [{fields: {lastname: 'Untracked'}}], SYNC_USER)
      await crm.update('Contacts', c.crmid, {firstname: 'Not'}, SYNC_USER)
      expect(await basic(c.crmid)).toEqual([])
    })

    it('a tracked module gets created (2), updated (0) and deleted (1) rows with the changed fields, by the sync user', async () => {
      await db.query('INSERT INTO vtiger_modtracker_tabs (tabid, visible) VALUES (4, 1)')
      const [seq0] = await db.query<{id: number}>('SELECT id FROM vtiger_modtracker_basic_seq')
      const [c] = await crm.create('Contacts', [{fields: {lastname: 'Tracked', email: 'tracked@example.com'}}], SYNC_USER)
      let rows = await basic(c.crmid)
      expect(rows).toHaveLength(1)
      const [entity] = await db.query<{modifiedtime: string; cbuuid: string; createdtime: string}>(
        'SELECT modifiedtime, createdtime, cbuuid FROM vtiger_crmentity WHERE crmid = ?',
        [c.crmid],
      )
      expect(rows[0]).toMatchObject({id: seq0.id + 1, crmid: c.crmid, module: 'Contacts', whodid: SYNC_USER, status: 2, changedon: entity.modifiedtime})
      const created = await detail(rows[0].id)
      // every non-empty value of the new record, from nothing; modifiedtime and empty/'0' values are no change
      expect(created).toMatchObject({
        lastname: ['', 'Tracked'],
        email: ['', 'tracked@example.com'],
        record_id: ['', String(c.crmid)],
        record_module: ['', 'Contacts'],
        cbuuid: ['', entity.cbuuid],
        createdtime: ['', entity.createdtime],
        assigned_user_id: ['', String(SYNC_USER)],
      })
      expect(created.contact_no?.[1]).toMatch(/^CON\d+$/)
      expect(created).not.toHaveProperty('modifiedtime')
      expect(created).not.toHaveProperty('firstname')
      expect(created).not.toHaveProperty('emailoptout')

      await crm.update('Contacts', c.crmid, {firstname: 'Ada', email: 'tracked@example.com', lastname: 'Lovelace'}, SYNC_USER)
      rows = await basic(c.crmid)
      expect(rows).toHaveLength(2)
      expect(rows[1]).toMatchObject({id: rows[0].id + 1, status: 0, whodid: SYNC_USER})
      expect(await detail(rows[1].id)).toEqual({firstname: ['', 'Ada'], lastname: ['Tracked', 'Lovelace']})

      // a save that changes nothing but modifiedtime leaves no trace, as in coreBOS
      await crm.update('Contacts', c.crmid, {firstname: 'Ada'}, SYNC_USER)
      expect(await basic(c.crmid)).toHaveLength(2)

      await crm.trash('Contacts', c.crmid, SYNC_USER)
      rows = await basic(c.crmid)
      expect(rows).toHaveLength(3)
      expect(rows[2]).toMatchObject({status: 1, whodid: SYNC_USER, module: 'Contacts'})
      expect(await detail(rows[2].id)).toEqual({})
      const [seq] = await db.query<{id: number}>('SELECT id FROM vtiger_modtracker_basic_seq')
      expect(seq.id).toBe(rows[2].id)
    })

    it('an amount rewritten in another form (100.0 for 100) is no change; a number from 0 is', async () => {
      await db.query('INSERT INTO vtiger_modtracker_tabs (tabid, visible) VALUES (6, 1)')
      const [a] = await crm.create('Accounts', [{fields: {accountname: 'Num', annual_revenue: '100'}}], SYNC_USER)
      await crm.update('Accounts', a.crmid, {annual_revenue: '100.0', employees: '7'}, SYNC_USER)
      const rows = await basic(a.crmid)
      expect(rows.map((r) => r.status)).toEqual([2, 0])
      expect(await detail(rows[1].id)).toEqual({employees: ['0', '7']})
    })

    it('updateMany tracks a batch as one save each: updated (0), created (2) for a record with no history yet, none for no change', async () => {
      await db.query('INSERT IGNORE INTO vtiger_modtracker_tabs (tabid, visible) VALUES (4, 1)')
      const [a, b, c] = await crm.create('Contacts', [1, 2, 3].map((i) => ({fields: {lastname: `Batch ${i}`}})), SYNC_USER)
      // b as a record saved before ModTracker was switched on: no history row yet
      await db.query('DELETE d FROM vtiger_modtracker_detail d JOIN vtiger_modtracker_basic m ON m.id = d.id WHERE m.crmid = ?', [b.crmid])
      await db.query('DELETE FROM vtiger_modtracker_basic WHERE crmid = ?', [b.crmid])
      const [seq0] = await db.query<{id: number}>('SELECT id FROM vtiger_modtracker_basic_seq')
      const results = await crm.updateMany(
        'Contacts',
        [
          {crmid: a.crmid, fields: {firstname: 'Ada', title: 'Countess'}},
          {crmid: b.crmid, fields: {lastname: 'Renamed'}},
          {crmid: c.crmid, fields: {lastname: 'Batch 3'}},
        ],
        SYNC_USER,
      )
      expect(results.every((r) => r.ok)).toBe(true)
      const [ra, rb, rc] = [await basic(a.crmid), await basic(b.crmid), await basic(c.crmid)]
      const [entity] = await db.query<{modifiedtime: string}>('SELECT modifiedtime FROM vtiger_crmentity WHERE crmid = ?', [a.crmid])
      expect(ra.map((r) => r.status)).toEqual([2, 0])
      expect(ra[1]).toMatchObject({id: seq0.id + 1, whodid: SYNC_USER, changedon: entity.modifiedtime})
      expect(await detail(ra[1].id)).toEqual({firstname: ['', 'Ada'], title: ['', 'Countess']})
      expect(rb).toHaveLength(1)
      expect(rb[0]).toMatchObject({id: seq0.id + 2, status: 2})
      expect(await detail(rb[0].id)).toEqual({lastname: ['Batch 2', 'Renamed']})
      // the same value again: only modifiedtime changed, which ModTracker does not record
      expect(rc.map((r) => r.status)).toEqual([2])
      const [seq] = await db.query<{id: number}>('SELECT id FROM vtiger_modtracker_basic_seq')
      expect(seq.id).toBe(seq0.id + 2)
    })
  })

  describe('checkboxes', () => {
    it('a create stores 0 in every control checkbox not given, never NULL', async () => {
      const [c] = await crm.create('Contacts', [{fields: {lastname: 'Boxes'}, control: {hubspotid: '77'}}], SYNC_USER)
      const [row] = await db.query<Record<string, unknown>>(
        'SELECT hubspotcreated, hubspotdeleted, hubspotsyncwith, donotcall, emailoptout FROM vtiger_contactdetails WHERE contactid = ?',
        [c.crmid],
      )
      expect(row).toEqual({hubspotcreated: '0', hubspotdeleted: '0', hubspotsyncwith: '0', donotcall: '0', emailoptout: '0'})
    })

    it("a create applies the field's default value as vtws_create does (a default-on Sync with HubSpot)", async () => {
      await db.query("INSERT INTO vtiger_field (tabid, columnname, tablename, generatedtype, uitype, fieldname, fieldlabel, readonly, presence, maximumlength, sequence, block, displaytype, typeofdata, quickcreate, masseditable, defaultvalue) VALUES (7, 'hubspotsyncwith', 'vtiger_leaddetails', 1, '56', 'hubspotsyncwith', 'Sync with HubSpot', 1, 2, 100, 1, NULL, 1, 'C~O', 1, 1, '1')")
      forgetModuleMeta(db.pool as never, 'Leads')
      const [l, m] = await crm.create('Leads', [{fields: {lastname: 'Default', company: 'X'}}, {fields: {lastname: 'Opted out', company: 'X'}, control: {hubspotsyncwith: '0'}}], SYNC_USER)
      const rows = await db.query<{hubspotsyncwith: string | null}>('SELECT hubspotsyncwith FROM vtiger_leaddetails WHERE leadid IN (?) ORDER BY leadid', [[l.crmid, m.crmid]])
      expect(rows.map((r) => r.hubspotsyncwith)).toEqual(['1', '0'])
    })

    it('clearing a control checkbox writes 0, not NULL', async () => {
      const [c] = await crm.create('Contacts', [{fields: {lastname: 'Clear'}, control: {hubspotdeleted: '1'}}], SYNC_USER)
      await crm.setControl('Contacts', c.crmid, {hubspotdeleted: null, hubspotdeletedon: null})
      const [row] = await db.query<Record<string, unknown>>('SELECT hubspotdeleted, hubspotdeletedon FROM vtiger_contactdetails WHERE contactid = ?', [c.crmid])
      expect(row).toEqual({hubspotdeleted: '0', hubspotdeletedon: null})
    })
  })

  describe('text', () => {
    it('stores &, <, > and quotes as typed, as coreBOS saves them, and reads them back unchanged', async () => {
      const name = `Tom & Jerry's <"Cartoons"> & co`
      const [a] = await crm.create('Accounts', [{fields: {accountname: name}}], SYNC_USER)
      const [row] = await db.query<{accountname: string}>('SELECT accountname FROM vtiger_account WHERE accountid = ?', [a.crmid])
      expect(row.accountname).toBe(name)
      const [read] = await crm.readByIds('Accounts', [a.crmid])
      expect(read.fields.accountname).toBe(name)
    })
  })
})
