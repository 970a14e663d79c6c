/**
 * Archived objects over the emulator and MariaDB (issue 19): an idle sync does not list HubSpot's
 * archive, and a linked object archived in HubSpot still marks its record on the next pass.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {ManualClock} from '../support/emulator.js'
import {createSyncEnv, type SyncEnv} from '../support/sync-env.js'

describe('pull: archived objects at a bounded cost', () => {
  let env: SyncEnv
  const clock = new ManualClock(Date.UTC(2026, 10, 2, 9))
  let linked: Array<{id: string}>

  beforeAll(async () => {
    env = await createSyncEnv({clock})
    linked = env.emu.control.seed(
      'contacts',
      Array.from({length: 450}, (_, i) => ({firstname: 'Kept', lastname: `Customer ${i}`, email: `kept${i}@acme.test`, lifecyclestage: 'customer'})),
    )
    // a portal with a history: many more archived contacts than live ones, none ever in coreBOS
    const old = env.emu.control.seed(
      'contacts',
      Array.from({length: 1_200}, (_, i) => ({firstname: 'Old', lastname: `Contact ${i}`, email: `old${i}@gone.test`, lifecyclestage: 'customer'})),
    )
    for (const o of old) env.emu.control.archive('contacts', o.id)
    clock.advance(120_000)
    const [pull] = await env.pass('pull')
    expect(pull.failures).toEqual([])
    expect(pull.modules.Contacts).toMatchObject({created: 450})
    clock.advance(600_000)
    await env.pass('sync')
  }, 120_000)
  afterAll(async () => env?.close())

  it('an idle sync costs one search per object type, not a listing of the archive', async () => {
    clock.advance(600_000)
    const mark = env.mark()
    const [pull, push] = await env.pass('sync')
    expect(push.apiCalls).toEqual({})
    // one search per object type answers both what changed and how many objects are linked
    expect(pull.apiCalls).toEqual({'search companies': 1, 'search contacts': 1, 'search deals': 1})
    expect(env.emu.control.requests().length - mark).toBe(3)
  })

  it('a linked contact archived in HubSpot marks its record on the next pass; the pass after is idle again', async () => {
    const victim = linked[321]
    env.emu.control.archive('contacts', victim.id)
    clock.advance(600_000)
    const [pull] = await env.pass('pull')
    expect(pull.modules.Contacts).toMatchObject({markedDeleted: 1})
    expect(pull.apiCalls['list archived contacts'] ?? 0).toBe(0)
    // halving 450 links to ≤ 100 (3 counts), listing that range and one batch read
    expect(pull.apiCalls['search contacts by corebos_crmid']).toBeLessThanOrEqual(5)
    const marked = await env.testDb.query<{hubspotid: string; hubspotsyncwith: string}>(
      "SELECT hubspotid, hubspotsyncwith FROM vtiger_contactdetails WHERE hubspotdeleted = '1'",
    )
    expect(marked).toEqual([{hubspotid: victim.id, hubspotsyncwith: '0'}])

    clock.advance(600_000)
    const [idle] = await env.pass('pull')
    expect(Object.values(idle.apiCalls).reduce((a, b) => a + b, 0)).toBe(3)
  })

  it('a contact new in HubSpot beside a linked one archived: the one search tells them apart, the new one is pulled and the archive marked', async () => {
    const victim = linked[100]
    const [fresh] = env.emu.control.seed('contacts', [{firstname: 'New', lastname: 'Customer', email: 'new@acme.test', lifecyclestage: 'customer'}])
    env.emu.control.archive('contacts', victim.id)
    clock.advance(600_000)
    const [pull] = await env.pass('pull')
    expect(pull.failures).toEqual([])
    expect(pull.modules.Contacts).toMatchObject({created: 1, markedDeleted: 1})
    // the search's page held the new contact beside the carriers: no separate count
    expect(pull.apiCalls['search contacts']).toBe(1)
    const rows = await env.testDb.query<{hubspotid: string; hubspotdeleted: string}>(
      'SELECT hubspotid, hubspotdeleted FROM vtiger_contactdetails WHERE hubspotid IN (?, ?) ORDER BY hubspotdeleted',
      [fresh.id, victim.id],
    )
    expect(rows).toEqual([
      {hubspotid: fresh.id, hubspotdeleted: '0'},
      {hubspotid: victim.id, hubspotdeleted: '1'},
    ])
  })

  it('linked contacts without corebos_crmid (a full pull killed before its write-back) get it back from the next check, and stay linked', async () => {
    const lost = [linked[10], linked[200], linked[400]]
    // as the kill leaves them: no crmid, modified date untouched, so no search for changes meets them
    for (const o of lost) {
      const before = env.emu.control.get('contacts', o.id)!
      env.emu.control.update('contacts', o.id, {corebos_crmid: ''}, {atMs: Date.parse(before.updatedAt)})
    }
    clock.advance(600_000)
    const [pull] = await env.pass('pull')
    expect(pull.failures).toEqual([])
    expect(pull.modules.Contacts).toMatchObject({markedDeleted: 0})
    const rows = await env.testDb.query<{contactid: number; hubspotid: string}>(
      `SELECT contactid, hubspotid FROM vtiger_contactdetails WHERE hubspotid IN (${lost.map((o) => `'${o.id}'`).join(',')}) AND hubspotdeleted <> '1'`,
    )
    expect(rows).toHaveLength(3)
    for (const row of rows) expect(env.emu.control.get('contacts', row.hubspotid)!.properties.corebos_crmid).toBe(String(row.contactid))

    // the rewritten carriers are counted once search shows them: the pass after reads the three back
    // (the write moved their modified date) with the count in the same search, and the one after is idle
    clock.advance(600_000)
    const [next] = await env.pass('pull')
    expect(next.apiCalls).toEqual({'search contacts': 1, 'search companies': 1, 'search deals': 1, 'associations/read contacts->companies': 1})
    expect(next.modules.Contacts).toMatchObject({updated: 0, created: 0})
    clock.advance(600_000)
    const [idle] = await env.pass('pull')
    expect(Object.values(idle.apiCalls).reduce((a, b) => a + b, 0)).toBe(3)
  })
})
