import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {createSyncEnv, type SyncEnv} from '../support/sync-env.js'

describe('push: coreBOS → HubSpot', () => {
  let env: SyncEnv
  let accounts: number[]
  let contacts: number[]
  let potentials: number[]

  beforeAll(async () => {
    env = await createSyncEnv()
    accounts = await env.create('Accounts', [
      {accountname: 'Acme Ltd', phone: '+34 600 000 001', website: 'acme.example'},
      {accountname: 'Globex', phone: '+34 600 000 002'},
    ])
    contacts = await env.create('Contacts', [
      {firstname: 'Ada', lastname: 'Lovelace', email: 'ada@acme.example', account_id: String(accounts[0])},
      {firstname: 'Alan', lastname: 'Turing', email: 'alan@globex.example', account_id: String(accounts[1])},
      {firstname: 'Grace', lastname: 'Hopper', email: 'grace@example.org'},
    ])
    potentials = await env.create('Potentials', [
      {potentialname: 'Big deal', related_to: String(accounts[0]), sales_stage: 'Prospecting', closingdate: '2026-12-31', amount: '1500.50'},
      {potentialname: 'Small deal', related_to: String(contacts[2]), sales_stage: 'Closed Won', closingdate: '2026-06-30', amount: '99'},
    ])
  })
  afterAll(async () => env?.close())

  it('creates every record once, with its associations, and links it back', async () => {
    const [report] = await env.pass('push')
    expect(report.failures).toEqual([])
    expect(report.modules.Accounts).toMatchObject({created: 2, failed: 0})
    expect(report.modules.Contacts).toMatchObject({created: 3, failed: 0})
    expect(report.modules.Potentials).toMatchObject({created: 2, failed: 0})

    const companies = env.emu.control.all('companies')
    expect(companies.map((c) => c.properties.name).sort()).toEqual(['Acme Ltd', 'Globex'])
    const ada = env.emu.control.all('contacts').find((c) => c.properties.email === 'ada@acme.example')!
    expect(ada.properties.corebos_crmid).toBe(String(contacts[0]))
    const acme = companies.find((c) => c.properties.name === 'Acme Ltd')!
    expect(env.emu.control.associations('contacts', ada.id, 'companies').map((a) => a.toId)).toEqual([acme.id])

    const deals = env.emu.control.all('deals')
    const big = deals.find((d) => d.properties.dealname === 'Big deal')!
    expect(big.properties.dealstage).toBe('appointmentscheduled')
    expect(big.properties.pipeline).toBe('default')
    expect(big.properties.closedate).toMatch(/^2026-12-31T00:00:00(\.000)?Z$/)
    expect(env.emu.control.associations('deals', big.id, 'companies').map((a) => a.toId)).toEqual([acme.id])
    const small = deals.find((d) => d.properties.dealname === 'Small deal')!
    const grace = env.emu.control.all('contacts').find((c) => c.properties.email === 'grace@example.org')!
    expect(env.emu.control.associations('deals', small.id, 'contacts').map((a) => a.toId)).toEqual([grace.id])

    const [row] = await env.testDb.query<{hubspotid: string; hubspotrecord: string; hubspotlastsync: string | null}>(
      'SELECT hubspotid, hubspotrecord, hubspotlastsync FROM vtiger_contactdetails WHERE contactid = ?',
      [contacts[0]],
    )
    expect(row.hubspotid).toBe(ada.id)
    expect(row.hubspotrecord).toBe(`https://app.hubspot.com/contacts/12345678/record/0-1/${ada.id}`)
    expect(row.hubspotlastsync).not.toBeNull()
  })

  it('makes no write call on a second push with nothing changed', async () => {
    const mark = env.mark()
    const [report] = await env.pass('push')
    expect(env.writesSince(mark)).toEqual([])
    expect(report.failures).toEqual([])
  })

  it('sends exactly the edited records, with only their changed properties', async () => {
    await env.db.records.update('Contacts', contacts[0], {phone: '+44 1111'}, 1)
    await env.db.records.update('Contacts', contacts[1], {phone: '+44 1234', title: 'CTO'}, 1)
    await env.db.records.update('Contacts', contacts[2], {firstname: 'Amazing Grace'}, 1)
    await env.db.records.update('Accounts', accounts[1], {accountname: 'Globex Corp'}, 1)
    await env.db.records.update('Potentials', potentials[1], {amount: '120'}, 1)
    const before = new Map(['contacts', 'companies', 'deals'].flatMap((t) => env.emu.control.all(t).map((o) => [`${t}:${o.id}`, o.updatedAt])))

    const [plan] = await env.pass('push', {'dry-run': true})
    const changes = plan.plan.map((p) => `${p.module} ${p.crmid} ${p.action} ${p.changes.map((c) => c.key).sort().join(',')}`).sort()
    expect(changes).toEqual(
      [
        `Accounts ${accounts[1]} update name`,
        `Contacts ${contacts[0]} update phone`,
        `Contacts ${contacts[1]} update jobtitle,phone`,
        `Contacts ${contacts[2]} update firstname`,
        `Potentials ${potentials[1]} update amount`,
      ].sort(),
    )

    const mark = env.mark()
    const [report] = await env.pass('push')
    expect(report.modules).toMatchObject({Contacts: {updated: 3}, Accounts: {updated: 1}, Potentials: {updated: 1}})
    expect(env.writesSince(mark).map((w) => w.endpoint).sort()).toEqual([
      'POST /crm/objects/2026-03/companies/batch/update',
      'POST /crm/objects/2026-03/contacts/batch/update',
      'POST /crm/objects/2026-03/deals/batch/update',
    ])
    // exactly five objects changed in HubSpot
    const changed = ['contacts', 'companies', 'deals'].flatMap((t) => env.emu.control.all(t).filter((o) => o.updatedAt !== before.get(`${t}:${o.id}`)).map((o) => o.properties.corebos_crmid))
    expect(changed.sort()).toEqual([contacts[0], contacts[1], contacts[2], accounts[1], potentials[1]].map(String).sort())
    const alan = env.emu.control.all('contacts').find((c) => c.properties.email === 'alan@globex.example')!
    expect(alan.properties).toMatchObject({phone: '+44 1234', jobtitle: 'CTO'})
  })

  it('archives a trashed account and its cascaded potentials', async () => {
    // coreBOS trash of an account marks its potentials deleted without a modifiedtime change
    await env.db.records.trash('Accounts', accounts[0], 1)
    await env.testDb.query('UPDATE vtiger_crmentity SET deleted = 1 WHERE crmid = ?', [potentials[0]])
    const [report] = await env.pass('push')
    expect(report.modules.Accounts).toMatchObject({archived: 1})
    expect(report.modules.Potentials).toMatchObject({archived: 1})
    expect(env.emu.control.all('companies').map((c) => c.properties.name)).toEqual(['Globex Corp'])
    expect(env.emu.control.all('deals').map((d) => d.properties.dealname)).toEqual(['Small deal'])
  })
})
