/**
 * The activity streams' rules over the in-memory ports (src/sync/activities.ts): any sequence of
 * edits, creates and deletes of comments and notes on both sides, with passes in between, ends with
 * one note per comment and one comment per note, equal on both sides, and a further pass writes
 * nothing (DESIGN §5.1, §5.3, §5.5, §5.6).
 */
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {asObjectType, type ActivityModule} from '../../src/sync/activity-types.js'
import {MemoryActivities} from '../support/memory/activities.js'
import {buildMemoryEngine, runPull, runPush, type MemoryKit} from '../support/memory/index.js'

const NOTES = asObjectType('notes')
const ACTIVITIES: ActivityModule[] = ['ModComments', 'cbCalendar']

type Action =
  | {kind: 'crmAdd'; n: number}
  | {kind: 'crmEdit'; ref: number; n: number}
  | {kind: 'crmTrash'; ref: number}
  | {kind: 'hsAdd'; n: number}
  | {kind: 'hsEdit'; ref: number; n: number}
  | {kind: 'hsArchive'; ref: number}
  | {kind: 'pass'; order: 'push' | 'pull' | 'push,pull' | 'pull,push'}
  | {kind: 'wait'; seconds: number}

const ref = fc.nat(8)
const action: fc.Arbitrary<Action> = fc.oneof(
  {arbitrary: fc.record({kind: fc.constant('crmAdd' as const), n: fc.nat(99)}), weight: 2},
  {arbitrary: fc.record({kind: fc.constant('crmEdit' as const), ref, n: fc.nat(99)}), weight: 3},
  {arbitrary: fc.record({kind: fc.constant('crmTrash' as const), ref}), weight: 1},
  {arbitrary: fc.record({kind: fc.constant('hsAdd' as const), n: fc.nat(99)}), weight: 2},
  {arbitrary: fc.record({kind: fc.constant('hsEdit' as const), ref, n: fc.nat(99)}), weight: 3},
  {arbitrary: fc.record({kind: fc.constant('hsArchive' as const), ref}), weight: 1},
  {arbitrary: fc.record({kind: fc.constant('pass' as const), order: fc.constantFrom('push' as const, 'pull' as const, 'push,pull' as const, 'pull,push' as const)}), weight: 3},
  {arbitrary: fc.record({kind: fc.constant('wait' as const), seconds: fc.integer({min: 1, max: 90})}), weight: 2},
)

async function world(): Promise<{kit: MemoryKit; activities: MemoryActivities; contact: number; hsContact: string}> {
  const kit = await buildMemoryEngine()
  const activities = new MemoryActivities(kit.crm, kit.state)
  kit.engine.activities = activities
  const contact = kit.crm.insert('Contacts', {firstname: 'Ada', lastname: 'Lovelace', email: 'ada@x.example'})
  await runPush(kit.engine)
  const hsContact = kit.hubspot.all('contacts')[0].id
  return {kit, activities, contact, hsContact}
}

async function pass(kit: MemoryKit, direction: 'push' | 'pull') {
  kit.clock.advanceSeconds(1)
  const report = direction === 'push' ? await runPush(kit.engine, {activities: ACTIVITIES}) : await runPull(kit.engine, {activities: ACTIVITIES})
  expect(report.failures).toEqual([])
  return report
}

