/**
 * The crmid write-backs a full pull owes the objects it created records for (src/sync/carrier-queue.ts):
 * queued instead of sent with each list page, then sent by the pull streams with the 10-second
 * budget they leave unused; meanwhile the archived check counts a queued object as linked but not
 * carrying the property yet.
 */
import {describe, expect, it} from 'vitest'
import type {PassReport} from '../../src/sync/engine.js'
import {buildMemoryEngine, runPull, type MemoryKit} from '../support/memory/index.js'

const STEP_MS = 7 * 60_000

async function pull(kit: MemoryKit, options: {full?: boolean} = {}): Promise<{report: PassReport; calls: Record<string, number>}> {
  kit.clock.advance(STEP_MS)
  const before = kit.hubspot.callCounts()
  const report = await runPull(kit.engine, options)
  expect(report.failures).toEqual([])
  const calls: Record<string, number> = {}
  for (const [label, n] of Object.entries(kit.hubspot.callCounts())) if (n - (before[label] ?? 0) > 0) calls[label] = n - (before[label] ?? 0)
  return {report, calls}
}

/** n contacts made in HubSpot, none known to coreBOS yet */
async function hubspotContacts(n: number): Promise<{kit: MemoryKit; ids: string[]}> {
  const kit = await buildMemoryEngine()
  const ids = Array.from({length: n}, (_, i) => kit.hubspot.create('contacts', {email: `c${i}@acme.test`, lastname: `Doe${i}`, lifecyclestage: 'customer'}))
  return {kit, ids}
}

/** the objects whose unique property names the record they are linked to */
function carrying(kit: MemoryKit): string[] {
  const crmidOf = new Map(kit.state.allLinks().map((l) => [l.hubspotId, String(l.crmid)]))
  return kit.hubspot.all('contacts').filter((o) => o.properties[kit.hubspot.uniqueProperty] === crmidOf.get(o.id)).map((o) => o.id)
}

describe('the carrier queue', () => {
  it('a full pull on a spent budget sends no write-back; the passes after send what the budget has room for, and the archived check stays quiet', async () => {
    const {kit, ids} = await hubspotContacts(450)
    kit.hubspot.spare = 0
    const first = await pull(kit)
    expect(first.report.modules.Contacts!.created).toBe(450)
    expect(first.calls['batch/update contacts'] ?? 0).toBe(0)
    expect(carrying(kit)).toEqual([])
    expect(await kit.state.countQueuedCarrierWrites('contacts')).toBe(450)

    // room for two batches now: 200 sent, the rest waits; nothing looked archived
    kit.hubspot.spare = 2
    const second = await pull(kit)
    expect(second.calls['batch/update contacts']).toBe(2)
    expect(second.calls['list archived contacts'] ?? 0).toBe(0)
    expect(carrying(kit)).toHaveLength(200)
    expect(await kit.state.countQueuedCarrierWrites('contacts')).toBe(250)

    kit.hubspot.spare = Number.POSITIVE_INFINITY
    const third = await pull(kit)
    expect(third.calls['batch/update contacts']).toBe(3)
    expect(third.calls['list archived contacts'] ?? 0).toBe(0)
    expect(carrying(kit).sort()).toEqual([...ids].sort())
    expect(await kit.state.countQueuedCarrierWrites('contacts')).toBe(0)
    expect(kit.state.allLinks().filter((l) => l.archived)).toEqual([])

    // every object carries its crmid and the count agrees: the idle pass is three searches; the re-read write-backs wrote nothing
    await pull(kit)
    const idle = await pull(kit)
    expect(idle.calls).toEqual({'search companies': 1, 'search contacts': 1, 'search deals': 1})
  })

  it('with room to spare, the full pull sends its own write-backs before it ends', async () => {
    const {kit, ids} = await hubspotContacts(250)
    const first = await pull(kit)
    expect(first.calls['batch/update contacts']).toBe(3)
    expect(carrying(kit).sort()).toEqual([...ids].sort())
    expect(await kit.state.countQueuedCarrierWrites('contacts')).toBe(0)
  })

  it('a queued object archived in HubSpot before its write-back: the others get theirs, and its record is marked deleted', async () => {
    const {kit, ids} = await hubspotContacts(120)
    kit.hubspot.spare = 0
    await pull(kit)
    const victim = ids[37]
    kit.hubspot.archiveByUser('contacts', victim)
    kit.hubspot.spare = Number.POSITIVE_INFINITY
    await pull(kit)
    await pull(kit)
    expect(await kit.state.countQueuedCarrierWrites('contacts')).toBe(0)
    expect(carrying(kit).sort()).toEqual(ids.filter((id) => id !== victim).sort())
    const link = kit.state.allLinks().find((l) => l.hubspotId === victim)!
    expect(link.archived).toBe(true)
    expect(kit.crm.get(link.module, link.crmid)!.fields).toMatchObject({hubspotdeleted: '1'})
    expect(kit.state.allLinks().filter((l) => l.archived)).toHaveLength(1)
  })

  it('a dry run queues nothing and sends nothing', async () => {
    const {kit} = await hubspotContacts(30)
    kit.hubspot.spare = 0
    await pull(kit)
    kit.hubspot.spare = Number.POSITIVE_INFINITY
    kit.clock.advance(STEP_MS)
    const before = kit.hubspot.callCounts()['batch/update contacts'] ?? 0
    await runPull(kit.engine, {dryRun: true})
    expect(kit.hubspot.callCounts()['batch/update contacts'] ?? 0).toBe(before)
    expect(await kit.state.countQueuedCarrierWrites('contacts')).toBe(30)
  })
})
