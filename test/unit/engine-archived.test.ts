/**
 * Archived objects in HubSpot are found at a cost per pass that does not grow with HubSpot's archive
 * (issue 19): one search count per object type while nothing went away, a few more calls when a
 * linked object did, the archived list only for a full pull or a mass clean-up.
 */
import {describe, expect, it} from 'vitest'
import type {PassReport} from '../../src/sync/engine.js'
import type {HubSpotObjectType} from '../../src/sync/types.js'
import {buildMemoryEngine, runPull, runPush, type MemoryKit} from '../support/memory/index.js'

const STEP_MS = 7 * 60_000

async function pull(kit: MemoryKit, options: {full?: boolean} = {}): Promise<{report: PassReport; calls: Record<string, number>}> {
  kit.clock.advance(STEP_MS)
  const before = kit.hubspot.callCounts()
  const report = await runPull(kit.engine, options)
  const calls: Record<string, number> = {}
  for (const [label, n] of Object.entries(kit.hubspot.callCounts())) if (n - (before[label] ?? 0) > 0) calls[label] = n - (before[label] ?? 0)
  return {report, calls}
}

async function push(kit: MemoryKit): Promise<void> {
  kit.clock.advance(STEP_MS)
  const report = await runPush(kit.engine)
  expect(report.failures).toEqual([])
}

function total(calls: Record<string, number>): number {
  return Object.values(calls).reduce((a, b) => a + b, 0)
}

/** n synced contacts, plus `archivedElsewhere` contacts archived in HubSpot that coreBOS never had */
async function portal(n: number, archivedElsewhere = 0): Promise<{kit: MemoryKit; crmids: number[]}> {
  const kit = await buildMemoryEngine()
  const crmids: number[] = []
  for (let i = 0; i < n; i++) crmids.push(kit.crm.insert('Contacts', {lastname: `Doe${i}`, email: `c${i}@acme.test`}))
  for (let i = 0; i < archivedElsewhere; i++) kit.hubspot.archiveByUser('contacts', kit.hubspot.create('contacts', {email: `old${i}@gone.test`, lastname: 'Old'}))
  await push(kit)
  await pull(kit)
  return {kit, crmids}
}

function idOf(kit: MemoryKit, type: HubSpotObjectType, crmid: number): string {
  const o = kit.hubspot.all(type).find((x) => x.properties[kit.hubspot.uniqueProperty] === String(crmid))
  if (!o) throw new Error(`no ${type} for ${crmid}`)
  return o.id
}

