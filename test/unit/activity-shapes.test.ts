/**
 * How engagements and coreBOS activities correspond (src/sync/activity-shapes.ts), and that their
 * pairs settle in the shared three-way merge without echoing a lossy conversion back.
 */
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {SHAPES, engagementOf, shapeMapper} from '../../src/sync/activity-shapes.js'
import type {EngagementType} from '../../src/sync/activity-types.js'
import type {Link} from '../../src/sync/ports.js'
import {settlePair} from '../../src/sync/settle.js'
import type {CrmModule, CrmRecord, HubSpotObject, HubSpotObjectType} from '../../src/sync/types.js'

const record = (fields: Record<string, string | null>, modifiedtime = '2026-05-01 10:00:00'): CrmRecord => ({module: 'cbCalendar' as CrmModule, crmid: 5, modifiedtime, deleted: false, fields})
const object = (properties: Record<string, string | null>, modified = '2026-05-01T09:00:00Z'): HubSpotObject => ({id: '50', properties: {corebos_crmid: '5', hs_lastmodifieddate: modified, ...properties}, updatedAt: modified})

function settle(type: EngagementType, r: CrmRecord, o: HubSpotObject, link: Link | null, stream: 'push' | 'pull', tz = 'Europe/Madrid') {
  return settlePair({mapper: shapeMapper(SHAPES[type], tz), record: r, object: o, link, reference: null, policy: 'newest', timezone: tz, uniqueProperty: 'corebos_crmid', origin: stream === 'push' ? 'crm' : 'hubspot', writes: {hubspot: stream === 'push', crm: stream === 'pull'}})
}

describe('activity shapes', () => {
  it('tells a calendar activity by its type, and leaves coreBOS e-mails out', () => {
    expect(engagementOf('ModComments', null)).toBe('notes')
    expect(['Call', 'Meeting', 'Task', 'Emails', null].map((t) => engagementOf('cbCalendar', t))).toEqual(['calls', 'meetings', 'tasks', null, null])
  })

  it('converts a call both ways in the install timezone: start, duration, status', () => {
    const m = shapeMapper(SHAPES.calls, 'Europe/Madrid')
    const hs = m.toHubSpot(record({subject: 'Call', description: 'x', dtstart: '2026-07-01 10:00:00', dtend: '2026-07-01 10:45:00', eventstatus: 'Held'})).values
    expect(hs).toEqual({hs_call_title: 'Call', hs_call_body: 'x', hs_timestamp: '2026-07-01T08:00:00.000Z', hs_call_duration: '2700000', hs_call_status: 'COMPLETED'})
    const crm = m.toCrm(object({hs_call_title: 'Call', hs_call_body: 'x', hs_timestamp: '2026-07-01T08:00:00.000Z', hs_call_duration: '2700000', hs_call_status: 'BUSY'})).values
    expect(crm).toEqual({subject: 'Call', description: 'x', dtstart: '2026-07-01 10:00:00', dtend: '2026-07-01 10:45:00', eventstatus: 'Not Held'})
  })

  it('a task is due at hs_timestamp (coreBOS dtend); its priority NONE is an empty coreBOS priority', () => {
    const m = shapeMapper(SHAPES.tasks, 'UTC')
    expect(m.toHubSpot(record({subject: 'T', description: '', dtstart: '2026-01-01 09:00:00', dtend: '2026-01-03 17:00:00', eventstatus: 'Pending Input', taskpriority: null})).values)
      .toEqual({hs_task_subject: 'T', hs_task_body: '', hs_timestamp: '2026-01-03T17:00:00.000Z', hs_task_status: 'WAITING', hs_task_priority: 'NONE'})
    expect(m.toCrm(object({hs_task_subject: 'T', hs_timestamp: '2026-01-03T17:00:00.000Z', hs_task_status: 'DEFERRED', hs_task_priority: 'LOW'})).values)
      .toEqual({subject: 'T', description: '', dtend: '2026-01-03 17:00:00', eventstatus: 'Deferred', taskpriority: 'Low'})
  })

  it('a logged e-mail becomes a comment that says what it was; it is never pushed', () => {
    const m = shapeMapper(SHAPES.emails, 'UTC')
    expect(m.canPush).toBe(false)
    expect(m.toCrm(object({hs_email_subject: 'Hello', hs_email_text: 'Body', hs_email_direction: 'INCOMING_EMAIL'})).values).toEqual({commentcontent: 'E-mail received: Hello\n\nBody'})
  })

  it('a lossy status (HubSpot BUSY is coreBOS Not Held, which goes back as NO_ANSWER) is never echoed, whatever else changes', () => {
    // after the pull that wrote "Not Held" for BUSY, the snapshot holds each side in its own form
    const link: Link = {module: 'cbCalendar' as CrmModule, crmid: 5, objectType: 'calls' as HubSpotObjectType, hubspotId: '50', archived: false, syncedAt: '', associations: {},
      snapshot: {crm: {subject: 'C', description: '', dtstart: '2026-07-01 10:00:00', dtend: '2026-07-01 10:45:00', eventstatus: 'Not Held'},
        hs: {hs_call_title: 'C', hs_call_body: '', hs_timestamp: '2026-07-01T08:00:00.000Z', hs_call_duration: '2700000', hs_call_status: 'BUSY', hs_call_direction: null}}}
    fc.assert(fc.property(fc.string({maxLength: 12}), fc.constantFrom('push', 'pull') as fc.Arbitrary<'push' | 'pull'>, (subject, stream) => {
      const r = record({...link.snapshot.crm, subject})
      const o = object({...link.snapshot.hs})
      const s = settle('calls', r, o, link, stream)
      expect(s.hs.hs_call_status).toBeUndefined()
      expect(s.crm.eventstatus).toBeUndefined()
      expect(s.next.hs.hs_call_status).toBe('BUSY')
      expect(s.next.crm.eventstatus).toBe('Not Held')
    }))
  })

  it('an edit on one side only flows to the other; the same field edited on both sides is a conflict the newest wins', () => {
    const link: Link = {module: 'ModComments' as CrmModule, crmid: 5, objectType: 'notes' as HubSpotObjectType, hubspotId: '50', archived: false, syncedAt: '', associations: {},
      snapshot: {crm: {commentcontent: 'a', createdtime: '2026-01-01 00:00:00'}, hs: {hs_note_body: 'a', hs_timestamp: '2026-01-01T00:00:00.000Z'}}}
    const r = (text: string, at: string) => ({...record({commentcontent: text, createdtime: '2026-01-01 00:00:00'}, at), module: 'ModComments' as CrmModule})
    expect(settle('notes', r('b', '2026-05-01 10:00:00'), object({hs_note_body: 'a'}), link, 'push', 'UTC').hs).toEqual({hs_note_body: 'b'})
    const both = settle('notes', r('b', '2026-05-01 10:00:00'), object({hs_note_body: 'c'}, '2026-05-01T11:00:00Z'), link, 'pull', 'UTC')
    expect(both.conflicts.map((c) => [c.key, c.winner])).toEqual([['commentcontent', 'hubspot']])
    expect(both.crm).toEqual({commentcontent: 'c'})
  })
})