describe('activity streams over the in-memory ports', () => {
  it('any edit sequence converges: one note per comment, equal text, and then a pass writes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, {minLength: 1, maxLength: 12}), async (actions) => {
        const {kit, activities, contact, hsContact} = await world()
        const comments: number[] = []
        const notes: string[] = []
        for (const a of actions) {
          kit.clock.advanceSeconds(1)
          switch (a.kind) {
            case 'crmAdd':
              comments.push(activities.add('ModComments', {commentcontent: `crm ${a.n}`}, [{module: 'Contacts', crmid: contact}]))
              break
            case 'crmEdit': {
              const id = comments[a.ref % Math.max(1, comments.length)]
              if (id !== undefined && !activities.get(id)!.deleted) activities.edit(id, {commentcontent: `crm edit ${a.n}`})
              break
            }
            case 'crmTrash': {
              const id = comments[a.ref % Math.max(1, comments.length)]
              if (id !== undefined && !activities.get(id)!.deleted) activities.trashByUser(id)
              break
            }
            case 'hsAdd': {
              const id = kit.hubspot.create(NOTES, {hs_timestamp: kit.clock.iso(), hs_note_body: `hs ${a.n}`})
              kit.hubspot.associate(NOTES, id, 'contacts', hsContact)
              notes.push(id)
              break
            }
            case 'hsEdit': {
              const live = kit.hubspot.all(NOTES)
              const n = live[a.ref % Math.max(1, live.length)]
              if (n) kit.hubspot.edit(NOTES, n.id, {hs_note_body: `hs edit ${a.n}`})
              break
            }
            case 'hsArchive': {
              const live = kit.hubspot.all(NOTES)
              const n = live[a.ref % Math.max(1, live.length)]
              if (n) kit.hubspot.archiveByUser(NOTES, n.id)
              break
            }
            case 'pass':
              for (const d of a.order.split(',') as Array<'push' | 'pull'>) await pass(kit, d)
              break
            case 'wait':
              kit.clock.advanceSeconds(a.seconds)
          }
        }
        // settle: past the pull's search-lag margin, then both directions until quiet
        kit.clock.advanceSeconds(120)
        for (let i = 0; i < 2; i++) {
          await pass(kit, 'pull')
          await pass(kit, 'push')
        }
        const live = activities.all('ModComments').filter((c) => !c.deleted)
        const liveNotes = kit.hubspot.all(NOTES)
        const links = [...(await kit.state.getLinksByCrmids('ModComments' as never, live.map((c) => c.crmid))).values()].filter((l) => !l.archived)
        expect(links.length).toBe(live.length)
        expect(liveNotes.length).toBe(live.length)
        for (const c of live) {
          const link = links.find((l) => l.crmid === c.crmid)!
          const note = liveNotes.find((n) => n.id === link.hubspotId)
          expect(note, `comment ${c.crmid}`).toBeDefined()
          expect(note!.properties.hs_note_body).toBe(c.fields.commentcontent)
          expect(kit.hubspot.associations(NOTES, note!.id, 'contacts')).toEqual([hsContact])
        }
        const hsBefore = kit.hubspot.writes()
        const crmBefore = activities.writes
        kit.clock.advanceSeconds(120)
        await pass(kit, 'pull')
        await pass(kit, 'push')
        expect(kit.hubspot.writes() - hsBefore).toBe(0)
        expect(activities.writes - crmBefore).toBe(0)
      }),
      {numRuns: 40},
    )
  })

  it("a call's contacts, added and removed on either side with passes in any order, end the same on both sides", async () => {
    const CALLS = asObjectType('calls')
    type Step =
      | {kind: 'crmToggle'; who: number}
      | {kind: 'hsToggle'; who: number}
      | {kind: 'crmEdit'; n: number}
      | {kind: 'hsEdit'; n: number}
      | {kind: 'pass'; order: 'push' | 'pull' | 'push,pull' | 'pull,push'}
    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.record({kind: fc.constant('crmToggle' as const), who: fc.nat(2)}),
      fc.record({kind: fc.constant('hsToggle' as const), who: fc.nat(2)}),
      fc.record({kind: fc.constant('crmEdit' as const), n: fc.nat(9)}),
      fc.record({kind: fc.constant('hsEdit' as const), n: fc.nat(9)}),
      fc.record({kind: fc.constant('pass' as const), order: fc.constantFrom('push' as const, 'pull' as const, 'push,pull' as const, 'pull,push' as const)}),
    )
    await fc.assert(
      fc.asyncProperty(fc.array(step, {minLength: 1, maxLength: 10}), async (steps) => {
        const {kit, activities, contact} = await world()
        const others = [kit.crm.insert('Contacts', {lastname: 'B', email: 'b@x.example'}), kit.crm.insert('Contacts', {lastname: 'C', email: 'c@x.example'})]
        await runPush(kit.engine)
        const people = [contact, ...others]
        const hsOf = async (crmid: number) => (await kit.state.getLinksByCrmids('Contacts', [crmid])).get(crmid)!.hubspotId
        const call = activities.add('cbCalendar', {activitytype: 'Call', subject: 'Call', description: '', dtstart: '2025-03-03 10:00:00', dtend: '2025-03-03 10:10:00', eventstatus: 'Planned'}, [{module: 'Contacts', crmid: contact}])
        await pass(kit, 'push')
        const callId = (await kit.state.getLinksByCrmids('cbCalendar' as never, [call])).get(call)!.hubspotId
        for (const st of steps) {
          kit.clock.advanceSeconds(2)
          if (st.kind === 'crmToggle') {
            const who = people[st.who]
            const now = activities.get(call)!.parents
            activities.relate(call, now.some((p) => p.crmid === who) ? now.filter((p) => p.crmid !== who) : [...now, {module: 'Contacts', crmid: who}])
          } else if (st.kind === 'hsToggle') {
            const id = await hsOf(people[st.who])
            if (kit.hubspot.associations(CALLS, callId, 'contacts').includes(id)) kit.hubspot.dissociate(CALLS, callId, 'contacts', id)
            else kit.hubspot.associate(CALLS, callId, 'contacts', id)
            // a HubSpot user's association change comes with an edit of the call, which is what pull reads
            kit.hubspot.edit(CALLS, callId, {hs_call_body: `touched ${kit.clock.nowMs()}`})
          } else if (st.kind === 'crmEdit') activities.edit(call, {subject: `crm ${st.n}`})
          else if (st.kind === 'hsEdit') kit.hubspot.edit(CALLS, callId, {hs_call_title: `hs ${st.n}`})
          else for (const d of st.order.split(',') as Array<'push' | 'pull'>) await pass(kit, d)
        }
        kit.clock.advanceSeconds(120)
        for (let i = 0; i < 2; i++) {
          await pass(kit, 'pull')
          await pass(kit, 'push')
        }
        const crmSide = await Promise.all(activities.get(call)!.parents.map((p) => hsOf(p.crmid)))
        expect(kit.hubspot.associations(CALLS, callId, 'contacts').sort()).toEqual(crmSide.sort())
        expect(kit.hubspot.get(CALLS, callId)!.properties.hs_call_title).toBe(activities.get(call)!.fields.subject)
        const hsBefore = kit.hubspot.writes()
        const crmBefore = activities.writes
        kit.clock.advanceSeconds(120)
        await pass(kit, 'pull')
        await pass(kit, 'push')
        expect([kit.hubspot.writes() - hsBefore, activities.writes - crmBefore]).toEqual([0, 0])
      }),
      {
        numRuns: 40,
        examples: [
          // both sides add the same contact, then coreBOS takes it off again: HubSpot must follow
          [[{kind: 'hsToggle', who: 1}, {kind: 'crmToggle', who: 1}, {kind: 'pass', order: 'pull'}, {kind: 'crmToggle', who: 1}, {kind: 'pass', order: 'push'}]],
          // both sides take the same contact off, pull, then coreBOS puts it back: HubSpot must follow
          [[{kind: 'crmToggle', who: 0}, {kind: 'hsToggle', who: 0}, {kind: 'pass', order: 'pull'}, {kind: 'crmToggle', who: 0}]],
        ],
      },
    )
  })
})
