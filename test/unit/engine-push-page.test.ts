/**
 * A push page's associations go in one call per type, and what waits on them is recorded after
 * it (issue 19), over the in-memory kit.
 */
import {describe, expect, it} from 'vitest'
import {buildMemoryEngine, runPush} from '../support/memory/index.js'

const optIn = {optIn: 'default-on' as const}

describe('push: a page at a time', () => {
  it('associates 450 contacts with their accounts in one call, and links them with the association', async () => {
    const kit = await buildMemoryEngine(optIn)
    const accounts = Array.from({length: 3}, (_, i) => kit.crm.insert('Accounts', {accountname: `Co ${i}`}))
    const contacts = Array.from({length: 450}, (_, i) => kit.crm.insert('Contacts', {lastname: `L${i}`, email: `c${i}@page.test`, account_id: String(accounts[i % 3])}))
    const before = kit.hubspot.callCounts()
    const report = await runPush(kit.engine)
    expect(report.failures).toEqual([])
    const calls = kit.hubspot.callCounts()
    expect((calls['associations/create contacts->companies'] ?? 0) - (before['associations/create contacts->companies'] ?? 0)).toBe(1)
    expect(report.modules.Contacts?.associationsCreated).toBe(450)
    const links = await kit.state.getLinksByCrmids('Contacts', contacts)
    expect(links.size).toBe(450)
    for (const link of links.values()) expect(link.associations.companies).toHaveLength(1)
  })

  it("keeps a contact's pending association open in the ledger, although its link is recorded after the failure", async () => {
    const kit = await buildMemoryEngine(optIn)
    const account = kit.crm.insert('Accounts', {accountname: 'Not pushed yet'})
    const contact = kit.crm.insert('Contacts', {lastname: 'Waits', email: 'waits@page.test', account_id: String(account)})
    const report = await runPush(kit.engine, {modules: ['Contacts']})
    expect(report.modules.Contacts).toMatchObject({created: 1})
    expect((await kit.state.getLinksByCrmids('Contacts', [contact])).size).toBe(1)
    const open = await kit.state.listFailures({})
    expect(open.map((f) => [f.crmid, f.category])).toEqual([[contact, 'ASSOCIATION_PENDING']])
  })
})
