/**
 * An engagement follows its parents on the pull side as a comment does on the push side: one
 * whose HubSpot parent cbhs will sync but has not linked yet waits in the ledger and is retried,
 * so it is not lost when its parent links later without the engagement changing; one on nothing
 * cbhs syncs stays in HubSpot without a ledger entry (DESIGN §5.2).
 */
import {describe, expect, it} from 'vitest'
import {asObjectType, type ActivityModule} from '../../src/sync/activity-types.js'
import {MemoryActivities} from '../support/memory/activities.js'
import {buildMemoryEngine, runPull} from '../support/memory/index.js'

const NOTES = asObjectType('notes')
const ACTIVITIES: ActivityModule[] = ['ModComments', 'cbCalendar']

describe('activity pull: parents not linked yet', () => {
  it('a note on a HubSpot contact pulled only in a later pass waits in the ledger and comes with its contact', async () => {
    const kit = await buildMemoryEngine()
    const activities = new MemoryActivities(kit.crm, kit.state)
    kit.engine.activities = activities
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
