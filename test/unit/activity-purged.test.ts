/**
 * A coreBOS activity purged (the recycle bin emptied: no row, no modifiedtime change) archives its
 * engagement, found through its link as a purged record is (DESIGN §5.6).
 */
import {describe, expect, it} from 'vitest'
import {asObjectType, type ActivityModule} from '../../src/sync/activity-types.js'
import {MemoryActivities} from '../support/memory/activities.js'
import {buildMemoryEngine, runPush} from '../support/memory/index.js'

const ACTIVITIES: ActivityModule[] = ['ModComments', 'cbCalendar']

describe('activity push: purged activities', () => {
  it('a purged comment and a purged call archive their note and call; the next pass writes nothing', async () => {
    const kit = await buildMemoryEngine()
    const activities = new MemoryActivities(kit.crm, kit.state)
    kit.engine.activities = activities
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
