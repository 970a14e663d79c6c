/**
 * The emulator's timeline engagements (notes, calls, meetings, tasks, e-mails) through the
 * date-versioned object and association paths cbhs speaks: create with hs_timestamp, search on
 * the modified date, associations to contacts, companies and deals with HubSpot's type ids.
 */
import {describe, expect, it} from 'vitest'
import {raw, withEmulator} from '../support/emulator.js'

const TYPES = ['notes', 'calls', 'meetings', 'tasks', 'emails'] as const
const BODY: Record<(typeof TYPES)[number], Record<string, string>> = {
  notes: {hs_note_body: 'Called about the renewal'},
  calls: {hs_call_title: 'Renewal call', hs_call_body: 'Went well', hs_call_direction: 'OUTBOUND', hs_call_status: 'COMPLETED', hs_call_duration: '600000'},
  meetings: {hs_meeting_title: 'Kick-off', hs_meeting_start_time: '2026-01-05T10:00:00Z', hs_meeting_end_time: '2026-01-05T11:00:00Z', hs_meeting_outcome: 'SCHEDULED'},
  tasks: {hs_task_subject: 'Send the quote', hs_task_status: 'NOT_STARTED', hs_task_priority: 'HIGH'},
  emails: {hs_email_subject: 'Your quote', hs_email_text: 'Attached.', hs_email_direction: 'EMAIL'},
}
/** HubSpot's HUBSPOT_DEFINED ids: engagement → contact, company, deal */
const TO_PARENT: Record<(typeof TYPES)[number], [number, number, number]> = {
  notes: [202, 190, 214],
  calls: [194, 182, 206],
  meetings: [200, 188, 212],
  tasks: [204, 192, 216],
  emails: [198, 186, 210],
}

describe('emulator: engagements', () => {
  it('creates each engagement type with its properties, associated inline with a contact, company and deal', async () => {
    await withEmulator({}, async (emu) => {
      const [contact] = emu.control.seed('contacts', [{email: 'a@x.com'}])
      const [company] = emu.control.seed('companies', [{name: 'Acme'}])
      const [deal] = emu.control.seed('deals', [{dealname: 'D', dealstage: 'closedwon'}])
      for (const type of TYPES) {
        const [toContact, toCompany, toDeal] = TO_PARENT[type]
        const spec = (id: number) => [{associationCategory: 'HUBSPOT_DEFINED', associationTypeId: id}]
        const res = await raw(emu, 'POST', `/crm/objects/2026-03/${type}`, {
          properties: {hs_timestamp: '2026-01-05T09:30:00Z', ...BODY[type]},
          associations: [
            {to: {id: contact!.id}, types: spec(toContact)},
            {to: {id: company!.id}, types: spec(toCompany)},
            {to: {id: deal!.id}, types: spec(toDeal)},
          ],
        })
        expect(res.status, `${type}: ${res.text}`).toBe(201)
        const id = (res.json as {id: string}).id
        const stored = emu.control.get(type, id)!
        expect(stored.properties).toMatchObject({hs_timestamp: '2026-01-05T09:30:00.000Z', ...normalised(BODY[type])})
        expect(emu.control.associations(type, id, 'contacts')).toEqual([{toId: contact!.id, typeIds: [toContact]}])
        expect(emu.control.associations(type, id, 'companies')).toEqual([{toId: company!.id, typeIds: [toCompany]}])
        expect(emu.control.associations(type, id, 'deals')).toEqual([{toId: deal!.id, typeIds: [toDeal]}])
        // seen from the parent, with the inverse type id
        expect(emu.control.associations('contacts', contact!.id, type)).toEqual([{toId: id, typeIds: [toContact - 1]}])
      }
    })
  })

  it('refuses an engagement without hs_timestamp, and an unknown enumeration value, naming the property', async () => {
    await withEmulator({}, async (emu) => {
      const missing = await raw(emu, 'POST', '/crm/objects/2026-03/notes', {properties: {hs_note_body: 'x'}})
      expect(missing.status).toBe(400)
      expect(missing.text).toContain('hs_timestamp')
      const wrong = await raw(emu, 'POST', '/crm/objects/2026-03/calls', {properties: {hs_timestamp: '2026-01-01T00:00:00Z', hs_call_direction: 'SIDEWAYS'}})
      expect(wrong.status).toBe(400)
      expect(wrong.text).toContain('hs_call_direction')
    })
  })

  it('searches engagements on hs_lastmodifieddate, ascending; batch-reads and archives them; reads associations in batch', async () => {
    await withEmulator({}, async (emu) => {
      const [contact] = emu.control.seed('contacts', [{email: 'b@x.com'}])
      const t0 = Date.UTC(2026, 0, 1)
      const notes = emu.control.seed('notes', [{hs_timestamp: String(t0), hs_note_body: 'one'}, {hs_timestamp: String(t0), hs_note_body: 'two'}], {modifiedAt: t0})
      emu.control.update('notes', notes[0]!.id, {hs_note_body: 'one, edited'}, {atMs: t0 + 60_000})
      emu.control.associate('notes', notes[0]!.id, 'contacts', contact!.id)
      const search = await raw(emu, 'POST', '/crm/objects/2026-03/notes/search', {
        filterGroups: [{filters: [{propertyName: 'hs_lastmodifieddate', operator: 'GTE', value: String(t0 + 1)}]}],
        sorts: [{propertyName: 'hs_lastmodifieddate', direction: 'ASCENDING'}],
        properties: ['hs_note_body'],
        limit: 200,
      })
      expect(search.status).toBe(200)
      const results = (search.json as {results: Array<{id: string; properties: Record<string, string>}>}).results
      expect(results.map((r) => [r.id, r.properties.hs_note_body])).toEqual([[notes[0]!.id, 'one, edited']])

      const assoc = await raw(emu, 'POST', '/crm/associations/2026-03/notes/contacts/batch/read', {inputs: [{id: notes[0]!.id}, {id: notes[1]!.id}]})
      expect(assoc.status).toBe(207)
      const found = (assoc.json as {results: Array<{from: {id: string}; to: Array<{toObjectId: string; associationTypes: Array<{typeId: number}>}>}>}).results
      expect(found.map((r) => [r.from.id, r.to.map((t) => [String(t.toObjectId), t.associationTypes[0]!.typeId])])).toEqual([[notes[0]!.id, [[contact!.id, 202]]]])

      const archived = await raw(emu, 'POST', '/crm/objects/2026-03/notes/batch/archive', {inputs: [{id: notes[1]!.id}]})
      expect(archived.status).toBe(204)
      expect(emu.control.all('notes', {archived: true}).map((o) => o.id)).toEqual([notes[1]!.id])
    })
  })
})

function normalised(values: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(values)) out[k] = /^\d{4}-\d\d-\d\dT/.test(v) ? new Date(v).toISOString() : v
  return out
}
