/**
 * coreBOS activity writes are compare-and-set, as record writes are (DESIGN §5 invariant 14): a save
 * a user makes in coreBOS while a pull writes the comment or calendar activity is read and merged
 * again by the policy, never overwritten unseen (the re-merge of test/unit/engine-clocks.test.ts, for
 * the activity streams).
 */
import {describe, expect, it} from 'vitest'
import {asObjectType, type ActivityModule} from '../../src/sync/activity-types.js'
import type {ConflictPolicy} from '../../src/sync/types.js'
import {MemoryActivities} from '../support/memory/activities.js'
import {buildMemoryEngine, runPull, runPush} from '../support/memory/index.js'

const CALLS = asObjectType('calls')
const ACTIVITIES: ActivityModule[] = ['ModComments', 'cbCalendar']

async function raced(policy: ConflictPolicy, save: Record<string, string>, times = 1) {
  const kit = await buildMemoryEngine({conflictPolicy: policy})
  const activities = new MemoryActivities(kit.crm, kit.state)
  kit.engine.activities = activities
  const contact = kit.crm.insert('Contacts', {lastname: 'Lovelace', email: 'ada@cas.example'})
  await runPush(kit.engine)
  const call = activities.add('cbCalendar', {activitytype: 'Call', subject: 'Call', description: 'notes', dtstart: '2025-03-03 10:00:00', dtend: '2025-03-03 10:10:00', eventstatus: 'Planned'}, [{module: 'Contacts', crmid: contact}])
  kit.clock.advanceSeconds(1)
  await runPush(kit.engine, {activities: ACTIVITIES})
  const id = (await kit.state.getLinksByCrmids('cbCalendar' as never, [call])).get(call)!.hubspotId
  kit.clock.advanceSeconds(60)
  kit.hubspot.edit(CALLS, id, {hs_call_title: 'from HubSpot'})
  kit.clock.advanceSeconds(60)
  let left = times
  const hook = (crmid: number) => {
    if (crmid !== call) return
    kit.clock.advanceSeconds(1)
    activities.edit(call, save)
    if (--left > 0) activities.beforeNextUpdate = hook
  }
  activities.beforeNextUpdate = hook
  kit.clock.advanceSeconds(120)
  const report = await runPull(kit.engine, {activities: ACTIVITIES})
  activities.beforeNextUpdate = null
  return {kit, activities, call, id, report}
}

describe('a coreBOS save made while a pull writes an activity', () => {
  it('newest: the later save of the same field wins, is reported as a conflict, and reaches HubSpot', async () => {
    const {kit, activities, call, id, report} = await raced('newest', {subject: 'saved in coreBOS'})
    expect(report.failures).toEqual([])
    expect(activities.get(call)!.fields.subject).toBe('saved in coreBOS')
    expect(report.conflicts.map((c) => [c.crmid, c.winner])).toEqual([[call, 'crm']])
    kit.clock.advanceSeconds(1)
    await runPush(kit.engine, {activities: ACTIVITIES})
    expect(kit.hubspot.get(CALLS, id)!.properties.hs_call_title).toBe('saved in coreBOS')
  })

  it('a save of another field keeps both edits', async () => {
    const {activities, call, report} = await raced('newest', {description: 'a user note'})
    expect(report.failures).toEqual([])
    expect(report.conflicts).toEqual([])
    expect(activities.get(call)!.fields).toMatchObject({subject: 'from HubSpot', description: 'a user note'})
  })

  it('saved before every try: the pass gives up on that activity for now, the save stays, the next pull settles it', async () => {
    const {kit, activities, call, report} = await raced('hubspot', {subject: 'saved again and again'}, 4)
    expect(activities.get(call)!.fields.subject).toBe('saved again and again')
    expect(report.failures.map((f) => [f.crmid, f.category])).toEqual([[call, 'CHANGED_SINCE_READ']])
    kit.clock.advanceSeconds(120)
    const next = await runPull(kit.engine, {activities: ACTIVITIES})
    expect(next.failures).toEqual([])
  })
})
