/**
 * Setup leaves the control fields the way coreBOS keeps its own fields: no NULL checkbox, the
 * default-on opt-in as the field's default value, and the lead-conversion mapping that carries a
 * Lead's HubSpot link to its Contact.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {setupCoreBos} from '../../src/corebos/setup.js'
import {LEAD_CONVERSION_FIELDS} from '../../src/corebos/setup-conventions.js'
import {CoreBosRecords} from '../../src/corebos/records.js'
import {forgetModuleMeta} from '../../src/corebos/metadata.js'
import type {CrmRecord} from '../../src/sync/types.js'
import {createTestDatabase, type TestDatabase} from '../support/db.js'
import {addControlColumns, BASE_TABLE} from '../support/corebos-fixtures.js'

const OPT_IN = {Contacts: 'default-on', Accounts: 'explicit', Leads: 'default-on', Potentials: 'explicit'} as const

describe('setup makes the control fields behave as coreBOS fields', () => {
  let db: TestDatabase
  let crm: CoreBosRecords
  const c: number[] = []
  const a: number[] = []
  beforeAll(async () => {
    db = await createTestDatabase()
    // the columns as the legacy integration (or an older cbhs) left them, with records written before
    await addControlColumns(db)
    crm = new CoreBosRecords(db.pool as never, {timezone: 'UTC'})
    for (const r of await crm.create('Contacts', [{fields: {lastname: 'Never asked'}}, {fields: {lastname: 'Ticked'}}, {fields: {lastname: 'Unticked'}}], 1)) c.push(r.crmid)
    for (const r of await crm.create('Accounts', [{fields: {accountname: 'Never asked'}}, {fields: {accountname: 'Ticked'}}], 1)) a.push(r.crmid)
    await db.query('UPDATE vtiger_contactdetails SET hubspotsyncwith = NULL, hubspotcreated = NULL, hubspotdeleted = NULL')
    await db.query("UPDATE vtiger_contactdetails SET hubspotsyncwith = '1', hubspotdeleted = '1' WHERE contactid = ?", [c[1]])
    await db.query("UPDATE vtiger_contactdetails SET hubspotsyncwith = '0' WHERE contactid = ?", [c[2]])
    await db.query("UPDATE vtiger_account SET hubspotsyncwith = NULL, hubspotcreated = '', hubspotdeleted = NULL")
    await db.query("UPDATE vtiger_account SET hubspotsyncwith = '1' WHERE accountid = ?", [a[1]])
  })
  afterAll(async () => db?.drop())

  let first: Awaited<ReturnType<typeof setupCoreBos>>
  it('lists the fills, defaults and mappings in the dry run and makes exactly those', async () => {
    const dry = await setupCoreBos(db.pool, {dryRun: true, database: db.settings.database, optIn: OPT_IN})
    expect(await db.query("SELECT contactid FROM vtiger_contactdetails WHERE hubspotsyncwith IS NULL")).toHaveLength(1)
    first = await setupCoreBos(db.pool, {dryRun: false, database: db.settings.database, optIn: OPT_IN})
    expect(first.changes).toEqual(dry.changes)
    const kinds = (kind: string) => first.changes.filter((x) => x.kind === kind).map((x) => x.target)
    expect(kinds('fill-checkbox').sort()).toEqual(
      ['Accounts.hubspotcreated', 'Accounts.hubspotdeleted', 'Accounts.hubspotsyncwith', 'Contacts.hubspotcreated', 'Contacts.hubspotdeleted', 'Contacts.hubspotsyncwith'].sort(),
    )
    expect(kinds('set-field-default').sort()).toEqual(['Contacts.hubspotsyncwith', 'Leads.hubspotsyncwith'])
    expect(kinds('add-lead-mapping')).toEqual(LEAD_CONVERSION_FIELDS.map((f) => `vtiger_convertleadmapping.${f}`))
  })

  it('leaves no NULL control checkbox, keeping what each record meant', async () => {
    for (const table of Object.values(BASE_TABLE)) {
      const [nulls] = await db.query<{n: number}>(
        `SELECT COUNT(*) AS n FROM ${table} WHERE hubspotsyncwith IS NULL OR hubspotsyncwith = '' OR hubspotcreated IS NULL OR hubspotcreated = '' OR hubspotdeleted IS NULL OR hubspotdeleted = ''`,
      )
      expect(nulls.n, table).toBe(0)
    }
    const contacts = await db.query<Record<string, string>>('SELECT hubspotsyncwith, hubspotcreated, hubspotdeleted FROM vtiger_contactdetails WHERE contactid IN (?) ORDER BY contactid', [c])
    // default-on: never asked meant opted in
    expect(contacts).toEqual([
      {hubspotsyncwith: '1', hubspotcreated: '0', hubspotdeleted: '0'},
      {hubspotsyncwith: '1', hubspotcreated: '0', hubspotdeleted: '1'},
      {hubspotsyncwith: '0', hubspotcreated: '0', hubspotdeleted: '0'},
    ])
    // explicit: never asked meant not opted in
    const accounts = await db.query<{hubspotsyncwith: string}>('SELECT hubspotsyncwith FROM vtiger_account WHERE accountid IN (?) ORDER BY accountid', [a])
    expect(accounts.map((r) => r.hubspotsyncwith)).toEqual(['0', '1'])
  })

  it('gives a default-on module the ticked default and says how to tick the unticked ones', async () => {
    const defaults = await db.query<{tabid: number; defaultvalue: string}>("SELECT tabid, defaultvalue FROM vtiger_field WHERE fieldname = 'hubspotsyncwith' ORDER BY tabid")
    expect(defaults).toEqual([
      {tabid: 2, defaultvalue: ''},
      {tabid: 4, defaultvalue: '1'},
      {tabid: 6, defaultvalue: ''},
      {tabid: 7, defaultvalue: '1'},
    ])
    expect(first.warnings).toEqual([expect.stringContaining("Contacts is default-on, but 1 record(s) have Sync with HubSpot unticked ('0')")])
    expect(first.warnings[0]).toContain("UPDATE vtiger_contactdetails SET hubspotsyncwith = '1' WHERE hubspotsyncwith = '0';")
  })

  it('a record created the way coreBOS creates an untouched one is opted in and read by a default-on pass', async () => {
    forgetModuleMeta(db.pool as never)
    const [fresh] = await crm.create('Contacts', [{fields: {lastname: 'Created after setup'}}], 1)
    const [row] = await db.query<{hubspotsyncwith: string}>('SELECT hubspotsyncwith FROM vtiger_contactdetails WHERE contactid = ?', [fresh.crmid])
    expect(row.hubspotsyncwith).toBe('1')
    const read: CrmRecord[] = []
    for await (const page of crm.readChanged('Contacts', {since: null, optIn: 'default-on', includeDeleted: false, pageSize: 50})) read.push(...page)
    expect(read.map((r) => r.crmid).sort()).toEqual([c[0], c[1], fresh.crmid].sort())
    // under explicit, an untouched new Account stays out
    const [acc] = await crm.create('Accounts', [{fields: {accountname: 'After'}}], 1)
    const [accRow] = await db.query<{hubspotsyncwith: string}>('SELECT hubspotsyncwith FROM vtiger_account WHERE accountid = ?', [acc.crmid])
    expect(accRow.hubspotsyncwith).toBe('0')
  })

  it("registers the Lead → Contact conversion of the control fields, so coreBOS's conversion carries the link", async () => {
    const rows = await db.query<{lead: string; contact: string; accountfid: number; potentialfid: number; editable: number}>(
      `SELECT lf.fieldname AS lead, cf.fieldname AS contact, m.accountfid, m.potentialfid, m.editable
         FROM vtiger_convertleadmapping m
         JOIN vtiger_field lf ON lf.fieldid = m.leadfid AND lf.tabid = 7
         LEFT JOIN vtiger_field cf ON cf.fieldid = m.contactfid AND cf.tabid = 4
        WHERE lf.fieldname LIKE 'hubspot%' ORDER BY m.cfmid`,
    )
    expect(rows).toEqual(LEAD_CONVERSION_FIELDS.map((f) => ({lead: f, contact: f, accountfid: 0, potentialfid: 0, editable: 0})))

    // what vtws_populateConvertLeadEntities does for the new Contact: each mapped Lead field's value
    const [lead] = await crm.create('Leads', [{fields: {lastname: 'Convert', company: 'Co'}, control: {hubspotid: '4242', hubspotsyncwith: '1', hubspotrecord: 'https://app.hubspot.com/contacts/1/contact/4242'}}], 1)
    const [leadRow] = await db.query<Record<string, string>>('SELECT * FROM vtiger_leaddetails WHERE leadid = ?', [lead.crmid])
    const mapping = await db.query<{lead: string; contact: string}>(
      `SELECT lf.columnname AS lead, cf.fieldname AS contact FROM vtiger_convertleadmapping m
         JOIN vtiger_field lf ON lf.fieldid = m.leadfid JOIN vtiger_field cf ON cf.fieldid = m.contactfid WHERE m.contactfid > 0`,
    )
    const control: Record<string, string> = {}
    const fields: Record<string, string> = {}
    for (const m of mapping) {
      if (m.contact.startsWith('hubspot')) control[m.contact] = leadRow[m.lead]
      else fields[m.contact] = leadRow[m.lead] ?? ''
    }
    const [contact] = await crm.create('Contacts', [{fields: {...fields, lastname: 'Convert'}, control}], 1)
    const [row] = await db.query<Record<string, string>>('SELECT hubspotid, hubspotsyncwith, hubspotrecord, hubspotdeleted FROM vtiger_contactdetails WHERE contactid = ?', [contact.crmid])
    expect(row).toEqual({hubspotid: '4242', hubspotsyncwith: '1', hubspotrecord: 'https://app.hubspot.com/contacts/1/contact/4242', hubspotdeleted: '0'})
  })

  it('a second run changes nothing; switching a module to explicit takes its default away', async () => {
    const again = await setupCoreBos(db.pool, {dryRun: false, database: db.settings.database, optIn: OPT_IN})
    expect(again.changes).toEqual([])
    const explicit = await setupCoreBos(db.pool, {dryRun: false, database: db.settings.database, optIn: {...OPT_IN, Contacts: 'explicit'}})
    expect(explicit.changes).toEqual([expect.objectContaining({kind: 'set-field-default', target: 'Contacts.hubspotsyncwith'})])
    const [d] = await db.query<{defaultvalue: string}>("SELECT defaultvalue FROM vtiger_field WHERE tabid = 4 AND fieldname = 'hubspotsyncwith'")
    expect(d.defaultvalue).toBe('')
  })

  it('leaves an admin mapping of a control field to another Contact field alone, with a warning', async () => {
    const [leadField] = await db.query<{fieldid: number}>("SELECT fieldid FROM vtiger_field WHERE tabid = 7 AND fieldname = 'hubspotrecord'")
    await db.query('UPDATE vtiger_convertleadmapping SET contactfid = 75, editable = 1 WHERE leadfid = ?', [leadField.fieldid])
    const result = await setupCoreBos(db.pool, {dryRun: false, database: db.settings.database, optIn: OPT_IN})
    expect(result.changes.filter((x) => x.kind === 'add-lead-mapping')).toEqual([])
    expect(result.warnings).toContainEqual(expect.stringMatching(/maps Leads\.hubspotrecord to Contacts field 75/))
  })
})
