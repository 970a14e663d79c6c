/**
 * Engagements archived in HubSpot are found the way archived contacts are (archived.ts, issue 19):
 * an idle pull's calls for them do not grow with HubSpot's archive of engagements, and one linked
 * engagement archived in HubSpot still trashes its coreBOS comment on the next pull.
 */
import {describe, expect, it} from 'vitest'
import {asObjectType, type ActivityModule} from '../../src/sync/activity-types.js'
import {MemoryActivities} from '../support/memory/activities.js'
import {buildMemoryEngine, runPull, runPush, type MemoryKit} from '../support/memory/index.js'

const NOTES = asObjectType('notes')
const ACTIVITIES: ActivityModule[] = ['ModComments', 'cbCalendar']
const STEP_MS = 7 * 60_000

async function pull(kit: MemoryKit): Promise<Record<string, number>> {
  kit.clock.advance(STEP_MS)
  const before = kit.hubspot.callCounts()
  const report = await runPull(kit.engine, {activities: ACTIVITIES})
  expect(report.failures).toEqual([])
  const calls: Record<string, number> = {}
  for (const [label, n] of Object.entries(kit.hubspot.callCounts())) if (n - (before[label] ?? 0) > 0) calls[label] = n - (before[label] ?? 0)
  return calls
}

function ofNotes(calls: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(calls).filter(([label]) => label.includes('notes')))
}

describe('archived engagements', () => {
  it("an idle pull's calls for notes do not grow with the archive, and a linked note archived in HubSpot trashes its comment", async () => {
    const kit = await buildMemoryEngine()
    const activities = new MemoryActivities(kit.crm, kit.state)
    kit.engine.activities = activities
    const contact = kit.crm.insert('Contacts', {firstname: 'Ada', lastname: 'Lovelace', email: 'ada@x.example'})
    await runPush(kit.engine)
    const comments = Array.from({length: 20}, (_, i) => activities.add('ModComments', {commentcontent: `comment ${i}`}, [{module: 'Contacts', crmid: contact}]))
    kit.clock.advance(STEP_MS)
    expect((await runPush(kit.engine, {activities: ACTIVITIES})).failures).toEqual([])
    // HubSpot's archive of notes cbhs never had: 50 pages of the archived list
    for (let i = 0; i < 5_000; i++) kit.hubspot.archiveByUser(NOTES, kit.hubspot.create(NOTES, {hs_timestamp: '2025-01-01T00:00:00.000Z', hs_note_body: `old ${i}`}))
    await pull(kit)
    await pull(kit)

    const idle = ofNotes(await pull(kit))
    expect(idle['list archived notes'] ?? 0).toBe(0)
    expect(Object.values(idle).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(2)

    const victim = comments[13]
    const note = (await kit.state.getLinksByCrmids('ModComments' as never, [victim])).get(victim)!.hubspotId
    kit.hubspot.archiveByUser(NOTES, note)
    const after = ofNotes(await pull(kit))
    expect(after['list archived notes'] ?? 0).toBe(0)
    expect(Object.values(after).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(10)
    expect(activities.get(victim)!.deleted).toBe(true)
    expect(activities.all('ModComments').filter((c) => c.deleted).map((c) => c.crmid)).toEqual([victim])
  })
})
