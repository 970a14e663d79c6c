import {afterEach, describe, expect, it} from 'vitest'
import {ManualClock} from '../support/emulator.js'
import {createSyncEnv, type SyncEnv} from '../support/sync-env.js'

let env: SyncEnv | undefined
afterEach(async () => {
  await env?.close()
  env = undefined
})

describe('pull at scale', () => {
  it('brings 20,000 contacts, 500 sharing one modified timestamp, once each into the right module; a second pull writes nothing', async () => {
    const clock = new ManualClock(Date.UTC(2026, 9, 1))
    // cbhs's own cost here, not the throttling a real portal needs (the benchmarks measure that)
    env = await createSyncEnv({clock, env: {CBHS_HUBSPOT_TIER: 'unlimited'}})
    // a first pass on an empty portal, so the next one is an incremental (search) pull
    await env.pass('pull')
    const base = clock.nowMs() + 1000
    const stages = ['subscriber', 'lead', 'marketingqualifiedlead', 'salesqualifiedlead', 'opportunity', 'customer']
    const rows = (from: number, n: number) =>
      Array.from({length: n}, (_, k) => ({firstname: 'P', lastname: `Person ${from + k}`, email: `p${from + k}@scale.test`, lifecyclestage: stages[(from + k) % stages.length]}))
    env.emu.control.seed('contacts', rows(0, 500), {modifiedAt: base})
    for (let i = 500; i < 20_000; i += 500) env.emu.control.seed('contacts', rows(i, 500), {modifiedAt: base + i})
    clock.advance(3_600_000)

    const [report] = await env.pass('pull')
    expect(report.failures).toEqual([])
    // the first three stages land in Leads
    const leads = Array.from({length: 20_000}, (_, k) => k % stages.length).filter((i) => i < 3).length
    expect(report.modules.Leads?.created).toBe(leads)
    expect(report.modules.Contacts?.created).toBe(20_000 - leads)
    expect(Object.keys(report.apiCalls).some((k) => k.startsWith('search'))).toBe(true)
    const [counts] = await env.testDb.query<{contacts: number; leads: number; links: number; distinct_ids: number}>(`SELECT
      (SELECT COUNT(*) FROM vtiger_contactdetails) AS contacts, (SELECT COUNT(*) FROM vtiger_leaddetails) AS leads,
      (SELECT COUNT(*) FROM cbhs_link) AS links, (SELECT COUNT(DISTINCT hubspot_id) FROM cbhs_link) AS distinct_ids`)
    expect(counts).toEqual({contacts: 20_000 - leads, leads, links: 20_000, distinct_ids: 20_000})

    clock.advance(600_000)
    const [[before]] = [await env.testDb.query<{m: string}>("SELECT MAX(modifiedtime) AS m FROM vtiger_crmentity WHERE setype IN ('Contacts','Leads')")]
    const [second] = await env.pass('pull')
    expect(second.modules.Contacts?.created ?? 0).toBe(0)
    expect(second.modules.Contacts?.updated ?? 0).toBe(0)
    expect(second.modules.Leads?.updated ?? 0).toBe(0)
    const [[after]] = [await env.testDb.query<{m: string}>("SELECT MAX(modifiedtime) AS m FROM vtiger_crmentity WHERE setype IN ('Contacts','Leads')")]
    expect(after).toEqual(before)
  }, 300_000)

  it('push → pull → push over 5,000 records with changes on both sides: the third pass writes nothing', async () => {
    const clock = new ManualClock(Date.now())
    env = await createSyncEnv({clock, env: {CBHS_HUBSPOT_TIER: 'unlimited'}})
    const ids: number[] = []
    for (let i = 0; i < 5000; i += 1000) {
      ids.push(...(await env.create('Contacts', Array.from({length: 1000}, (_, k) => ({firstname: 'F', lastname: `Both ${i + k}`, email: `b${i + k}@both.test`, phone: '1'})))))
    }
    const first = await env.pass('push')
    expect(first[0].failures).toEqual([])
    clock.advance(120_000)

    // HubSpot edits the first 1,000 objects' phone; coreBOS edits the last 1,000 records' title
    const objects = env.emu.control.all('contacts')
    for (const o of objects.slice(0, 1000)) env.emu.control.update('contacts', o.id, {phone: '2'}, {atMs: clock.nowMs()})
    for (const id of ids.slice(4000)) await env.db.records.update('Contacts', id, {title: 'Edited'}, 1)
    clock.advance(120_000)

    const [pull] = await env.pass('pull')
    expect(pull.failures).toEqual([])
    expect(pull.modules.Contacts?.updated).toBe(1000)
    clock.advance(120_000)
    const [push] = await env.pass('push')
    expect(push.failures).toEqual([])
    expect(push.modules.Contacts?.updated).toBe(1000)

    clock.advance(120_000)
    const mark = env.mark()
    const [again] = await env.pass('sync')
    expect(again.failures).toEqual([])
    expect(env.writesSince(mark)).toEqual([])
    const edited = env.emu.control.all('contacts').filter((o) => o.properties.jobtitle === 'Edited')
    expect(edited).toHaveLength(1000)
  }, 300_000)
})

describe('pull adopting existing coreBOS records', () => {
  it('links a HubSpot contact to the unlinked coreBOS record with its e-mail, and refuses to guess between two', async () => {
    const clock = new ManualClock(Date.UTC(2026, 9, 1))
    env = await createSyncEnv({clock})
    const [lone] = await env.create('Contacts', [{firstname: 'Lone', lastname: 'Ranger', email: 'lone@adopt.test', phone: '111'}])
    const [twinA, twinB] = await env.create('Leads', [
      {lastname: 'Twin A', company: 'Twins', email: 'twin@adopt.test'},
      {lastname: 'Twin B', company: 'Twins', email: 'twin@adopt.test'},
    ])
    const [hsLone, hsTwin] = env.emu.control.seed('contacts', [
      {firstname: 'Lone', lastname: 'Ranger', email: 'LONE@adopt.test', phone: '222', jobtitle: 'Sheriff', lifecyclestage: 'customer'},
      {lastname: 'Twin', email: 'twin@adopt.test', lifecyclestage: 'lead'},
    ])
    clock.advance(120_000)
    const [report] = await env.pass('pull')
    expect(report.modules.Contacts?.created ?? 0).toBe(0)
    expect(report.modules.Leads?.created ?? 0).toBe(0)
    expect(report.failures).toEqual([
      expect.objectContaining({hubspotId: hsTwin.id, category: 'AMBIGUOUS_MATCH', message: expect.stringContaining(`Leads ${twinA}, Leads ${twinB}`)}),
    ])
    const [row] = await env.testDb.query<{hubspotid: string; phone: string; title: string}>('SELECT hubspotid, phone, title FROM vtiger_contactdetails WHERE contactid = ?', [lone])
    // no common history: the newest side wins the phone both sides set; the title only HubSpot has flows in
    expect(row.hubspotid).toBe(hsLone.id)
    expect(row.title).toBe('Sheriff')
    expect(report.conflicts).toEqual([expect.objectContaining({crmid: lone, key: 'phone'})])
    const [{n}] = await env.testDb.query<{n: number}>('SELECT COUNT(*) AS n FROM vtiger_contactdetails')
    expect(n).toBe(1)
  })
})
