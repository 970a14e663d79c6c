import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {ManualClock} from '../support/emulator.js'
import {createSyncEnv, type SyncEnv} from '../support/sync-env.js'

interface Row {
  crmid: number
  modifiedtime: string
}

async function modifiedTimes(env: SyncEnv): Promise<Row[]> {
  return env.testDb.query<Row>("SELECT crmid, modifiedtime FROM vtiger_crmentity WHERE setype IN ('Accounts','Contacts','Leads','Potentials') ORDER BY crmid")
}

describe('pull: HubSpot → coreBOS', () => {
  let env: SyncEnv
  const clock = new ManualClock(Date.UTC(2026, 10, 2, 9))

  beforeAll(async () => {
    env = await createSyncEnv({clock})
  })
  afterAll(async () => env?.close())

  it('creates companies, contacts in the module their lifecycle stage says, and deals with related_to', async () => {
    const [acme] = env.emu.control.seed('companies', [{name: 'Acme HubSpot', phone: '+1 555 0100', domain: 'acme.test'}])
    const people = env.emu.control.seed('contacts', [
      {firstname: 'Lea', lastname: 'Lead', email: 'lea@acme.test', lifecyclestage: 'lead'},
      {firstname: 'Carl', lastname: 'Customer', email: 'carl@acme.test', lifecyclestage: 'customer'},
      {firstname: 'Sam', lastname: 'Subscriber', email: 'sam@acme.test', lifecyclestage: 'subscriber'},
    ])
    env.emu.control.associate('contacts', people[1].id, 'companies', acme.id)
    const [deal] = env.emu.control.seed('deals', [{dealname: 'Renewal', dealstage: 'contractsent', pipeline: 'default', amount: '2500', closedate: '2026-12-01T00:00:00.000Z'}])
    env.emu.control.associate('deals', deal.id, 'contacts', people[1].id)
    const [orphan] = env.emu.control.seed('deals', [{dealname: 'Orphan', dealstage: 'qualifiedtobuy', pipeline: 'default'}])
    clock.advance(120_000)

    const [report] = await env.pass('pull')
    expect(report.modules.Accounts).toMatchObject({created: 1})
    expect(report.modules.Leads).toMatchObject({created: 2})
    expect(report.modules.Contacts).toMatchObject({created: 1})
    expect(report.modules.Potentials).toMatchObject({created: 1, failed: 1})
    expect(report.failures).toEqual([expect.objectContaining({module: 'Potentials', hubspotId: orphan.id, category: 'RELATED_PENDING'})])
    // the list pages brought the associations along: none read separately
    expect(Object.keys(report.apiCalls).filter((k) => k.startsWith('associations/read'))).toEqual([])
    // with room in the 10-second budget, the pull sent the crmid write-backs it queued before it ended
    const pulled = await env.testDb.query<{crmid: number; hubspotid: string}>(
      "SELECT crmid, hubspotid FROM (SELECT accountid AS crmid, hubspotid FROM vtiger_account UNION ALL SELECT contactid, hubspotid FROM vtiger_contactdetails UNION ALL SELECT leadid, hubspotid FROM vtiger_leaddetails UNION ALL SELECT potentialid, hubspotid FROM vtiger_potential) r",
    )
    expect(pulled).toHaveLength(5)
    for (const r of pulled) {
      const type = [acme.id].includes(r.hubspotid) ? 'companies' : r.hubspotid === deal.id ? 'deals' : 'contacts'
      expect(env.emu.control.get(type, r.hubspotid)!.properties.corebos_crmid).toBe(String(r.crmid))
    }

    const leads = await env.testDb.query<{lastname: string; hubspotcreated: string; hubspotsyncwith: string}>(
      'SELECT lastname, hubspotcreated, hubspotsyncwith FROM vtiger_leaddetails ORDER BY lastname',
    )
    expect(leads).toEqual([
      {lastname: 'Lead', hubspotcreated: '1', hubspotsyncwith: '1'},
      {lastname: 'Subscriber', hubspotcreated: '1', hubspotsyncwith: '1'},
    ])
    const [carl] = await env.testDb.query<{contactid: number; accountid: number; hubspotid: string}>(
      "SELECT contactid, accountid, hubspotid FROM vtiger_contactdetails WHERE lastname = 'Customer'",
    )
    const [account] = await env.testDb.query<{accountid: number; accountname: string}>('SELECT accountid, accountname FROM vtiger_account')
    expect(account.accountname).toBe('Acme HubSpot')
    expect(carl.accountid).toBe(account.accountid)
    expect(carl.hubspotid).toBe(people[1].id)
    const [potential] = await env.testDb.query<{related_to: number; sales_stage: string; closingdate: string; amount: string}>(
      'SELECT related_to, sales_stage, closingdate, amount FROM vtiger_potential',
    )
    expect(potential).toMatchObject({related_to: carl.contactid, sales_stage: 'Proposal/Price Quote', closingdate: '2026-12-01'})
    expect(Number(potential.amount)).toBe(2500)
  })

  it('writes nothing on a second pull', async () => {
    const before = await modifiedTimes(env)
    clock.advance(600_000)
    const [report] = await env.pass('pull')
    expect(report.modules.Contacts?.updated ?? 0).toBe(0)
    expect(report.modules.Leads?.created ?? 0).toBe(0)
    expect(await modifiedTimes(env)).toEqual(before)
  })

  it('an idle sync (nothing changed) costs three API calls: one search per object type for changes and linked objects', async () => {
    clock.advance(600_000)
    await env.pass('sync')
    clock.advance(600_000)
    const mark = env.mark()
    const [pull, push] = await env.pass('sync')
    expect(push.apiCalls).toEqual({})
    // one search per object type answers both what changed and how many objects are linked
    expect(pull.apiCalls).toEqual({'search companies': 1, 'search contacts': 1, 'search deals': 1})
    expect(env.emu.control.requests().length - mark).toBe(3)
  })

  it('writes nothing to HubSpot on a push right after the pull (no ping-pong)', async () => {
    const mark = env.mark()
    const [report] = await env.pass('push')
    expect(report.failures).toEqual([])
    expect(env.writesSince(mark)).toEqual([])
  })

  it('keeps edits of different fields from both sides, and settles the same field by policy', async () => {
    const [carl] = await env.testDb.query<{contactid: number; hubspotid: string}>("SELECT contactid, hubspotid FROM vtiger_contactdetails WHERE lastname = 'Customer'")
    clock.advance(60_000)
    env.emu.control.update('contacts', carl.hubspotid, {phone: '+1 555 0199', jobtitle: 'CTO (HubSpot)'}, {atMs: clock.nowMs()})
    clock.advance(60_000)
    // coreBOS edits later: 'newest' lets coreBOS win the shared field
    await env.db.records.update('Contacts', carl.contactid, {firstname: 'Carlos', title: 'CTO (coreBOS)'}, 1)
    clock.advance(120_000)

    const [pull] = await env.pass('pull')
    expect(pull.conflicts).toEqual([expect.objectContaining({key: 'title', crm: 'CTO (coreBOS)', hubspot: 'CTO (HubSpot)', winner: 'crm'})])
    const [push] = await env.pass('push')
    expect(push.failures).toEqual([])

    const [row] = await env.testDb.query<{firstname: string; phone: string; title: string}>('SELECT firstname, phone, title FROM vtiger_contactdetails WHERE contactid = ?', [carl.contactid])
    expect(row).toEqual({firstname: 'Carlos', phone: '+1 555 0199', title: 'CTO (coreBOS)'})
    const object = env.emu.control.get('contacts', carl.hubspotid)!
    expect(object.properties).toMatchObject({firstname: 'Carlos', phone: '+1 555 0199', jobtitle: 'CTO (coreBOS)'})
  })

  it('never loses a change made inside the search lag: a later pass picks it up', async () => {
    env.emu.control.setSearchLag(20_000)
    const [lea] = await env.testDb.query<{leadid: number; hubspotid: string}>("SELECT leadid, hubspotid FROM vtiger_leaddetails WHERE lastname = 'Lead'")
    clock.advance(600_000)
    env.emu.control.update('contacts', lea.hubspotid, {firstname: 'Leandra'}, {atMs: clock.nowMs() - 5_000})
    const [first] = await env.pass('pull')
    expect(first.modules.Leads?.updated ?? 0).toBe(0)
    clock.advance(360_000)
    const [second] = await env.pass('pull')
    expect(second.failures).toEqual([])
    expect(second.modules.Leads).toMatchObject({updated: 1})
    const [row] = await env.testDb.query<{firstname: string}>('SELECT firstname FROM vtiger_leaddetails WHERE leadid = ?', [lea.leadid])
    expect(row.firstname).toBe('Leandra')
    env.emu.control.setSearchLag(0)
  })

  it('marks a record whose HubSpot object was archived; the record stays', async () => {
    const [sam] = await env.testDb.query<{leadid: number; hubspotid: string}>("SELECT leadid, hubspotid FROM vtiger_leaddetails WHERE lastname = 'Subscriber'")
    env.emu.control.archive('contacts', sam.hubspotid)
    clock.advance(120_000)
    const [report] = await env.pass('pull')
    expect(report.modules.Leads).toMatchObject({markedDeleted: 1})
    const [row] = await env.testDb.query<{hubspotdeleted: string; hubspotsyncwith: string; hubspotdeletedon: string | null; deleted: number}>(
      'SELECT l.hubspotdeleted, l.hubspotsyncwith, l.hubspotdeletedon, e.deleted FROM vtiger_leaddetails l JOIN vtiger_crmentity e ON e.crmid = l.leadid WHERE leadid = ?',
      [sam.leadid],
    )
    expect(row).toMatchObject({hubspotdeleted: '1', hubspotsyncwith: '0', deleted: 0})
    expect(row.hubspotdeletedon).not.toBeNull()
  })

  it('follows a HubSpot merge of two linked contacts: one record keeps the link, the other is marked', async () => {
    const [a, b] = env.emu.control.seed('contacts', [
      {firstname: 'Twin', lastname: 'One', email: 'one@twins.test', lifecyclestage: 'customer'},
      {firstname: 'Twin', lastname: 'Two', email: 'two@twins.test', lifecyclestage: 'customer'},
    ])
    clock.advance(120_000)
    await env.pass('pull')
    const before = await env.testDb.query<{contactid: number; hubspotid: string}>("SELECT contactid, hubspotid FROM vtiger_contactdetails WHERE firstname = 'Twin' ORDER BY contactid")
    expect(before.map((r) => r.hubspotid)).toEqual([a.id, b.id])
    const survivor = env.emu.control.merge('contacts', a.id, b.id)
    clock.advance(120_000)
    await env.pass('pull')
    const after = await env.testDb.query<{contactid: number; hubspotid: string; hubspotdeleted: string | null}>(
      "SELECT contactid, hubspotid, hubspotdeleted FROM vtiger_contactdetails WHERE firstname = 'Twin' ORDER BY contactid",
    )
    expect(after).toEqual([
      {contactid: before[0].contactid, hubspotid: survivor.id, hubspotdeleted: '0'},
      {contactid: before[1].contactid, hubspotid: b.id, hubspotdeleted: '1'},
    ])
    const links = await env.testDb.query<{crmid: number; hubspot_id: string; archived: number}>("SELECT crmid, hubspot_id, archived FROM cbhs_link WHERE module = 'Contacts' AND crmid IN (?) ORDER BY crmid", [
      before.map((r) => r.contactid),
    ])
    expect(links).toEqual([
      {crmid: before[0].contactid, hubspot_id: survivor.id, archived: 0},
      {crmid: before[1].contactid, hubspot_id: b.id, archived: 1},
    ])
  })
})
