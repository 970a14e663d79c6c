/**
 * What becomes of an activity when its parents or its counterpart come and go, over the in-memory
 * ports: an engagement whose HubSpot parent cbhs will sync but has not linked yet waits in the
 * ledger, as a comment waits for its record (DESIGN §5.2); a purged coreBOS activity archives its
 * engagement, found through its link as a purged record is (§5.6); engagements archived in HubSpot
 * are found the way archived contacts are (archived.ts, issue 19), so an idle pull's calls do not
 * grow with HubSpot's archive.
 */
import {describe, expect, it} from 'vitest'
import {asObjectType, type ActivityModule} from '../../src/sync/activity-types.js'
import {MemoryActivities} from '../support/memory/activities.js'
import {buildMemoryEngine, runPull, runPush, type MemoryKit} from '../support/memory/index.js'

const NOTES = asObjectType('notes')
const ACTIVITIES: ActivityModule[] = ['ModComments', 'cbCalendar']
const STEP_MS = 7 * 60_000

async function world(): Promise<{kit: MemoryKit; activities: MemoryActivities}> {
  const kit = await buildMemoryEngine()
  const activities = new MemoryActivities(kit.crm, kit.state)
  kit.engine.activities = activities
  return {kit, activities}
}

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

describe('activity pull: parents not linked yet', () => {
  it('a note on a HubSpot contact pulled only in a later pass waits in the ledger and comes with its contact', async () => {
    const {kit, activities} = await world()
    const grace = kit.hubspot.create('contacts', {firstname: 'Grace', lastname: 'Hopper', email: 'grace@x.example'})
    const note = kit.hubspot.create(NOTES, {hs_timestamp: '2025-03-03T10:00:00.000Z', hs_note_body: 'met Grace'})
    kit.hubspot.associate(NOTES, note, 'contacts', grace)
    const onNobody = kit.hubspot.create(NOTES, {hs_timestamp: '2025-03-03T10:00:00.000Z', hs_note_body: 'on nobody'})
    // past the search lag: the next pull's watermark passes both notes, so only the ledger can bring one back
    kit.clock.advanceSeconds(600)

    // the contact comes in a later pass: this one pulls the engagements only
    const first = await runPull(kit.engine, {modules: ['Accounts'], activities: ACTIVITIES})
    expect(first.failures.map((f) => [f.hubspotId, f.category])).toEqual([[note, 'PARENT_PENDING']])
    expect(first.failures[0].message).toContain(`contacts ${grace}`)
    expect(activities.all('ModComments')).toEqual([])

    kit.clock.advanceSeconds(6 * 3600)
    const second = await runPull(kit.engine, {activities: ACTIVITIES})
    expect(second.failures).toEqual([])
    const graceCrmid = [...(await kit.state.getLinksByHubSpotIds('contacts', [grace])).values()][0].crmid
    expect(activities.all('ModComments').map((c) => [c.fields.commentcontent, c.parents])).toEqual([['met Grace', [{module: 'Contacts', crmid: graceCrmid}]]])
    expect(await kit.state.dueFailures('notes' as never, 'pull', 100)).toEqual([])
    // the note on nobody stays in HubSpot, and was never in the ledger (first.failures above)
    expect((await kit.state.getLinksByHubSpotIds(NOTES, [onNobody])).size).toBe(0)
    expect(second.modules['notes' as never]).toMatchObject({created: 1})
  })

})

describe('activity push: purged activities', () => {
  it('a purged comment and a purged call archive their note and call; the next pass writes nothing', async () => {
    const {kit, activities} = await world()
    const contact = kit.crm.insert('Contacts', {firstname: 'Ada', lastname: 'Lovelace', email: 'ada@x.example'})
    await runPush(kit.engine)
    const on = [{module: 'Contacts' as const, crmid: contact}]
    const comment = activities.add('ModComments', {commentcontent: 'to be purged'}, on)
    const kept = activities.add('ModComments', {commentcontent: 'stays'}, on)
    const call = activities.add('cbCalendar', {activitytype: 'Call', subject: 'Call', description: '', dtstart: '2025-03-03 10:00:00', dtend: '2025-03-03 10:10:00', eventstatus: 'Planned'}, on)
    kit.clock.advanceSeconds(1)
    expect((await runPush(kit.engine, {activities: ACTIVITIES})).failures).toEqual([])
    const hsOf = async (module: ActivityModule, crmid: number) => (await kit.state.getLinksByCrmids(module as never, [crmid])).get(crmid)!.hubspotId
    const [note, keptNote, hsCall] = [await hsOf('ModComments', comment), await hsOf('ModComments', kept), await hsOf('cbCalendar', call)]

    activities.purgeByUser(comment)
    activities.purgeByUser(call)
    kit.clock.advanceSeconds(5)
    const report = await runPush(kit.engine, {activities: ACTIVITIES})
    expect(report.failures).toEqual([])
    expect(report.modules['ModComments' as never]).toMatchObject({archived: 1})
    expect(report.modules['cbCalendar' as never]).toMatchObject({archived: 1})
    expect(kit.hubspot.all(asObjectType('notes'), {archived: true}).map((o) => o.id)).toEqual([note])
    expect(kit.hubspot.all(asObjectType('calls'), {archived: true}).map((o) => o.id)).toEqual([hsCall])
    expect(kit.hubspot.get(asObjectType('notes'), keptNote)).toBeDefined()

    const before = kit.hubspot.writes()
    kit.clock.advanceSeconds(5)
    expect((await runPush(kit.engine, {activities: ACTIVITIES})).failures).toEqual([])
    expect(kit.hubspot.writes() - before).toBe(0)
  })
})

describe('archived engagements', () => {
  it("an idle pull's calls for notes do not grow with the archive, and a linked note archived in HubSpot trashes its comment", async () => {
    const {kit, activities} = await world()
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
