/**
 * The activity owner rule (activity-shapes.ts): a shape mapper given the pass's owner lookup pairs
 * assigned_user_id with hubspot_owner_id as a record map's owner entry does, three-way merged; one
 * without a lookup (the in-memory kit, a pass that loaded no owners) carries no owner at all.
 */
import {describe, expect, it} from 'vitest'
import {buildOwnerLookup} from '../../src/maps/owners.js'
import {SHAPES, shapeMapper} from '../../src/sync/activity-shapes.js'
import type {Link} from '../../src/sync/ports.js'
import {settlePair} from '../../src/sync/settle.js'
import type {CrmModule, CrmRecord, HubSpotObject, HubSpotObjectType} from '../../src/sync/types.js'

const owners = buildOwnerLookup(
  [{id: '701', email: 'ana@x.test', archived: false}, {id: '702', email: 'bo@x.test', archived: false}, {id: '709', email: 'stranger@y.test', archived: false}],
  {users: [{id: 20, email: 'ana@x.test', active: true}, {id: 21, email: 'bo@x.test', active: true}], groupIds: [3]},
  1,
)
const note = (fields: Record<string, string | null>, modifiedtime = '2026-05-01 10:00:00'): CrmRecord => ({module: 'ModComments' as CrmModule, crmid: 5, modifiedtime, deleted: false, fields})
const object = (properties: Record<string, string | null>, modified = '2026-05-01T09:00:00Z'): HubSpotObject => ({id: '50', properties: {corebos_crmid: '5', hs_lastmodifieddate: modified, ...properties}, updatedAt: modified})
const link = (crm: Record<string, string | null>, hs: Record<string, string | null>): Link => ({module: 'ModComments' as CrmModule, crmid: 5, objectType: 'notes' as HubSpotObjectType, hubspotId: '50', snapshot: {crm, hs}, associations: {}, archived: false, syncedAt: '2026-04-01T00:00:00Z'})

function settle(r: CrmRecord, o: HubSpotObject, l: Link, stream: 'push' | 'pull') {
  return settlePair({mapper: shapeMapper(SHAPES.notes, 'UTC', owners), record: r, object: o, link: l, reference: null, policy: 'newest', timezone: 'UTC', uniqueProperty: 'corebos_crmid', origin: stream === 'push' ? 'crm' : 'hubspot', writes: {hubspot: stream === 'push', crm: stream === 'pull'}})
}

describe('activity owner rule', () => {
  it('converts users ↔ owners by e-mail; a group goes without owner, an unmatched owner as the default user, each with a warning', () => {
    const m = shapeMapper(SHAPES.notes, 'UTC', owners)
    expect(m.toHubSpot(note({commentcontent: 'x', assigned_user_id: '20'}))).toMatchObject({values: {hubspot_owner_id: '701'}, warnings: []})
    const group = m.toHubSpot(note({commentcontent: 'x', assigned_user_id: '3'}))
    expect(group.values.hubspot_owner_id).toBe('')
    expect(group.warnings).toEqual(['hubspot_owner_id: coreBOS group 3 has no HubSpot owner; sent without owner'])
    expect(m.toCrm(object({hs_note_body: 'x', hubspot_owner_id: '702'})).values.assigned_user_id).toBe('21')
    const stranger = m.toCrm(object({hs_note_body: 'x', hubspot_owner_id: '709'}))
    expect(stranger.values.assigned_user_id).toBe('1')
    expect(stranger.warnings[0]).toMatch(/^assigned_user_id: HubSpot owner 709 \(stranger@y\.test\) has no active coreBOS user/)
    // HubSpot's empty owner keeps the coreBOS one; with nobody in coreBOS yet, the default user
    expect(m.toCrm(object({hs_note_body: 'x'}), {assigned_user_id: '3'}).values.assigned_user_id).toBe('3')
    expect(m.toCrm(object({hs_note_body: 'x'})).values.assigned_user_id).toBe('1')
  })

  it('settles the owner three-way: the side that changed wins, an unmatched pair is no edit', () => {
    const base = link({commentcontent: 'x', assigned_user_id: '20'}, {hs_note_body: 'x', hubspot_owner_id: '701'})
    expect(settle(note({commentcontent: 'x', assigned_user_id: '21'}), object({hs_note_body: 'x', hubspot_owner_id: '701'}), base, 'push').hs).toMatchObject({hubspot_owner_id: '702'})
    expect(settle(note({commentcontent: 'x', assigned_user_id: '20'}), object({hs_note_body: 'x', hubspot_owner_id: '702'}), base, 'pull').crm).toEqual({assigned_user_id: '21'})
    // the default user stood in for an owner coreBOS does not know: neither side changed since
    const unmatched = link({commentcontent: 'x', assigned_user_id: '1'}, {hs_note_body: 'x', hubspot_owner_id: '709'})
    const r = note({commentcontent: 'x', assigned_user_id: '1'})
    const o = object({hs_note_body: 'x', hubspot_owner_id: '709'})
    expect(settle(r, o, unmatched, 'push').hs).toEqual({})
    expect(settle(r, o, unmatched, 'pull').crm).toEqual({})
  })

  it('without a lookup the mapper carries no owner', () => {
    const m = shapeMapper(SHAPES.notes, 'UTC')
    expect(m.toHubSpot(note({commentcontent: 'x', assigned_user_id: '20'})).values).toEqual({hs_note_body: 'x'})
    expect(m.toCrm(object({hs_note_body: 'x', hubspot_owner_id: '701'})).values).toEqual({commentcontent: 'x'})
    expect(m.crmKeys).not.toContain('assigned_user_id')
  })
})
