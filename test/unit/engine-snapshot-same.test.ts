/**
 * A pair read again with nothing changed keeps its link as it is, even when the stored snapshot
 * spells a value the way the other side stores it: an empty HubSpot value as '' or null, an
 * association list missing or empty, an empty coreBOS number or reference as null or '0' (the
 * reconcile over the bad-input corpus rewrote such links on every run).
 */
import {describe, expect, it} from 'vitest'
import {buildMemoryEngine, runPull, runPush} from '../support/memory/index.js'

describe('an unchanged pair keeps its link', () => {
  it('a pull that reads an object back unchanged does not rewrite a snapshot that differs only in how empty is spelled', async () => {
    const kit = await buildMemoryEngine({timezone: 'Europe/Madrid'})
    const acc = kit.crm.insert('Accounts', {accountname: 'Empty Fields Ltd'})
    const con = kit.crm.insert('Contacts', {lastname: 'Doe', email: 'doe@empty.test'})
    await runPush(kit.engine)
    const links = kit.state.allLinks()
    expect(links.map((l) => l.crmid).sort()).toEqual([acc, con].sort())
    // the same empties, spelled the other way: '' for HubSpot's null, null for coreBOS's 0, no association list
    const respelled = links.map((l) => ({
      ...l,
      snapshot: {
        crm: Object.fromEntries(Object.entries(l.snapshot.crm).map(([k, v]) => [k, v === '0' ? null : v])),
        hs: Object.fromEntries(Object.entries(l.snapshot.hs).map(([k, v]) => [k, v === null ? '' : v])),
        associations: {},
      },
      associations: {},
    }))
    await kit.state.saveLinks(respelled)
    const stored = JSON.stringify(kit.state.allLinks())
    // HubSpot objects touched without a change: the pull reads them and settles them
    kit.clock.advance(60_000)
    for (const l of links) kit.hubspot.edit(l.objectType, l.hubspotId, {})
    kit.clock.advance(10 * 60_000)
    const report = await runPull(kit.engine)
    expect(report.failures).toEqual([])
    expect(JSON.stringify(kit.state.allLinks())).toBe(stored)
  })
})
