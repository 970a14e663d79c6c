import {describe, expect, it} from 'vitest'
import {raw, withEmulator} from '../support/emulator.js'

describe('emulator: control over HTTP', () => {
  it('seeds, inspects, edits, injects faults and reads the log without auth', async () => {
    await withEmulator({}, async (emu, client) => {
      const ctl = (method: string, path: string, body?: unknown) => raw(emu, method, `/_emulator${path}`, body, null)
      expect((await ctl('GET', '/health')).json.ok).toBe(true)
      const seeded = await ctl('POST', '/seed', {type: 'contacts', properties: [{email: 'a@x.com'}, {email: 'b@x.com'}], modifiedAt: '2024-01-01T00:00:00Z'})
      expect(seeded.status).toBe(200)
      const [a, b] = seeded.json.results
      expect(a.updatedAt).toBe('2024-01-01T00:00:00.000Z')
      const edited = await ctl('PATCH', `/objects/contacts/${a.id}`, {properties: {firstname: 'Edited'}, atMs: Date.UTC(2024, 1, 1)})
      expect(edited.json.properties.firstname).toBe('Edited')
      expect(edited.json.updatedAt).toBe('2024-02-01T00:00:00.000Z')
      expect((await ctl('POST', '/seed', {type: 'contacts', properties: [{email: 'a@x.com'}]})).status).toBe(409)
      expect((await ctl('DELETE', `/objects/contacts/${b.id}`)).status).toBe(204)
      expect((await ctl('GET', '/objects/contacts?archived=true')).json.results.map((o: any) => o.id)).toEqual([b.id])

      await client.crm.contacts.basicApi.getById(a.id)
      expect((await ctl('GET', '/counts')).json).toEqual({'GET /crm/v3/objects/contacts/{id}': 1})
      expect((await ctl('POST', '/faults', {count: 1, kinds: [502], match: '^/crm/v3/objects/contacts$'})).status).toBe(204)
      expect((await raw(emu, 'GET', '/crm/v3/objects/contacts')).status).toBe(502)
      const log = (await ctl('GET', '/requests')).json.results
      expect(log.map((r: any) => [r.method, r.path, r.status])).toEqual([['GET', `/crm/v3/objects/contacts/${a.id}`, 200], ['GET', '/crm/v3/objects/contacts', 502]])
      await ctl('DELETE', '/requests')
      expect(emu.control.requests()).toEqual([])
      expect((await ctl('GET', '/nope')).status).toBe(404)
    })
  })
})