describe('archived objects', () => {
  it('an idle pull makes one call per object type for them, however many objects HubSpot has archived', async () => {
    const {kit} = await portal(30, 2_500)
    const {calls} = await pull(kit)
    expect(calls['list archived contacts'] ?? 0).toBe(0)
    // per type: one search answers both what changed and how many objects are linked
    expect(calls).toEqual({'search companies': 1, 'search contacts': 1, 'search deals': 1})
  })

  it('a linked object archived in HubSpot marks its record on the next pull, with a handful of calls', async () => {
    const {kit, crmids} = await portal(1_000, 2_500)
    const victim = crmids[613]
    kit.hubspot.archiveByUser('contacts', idOf(kit, 'contacts', victim))
    const {calls} = await pull(kit)
    expect(kit.crm.get('Contacts', victim)!.fields).toMatchObject({hubspotdeleted: '1', hubspotsyncwith: '0'})
    expect(kit.state.allLinks().find((l) => l.crmid === victim)!.archived).toBe(true)
    expect(calls['list archived contacts'] ?? 0).toBe(0)
    // halving 1,000 links down to a range of ≤ 100 and one batch read: far below the 25 archived pages
    expect(total(calls)).toBeLessThanOrEqual(3 + 2 * 4 + 2)
    const marked = crmids.filter((c) => kit.crm.get('Contacts', c)!.fields.hubspotdeleted === '1')
    expect(marked).toEqual([victim])

    const idle = await pull(kit)
    expect(total(idle.calls)).toBe(3)
  })

  it('objects with the unique property that no live link stands behind do not cost a pass more than once', async () => {
    const {kit, crmids} = await portal(300)
    // someone copied the property onto an object cbhs never linked
    kit.hubspot.create('contacts', {email: 'copy@acme.test', lastname: 'Copy', [kit.hubspot.uniqueProperty]: '999999'})
    // the stray copy is pulled as a new Lead, its own crmid written back (which the next pull reads once)
    await pull(kit)
    await pull(kit)
    const settled = await pull(kit)
    expect(settled.calls).toEqual({'search companies': 1, 'search contacts': 1, 'search deals': 1})

    kit.hubspot.archiveByUser('contacts', idOf(kit, 'contacts', crmids[5]))
    await pull(kit)
    expect(kit.crm.get('Contacts', crmids[5])!.fields.hubspotdeleted).toBe('1')
    expect(total((await pull(kit)).calls)).toBe(3)
  })

  it('a record linked within twice the search lag is not taken for archived while search does not show it yet', async () => {
    const {kit} = await portal(50)
    kit.hubspot.searchLagMs = 10 * 60_000
    const fresh = kit.crm.insert('Contacts', {lastname: 'Fresh', email: 'fresh@acme.test'})
    await push(kit)
    await pull(kit)
    expect(kit.crm.get('Contacts', fresh)!.fields.hubspotdeleted).not.toBe('1')
    expect(kit.state.allLinks().filter((l) => l.archived)).toEqual([])
  })

  it('a contact created in HubSpot beside a linked one archived: the one search tells the new one from the carriers, so both are seen', async () => {
    const {kit, crmids} = await portal(200)
    // the new contact joins the search by its modified date, not by the property: counting it as a carrier would cancel the archive out
    const fresh = kit.hubspot.create('contacts', {email: 'new@acme.test', lastname: 'New', lifecyclestage: 'customer'})
    kit.hubspot.archiveByUser('contacts', idOf(kit, 'contacts', crmids[42]))
    const {report} = await pull(kit)
    expect(report.failures).toEqual([])
    expect(kit.crm.get('Contacts', crmids[42])!.fields.hubspotdeleted).toBe('1')
    expect(kit.state.allLinks().some((l) => l.hubspotId === fresh && !l.archived)).toBe(true)
    expect(crmids.filter((c) => kit.crm.get('Contacts', c)!.fields.hubspotdeleted === '1')).toEqual([crmids[42]])
    // the next pass reads the new contact's crmid write-back, then the passes are idle again
    await pull(kit)
    expect(total((await pull(kit)).calls)).toBe(3)
  })

  it('more changes than one search page: the count is asked on its own, the changes are all pulled and the archive still found', async () => {
    const {kit, crmids} = await portal(300)
    const edited = crmids.slice(0, 250)
    for (const c of edited) kit.hubspot.edit('contacts', idOf(kit, 'contacts', c), {firstname: 'Edited'})
    kit.hubspot.archiveByUser('contacts', idOf(kit, 'contacts', crmids[280]))
    const {report, calls} = await pull(kit)
    expect(report.failures).toEqual([])
    expect(edited.filter((c) => kit.crm.get('Contacts', c)!.fields.firstname !== 'Edited')).toEqual([])
    expect(kit.crm.get('Contacts', crmids[280])!.fields.hubspotdeleted).toBe('1')
    // the one search (its page overflowed), the separate count, two pages of changes, then the halving
    expect(calls['search contacts']).toBeGreaterThanOrEqual(4)
    expect(calls['list archived contacts'] ?? 0).toBe(0)
    expect(total((await pull(kit)).calls)).toBe(3)
  })

  it('pull --limit over the one search progresses across passes as the paged search does, none skipped', async () => {
    const progress = async (page: number): Promise<number[]> => {
      const {kit, crmids} = await portal(20)
      // 1: every page overflows, so the changes come from the paged search
      kit.hubspot.recentPage = page
      const edited = crmids.slice(3, 8)
      for (const c of edited) {
        kit.clock.advance(1_000)
        kit.hubspot.edit('contacts', idOf(kit, 'contacts', c), {firstname: 'Edited'})
      }
      const arrived: number[] = []
      for (let i = 0; i < 5; i++) {
        kit.clock.advance(STEP_MS)
        const report = await runPull(kit.engine, {limit: 2})
        expect(report.failures).toEqual([])
        arrived.push(edited.filter((c) => kit.crm.get('Contacts', c)!.fields.firstname === 'Edited').length)
      }
      return arrived
    }
    const folded = await progress(200)
    // a resumed search starts at the last object taken, which counts against the limit again
    expect(folded).toEqual([2, 3, 4, 5, 5])
    expect(await progress(1)).toEqual(folded)
  })

  it('a mass clean-up in HubSpot reads the archived list once instead of halving for every object', async () => {
    const {kit, crmids} = await portal(400)
    const gone = crmids.slice(0, 200)
    for (const c of gone) kit.hubspot.archiveByUser('contacts', idOf(kit, 'contacts', c))
    const {calls} = await pull(kit)
    expect(calls['list archived contacts']).toBe(2)
    expect(gone.map((c) => kit.crm.get('Contacts', c)!.fields.hubspotdeleted)).toEqual(gone.map(() => '1'))
    expect(crmids.filter((c) => kit.crm.get('Contacts', c)!.fields.hubspotdeleted === '1')).toEqual(gone)
    expect(total((await pull(kit)).calls)).toBe(3)
  })

  it('a full pull reads the whole archived list', async () => {
    const {kit, crmids} = await portal(20, 150)
    kit.hubspot.archiveByUser('contacts', idOf(kit, 'contacts', crmids[3]))
    const {calls} = await pull(kit, {full: true})
    expect(calls['list archived contacts']).toBe(2)
    expect(kit.crm.get('Contacts', crmids[3])!.fields.hubspotdeleted).toBe('1')
  })

  it('a dry run reports the mark and remembers nothing', async () => {
    const {kit, crmids} = await portal(40)
    kit.hubspot.archiveByUser('contacts', idOf(kit, 'contacts', crmids[7]))
    kit.clock.advance(STEP_MS)
    const dry = await runPull(kit.engine, {dryRun: true})
    expect(dry.plan.filter((p) => p.action === 'mark-deleted').map((p) => p.crmid)).toEqual([crmids[7]])
    expect(kit.crm.get('Contacts', crmids[7])!.fields.hubspotdeleted).not.toBe('1')
    await pull(kit)
    expect(kit.crm.get('Contacts', crmids[7])!.fields.hubspotdeleted).toBe('1')
  })
})
