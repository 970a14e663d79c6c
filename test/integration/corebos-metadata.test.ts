import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {forgetModuleMeta, loadModuleMeta} from '../../src/corebos/metadata.js'
import {createTestDatabase, type TestDatabase} from '../support/db.js'
import {addControlColumns} from '../support/corebos-fixtures.js'
import {ConfigError} from '../../src/errors.js'

describe('loadModuleMeta on the real 2021 schema', () => {
  let db: TestDatabase
  beforeAll(async () => {
    db = await createTestDatabase()
  })
  afterAll(async () => db?.drop())
  const pool = () => db.pool as never

  it('lists every module table with its key, base table first, crmentity excluded', async () => {
    const expected = {
      Contacts: [['vtiger_contactdetails', 'contactid'], ['vtiger_contactaddress', 'contactaddressid'], ['vtiger_contactsubdetails', 'contactsubscriptionid'], ['vtiger_contactscf', 'contactid'], ['vtiger_customerdetails', 'customerid']],
      Accounts: [['vtiger_account', 'accountid'], ['vtiger_accountbillads', 'accountaddressid'], ['vtiger_accountshipads', 'accountaddressid'], ['vtiger_accountscf', 'accountid']],
      Leads: [['vtiger_leaddetails', 'leadid'], ['vtiger_leadaddress', 'leadaddressid'], ['vtiger_leadsubdetails', 'leadsubscriptionid'], ['vtiger_leadscf', 'leadid']],
      Potentials: [['vtiger_potential', 'potentialid'], ['vtiger_potentialscf', 'potentialid']],
    } as const
    for (const [module, tables] of Object.entries(expected)) {
      const meta = await loadModuleMeta(pool(), module as keyof typeof expected)
      expect(meta.tables.map((t) => [t.name, t.key])).toEqual(tables)
      expect(meta).toMatchObject({module, baseTable: tables[0][0], baseKey: tables[0][1], entityTable: 'vtiger_crmentity', denormalized: false})
    }
    expect((await loadModuleMeta(pool(), 'Potentials')).tabid).toBe(2)
  })

  it('maps field names to their table and column, with types from information_schema', async () => {
    const contacts = await loadModuleMeta(pool(), 'Contacts')
    expect(contacts.numberField).toBe('contact_no')
    expect(contacts.fields.get('account_id')).toMatchObject({table: 'vtiger_contactdetails', column: 'accountid', uitype: 10, sqlType: 'int', maxLength: null, referenceModules: ['Accounts']})
    expect(contacts.fields.get('contact_id')).toMatchObject({column: 'reportsto', referenceModules: ['Contacts']})
    expect(contacts.fields.get('salutationtype')).toMatchObject({column: 'salutation'})
    expect(contacts.fields.get('assigned_user_id')).toMatchObject({table: 'vtiger_crmentity', column: 'smownerid', uitype: 53, mandatory: true})
    expect(contacts.fields.get('created_user_id')).toMatchObject({column: 'smcreatorid'})
    expect(contacts.fields.get('lastname')).toMatchObject({mandatory: true, dataType: 'V', maxLength: 80, sqlType: 'varchar', displaytype: 1})
    expect(contacts.fields.get('email')).toMatchObject({dataType: 'E', mandatory: false, maxLength: 100})
    expect(contacts.fields.get('birthday')).toMatchObject({table: 'vtiger_contactsubdetails', dataType: 'D', sqlType: 'date'})
    expect(contacts.fields.get('support_end_date')).toMatchObject({dataType: 'D', table: 'vtiger_customerdetails'})
    expect(contacts.fields.get('leadsource')!.picklistValues).toContain('Cold Call')

    const potentials = await loadModuleMeta(pool(), 'Potentials')
    expect(potentials.fields.has('campaignrelstatus')).toBe(false) // pseudo-field outside the module tables
    expect(potentials.fields.get('related_to')).toMatchObject({mandatory: true, referenceModules: ['Accounts', 'Contacts']})
    expect(potentials.fields.get('opportunity_type')).toMatchObject({column: 'potentialtype', uitype: 15})
    expect(potentials.fields.get('description')).toMatchObject({table: 'vtiger_crmentity', column: 'description'})
    expect(potentials.fields.get('amount')).toMatchObject({sqlType: 'decimal', dataType: 'N'})
    expect(potentials.fields.get('sales_stage')!.picklistValues!.length).toBeGreaterThan(3)

    const leads = await loadModuleMeta(pool(), 'Leads')
    expect(leads.fields.get('phone')).toMatchObject({table: 'vtiger_leadaddress'})
    expect(leads.fields.get('website')).toMatchObject({table: 'vtiger_leadsubdetails'})
    expect(leads.fields.get('company')).toMatchObject({mandatory: true})
    const accounts = await loadModuleMeta(pool(), 'Accounts')
    expect(accounts.fields.get('account_id')).toMatchObject({column: 'parentid'})
    expect(accounts.fields.get('annual_revenue')).toMatchObject({column: 'annualrevenue'})
  })

  it('has no control fields until their columns exist, then all seven', async () => {
    const before = await loadModuleMeta(pool(), 'Accounts')
    expect(before.fields.has('hubspotid')).toBe(false)
    await addControlColumns(db, ['Accounts', 'Leads'])
    await addControlColumns(db, ['Contacts'], {withFields: true})
    // cached per pool until told otherwise
    expect((await loadModuleMeta(pool(), 'Accounts')).fields.has('hubspotid')).toBe(false)
    forgetModuleMeta(pool())
    const accounts = await loadModuleMeta(pool(), 'Accounts')
    expect(accounts.fields.get('hubspotid')).toMatchObject({table: 'vtiger_account', column: 'hubspotid', maxLength: 25, uitype: 1})
    expect(accounts.fields.get('hubspotlastsync')).toMatchObject({sqlType: 'datetime', uitype: 70, displaytype: 2})
    expect(accounts.fields.get('hubspotsyncwith')).toMatchObject({uitype: 56, maxLength: 3})
    const contacts = await loadModuleMeta(pool(), 'Contacts')
    expect(contacts.fields.get('hubspotrecord')).toMatchObject({label: 'HubSpot Record', uitype: 17, displaytype: 4, maxLength: 250})
  })

  it('fails with a ConfigError on a database that is not coreBOS', async () => {
    const empty = await createTestDatabase({empty: true})
    try {
      await expect(loadModuleMeta(empty.pool as never, 'Contacts')).rejects.toBeInstanceOf(ConfigError)
    } finally {
      await empty.drop()
    }
  })
})
