import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {CoreBosRecords, RecordWriteError} from '../../src/corebos/records.js'
import {forgetModuleMeta} from '../../src/corebos/metadata.js'
import {createTestDatabase, type TestDatabase} from '../support/db.js'
import {addControlColumns, installAutoNumberPrefix, listViewRow, potentialFields} from '../support/corebos-fixtures.js'

const USER = 1

describe('CoreBosRecords writes (legacy numbering, then AutoNumberPrefix)', () => {
  let db: TestDatabase
  let crm: CoreBosRecords
  beforeAll(async () => {
    db = await createTestDatabase()
    await addControlColumns(db)
    crm = new CoreBosRecords(db.pool as never, {timezone: 'UTC'})
  })
  afterAll(async () => db?.drop())

  let accountId = 0
  let contactId = 0

  it('creates one record per module that the list-view join finds, numbered from vtiger_modentity_num', async () => {
    const [account] = await crm.create('Accounts', [{fields: {accountname: 'Acme', bill_city: 'Madrid', employees: '12'}}], USER)
    expect(account).toMatchObject({ok: true})
    accountId = account.crmid
    expect(accountId).toBe(8408)
    const [contact] = await crm.create(
      'Contacts',
      [{fields: {firstname: 'Ada', lastname: 'Lovelace', email: 'ada@example.com', account_id: String(accountId), description: 'first'}}],
      USER,
    )
    contactId = contact.crmid
    const [lead] = await crm.create('Leads', [{fields: {lastname: 'Hopper', company: 'Navy'}}], USER)
    const [potential] = await crm.create('Potentials', [{fields: potentialFields(accountId)}], USER)
    for (const r of [contact, lead, potential]) expect(r.ok, r.error).toBe(true)

    const acc = await listViewRow(db, 'Accounts', accountId)
    expect(acc).toMatchObject({account_no: 'ACC11', accountname: 'Acme', bill_city: 'Madrid', employees: 12, setype: 'Accounts', deleted: 0, presence: 1, version: 0})
    const con = await listViewRow(db, 'Contacts', contactId)
    expect(con).toMatchObject({contact_no: 'CON11', lastname: 'Lovelace', accountid: accountId, description: 'first', smownerid: USER, smcreatorid: USER, modifiedby: USER})
    expect(String(con!.cbuuid)).toMatch(/^[0-9a-f]{40}$/)
    expect(await listViewRow(db, 'Leads', lead.crmid)).toMatchObject({lead_no: 'LEA11', lastname: 'Hopper', company: 'Navy', converted: 0})
    expect(await listViewRow(db, 'Potentials', potential.crmid)).toMatchObject({potential_no: 'POT11', related_to: accountId, sales_stage: 'Prospecting', closingdate: '2026-12-31'})

    const objects = await db.query<{crmid: number; setype: string; deleted: number; smownerid: number; cbuuid: string}>(
      'SELECT crmid, setype, deleted, smownerid, cbuuid FROM vtiger_crmobject WHERE crmid IN (?) ORDER BY crmid',
      [[accountId, contactId, lead.crmid, potential.crmid]],
    )
    expect(objects.map((o) => o.setype)).toEqual(['Accounts', 'Contacts', 'Leads', 'Potentials'])
    expect(objects.every((o) => o.deleted === 0 && o.smownerid === USER)).toBe(true)
    expect(objects[1].cbuuid).toBe(con!.cbuuid)
    const nums = await db.query<{semodule: string; cur_id: string}>("SELECT semodule, cur_id FROM vtiger_modentity_num WHERE active = '1' AND semodule IN ('Accounts','Contacts')")
    expect(nums.map((n) => n.cur_id)).toEqual(['12', '12'])
    expect((await db.query<{id: number}>('SELECT id FROM vtiger_crmentity_seq'))[0].id).toBe(potential.crmid)
  })

  it('stores coreBOS empty values: NULL dates, 0 numbers and references, checkboxes 0, empty text', async () => {
    const [c] = await crm.create('Contacts', [{fields: {lastname: 'Empty', account_id: '', birthday: '', emailoptout: null}}], USER)
    const [row] = await db.query<Record<string, unknown>>(
      `SELECT d.accountid, d.reportsto, d.emailoptout, d.donotcall, d.phone, d.firstname, s.birthday, e.description, c.support_start_date
         FROM vtiger_contactdetails d JOIN vtiger_contactsubdetails s ON s.contactsubscriptionid = d.contactid
         JOIN vtiger_crmentity e ON e.crmid = d.contactid JOIN vtiger_customerdetails c ON c.customerid = d.contactid WHERE d.contactid = ?`,
      [c.crmid],
    )
    expect(row).toEqual({accountid: 0, reportsto: 0, emailoptout: '0', donotcall: '0', phone: '', firstname: '', birthday: null, description: '', support_start_date: null})
  })

  it('writes a multipicklist with the coreBOS separator and accepts the control values of an input', async () => {
    const [a] = await crm.create(
      'Accounts',
      [{fields: {accountname: 'Ctl', emailoptout: 'true'}, control: {hubspotid: '987', hubspotsyncwith: '1', hubspotlastsync: '2024-01-02 03:04:05'}}],
      USER,
    )
    const [row] = await db.query<Record<string, unknown>>('SELECT emailoptout, hubspotid, hubspotsyncwith, hubspotlastsync, hubspotcreated FROM vtiger_account WHERE accountid = ?', [a.crmid])
    expect(row).toEqual({emailoptout: '1', hubspotid: '987', hubspotsyncwith: '1', hubspotlastsync: '2024-01-02 03:04:05', hubspotcreated: '0'})
  })

  it('reports a bad record by field and writes the rest of the batch', async () => {
    const results = await crm.create(
      'Contacts',
      [
        {fields: {lastname: 'Good one'}},
        {fields: {lastname: 'Emoji 😀 here'}},
        {fields: {lastname: 'Too long', title: 'x'.repeat(51)}},
        {fields: {firstname: 'No last name'}},
        {fields: {lastname: 'Bad date', birthday: '2024-02-30'}},
        {fields: {lastname: 'Unknown', no_such_field: 'x'}},
        {fields: {lastname: 'Good two'}},
      ],
      USER,
    )
    expect(results.map((r) => r.ok)).toEqual([true, false, false, false, false, false, true])
    expect(results[1].error).toMatch(/input #2.*field 'lastname'.*4-byte/)
    expect(results[2].error).toMatch(/field 'title'.*51 characters.*holds 50/)
    expect(results[3].error).toMatch(/field 'lastname' is mandatory/)
    expect(results[4].error).toMatch(/field 'birthday'.*not a valid date/)
    expect(results[5].error).toMatch(/unknown field 'no_such_field'/)
    for (const r of [results[0], results[6]]) expect(await listViewRow(db, 'Contacts', r.crmid)).toMatchObject({deleted: 0})
    // the two good ones took consecutive numbers
    const nums = await db.query<{contact_no: string}>('SELECT contact_no FROM vtiger_contactdetails WHERE contactid IN (?) ORDER BY contactid', [[results[0].crmid, results[6].crmid]])
    const [n0, n1] = nums.map((n) => Number(n.contact_no.slice(3)))
    expect(n1).toBe(n0 + 1)
  })

  it('finds a row the database rejects after validation by writing the batch one by one', async () => {
    // a unique index the writer knows nothing about: one input collides, the others must still land
    await db.query('CREATE UNIQUE INDEX cbhs_test_name ON vtiger_account (accountname)')
    try {
      const results = await crm.create('Accounts', [{fields: {accountname: 'Dup'}}, {fields: {accountname: 'Dup'}}, {fields: {accountname: 'Unique'}}], USER)
      expect(results.map((r) => r.ok)).toEqual([true, false, true])
      expect(results[1].error).toMatch(/input #2.*Duplicate/)
      expect(await listViewRow(db, 'Accounts', results[2].crmid)).toMatchObject({accountname: 'Unique'})
    } finally {
      await db.query('DROP INDEX cbhs_test_name ON vtiger_account')
    }
  })

  it('updates fields and bumps modifiedtime in the entity row and crmobject', async () => {
    await db.query("UPDATE vtiger_crmentity SET modifiedtime = '2020-01-01 00:00:00' WHERE crmid = ?", [contactId])
    await db.query("UPDATE vtiger_crmobject SET modifiedtime = '2020-01-01 00:00:00' WHERE crmid = ?", [contactId])
    await crm.update('Contacts', contactId, {firstname: 'Augusta', mailingcity: 'London', assigned_user_id: '5', description: 'changed'}, 7)
    const row = await listViewRow(db, 'Contacts', contactId)
    expect(row).toMatchObject({firstname: 'Augusta', lastname: 'Lovelace', mailingcity: 'London', smownerid: 5, modifiedby: 7, description: 'changed'})
    expect(String(row!.modifiedtime) > '2020-01-01 00:00:00').toBe(true)
    const [obj] = await db.query<{modifiedtime: string; smownerid: number}>('SELECT modifiedtime, smownerid FROM vtiger_crmobject WHERE crmid = ?', [contactId])
    expect(obj).toEqual({modifiedtime: row!.modifiedtime, smownerid: 5})
  })

  it('rejects an invalid update naming the field, and an update of a purged record', async () => {
    await expect(crm.update('Contacts', contactId, {email: 'a'.repeat(101)}, USER)).rejects.toThrow(/field 'email'/)
    await expect(crm.update('Contacts', contactId, {lastname: ''}, USER)).rejects.toThrow(/mandatory/)
    const err = await crm.update('Contacts', 999_999, {firstname: 'x'}, USER).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(RecordWriteError)
    expect((err as RecordWriteError).code).toBe('RECORD_NOT_FOUND')
    // an Account id is not a Contact
    await expect(crm.update('Contacts', accountId, {firstname: 'x'}, USER)).rejects.toThrow(/does not exist/)
  })

  it('setControl writes the base table without touching modifiedtime', async () => {
    await db.query("UPDATE vtiger_crmentity SET modifiedtime = '2021-05-05 05:05:05' WHERE crmid = ?", [contactId])
    await crm.setControl('Contacts', contactId, {hubspotid: '123', hubspotlastsync: '2024-06-01 10:00:00', hubspotsyncwith: '1'})
    const [row] = await db.query<Record<string, unknown>>(
      'SELECT d.hubspotid, d.hubspotlastsync, d.hubspotsyncwith, e.modifiedtime FROM vtiger_contactdetails d JOIN vtiger_crmentity e ON e.crmid = d.contactid WHERE d.contactid = ?',
      [contactId],
    )
    expect(row).toEqual({hubspotid: '123', hubspotlastsync: '2024-06-01 10:00:00', hubspotsyncwith: '1', modifiedtime: '2021-05-05 05:05:05'})
    await crm.setControl('Contacts', contactId, {hubspotid: null})
    expect((await db.query<{h: string | null}>('SELECT hubspotid AS h FROM vtiger_contactdetails WHERE contactid = ?', [contactId]))[0].h).toBeNull()
    await expect(crm.setControl('Contacts', contactId, {hubspotid: 'x'.repeat(26)})).rejects.toThrow(/hubspotid/)
  })

  it('trash does what mark_deleted does', async () => {
    await db.query("UPDATE vtiger_crmentity SET modifiedtime = '2021-05-05 05:05:05' WHERE crmid = ?", [accountId])
    await crm.trash('Accounts', accountId, 9)
    expect(await listViewRow(db, 'Accounts', accountId)).toBeNull()
    const [e] = await db.query<Record<string, unknown>>('SELECT deleted, modifiedby, modifiedtime FROM vtiger_crmentity WHERE crmid = ?', [accountId])
    expect(e.deleted).toBe(1)
    expect(e.modifiedby).toBe(9)
    expect(String(e.modifiedtime) > '2021-05-05 05:05:05').toBe(true)
    const [o] = await db.query<Record<string, unknown>>('SELECT deleted, modifiedtime FROM vtiger_crmobject WHERE crmid = ?', [accountId])
    expect(o).toEqual({deleted: 1, modifiedtime: e.modifiedtime})
    await crm.trash('Accounts', 999_999, 9) // purged: nothing to do
  })

  it('numbers from AutoNumberPrefix when its filter handler is active', async () => {
    await installAutoNumberPrefix(db, [
      {module: 'Contacts', prefix: 'C-', format: '00000', current: 42},
      {module: 'Contacts', prefix: 'OLD-', format: '0', current: 1, default1: '0'},
      // date() runs first, so the sprintf conversion's 'd' is escaped as PHP requires
      {module: 'Accounts', prefix: 'A', format: 'Y-%04\\d', current: 7},
      {module: 'Leads', prefix: 'L', format: '000', current: 5, isworkflowexpression: '1'},
      {module: 'Potentials', prefix: 'P&amp;', format: '0000', current: 1},
    ])
    forgetModuleMeta(db.pool as never)
    const contacts = await crm.create('Contacts', [{fields: {lastname: 'A'}}, {fields: {lastname: 'B'}}], USER)
    const nums = await db.query<{contact_no: string}>('SELECT contact_no FROM vtiger_contactdetails WHERE contactid IN (?) ORDER BY contactid', [contacts.map((c) => c.crmid)])
    expect(nums.map((n) => n.contact_no)).toEqual(['C-00042', 'C-00043'])
    expect((await db.query<{current: number}>("SELECT current FROM vtiger_autonumberprefix WHERE prefix = 'C-'"))[0].current).toBe(44)

    const [acc] = await crm.create('Accounts', [{fields: {accountname: 'Dated'}}], USER)
    const [accRow] = await db.query<{account_no: string}>('SELECT account_no FROM vtiger_account WHERE accountid = ?', [acc.crmid])
    expect(accRow.account_no).toBe(`A${new Date().getUTCFullYear()}-0007`)

    const [pot] = await crm.create('Potentials', [{fields: potentialFields(acc.crmid)}], USER)
    expect(await listViewRow(db, 'Potentials', pot.crmid)).toMatchObject({potential_no: 'P&0001'})

    const [lead] = await crm.create('Leads', [{fields: {lastname: 'W', company: 'X'}}], USER)
    expect(lead.ok).toBe(false)
    expect(lead.error).toMatch(/workflow expression/)
    // the legacy counters are no longer used
    const legacy = await db.query<{cur_id: string}>("SELECT cur_id FROM vtiger_modentity_num WHERE semodule = 'Leads' AND active = '1'")
    expect(legacy[0].cur_id).toBe('12')
  })
})
