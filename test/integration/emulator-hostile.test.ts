/**
 * The emulator's hostile modes (src/emulator/hostile.ts), switched over its HTTP control API the way
 * a chaos round or a rehearsal would: each kind lies as documented, `count` limits it, DELETE ends
 * it, and without one the emulator answers as HubSpot does.
 */
import {describe, expect, it} from 'vitest'
import {HOSTILE_ID} from '../../src/emulator/index.js'
import {raw, withEmulator} from '../support/emulator.js'

const LIST = '/crm/objects/2026-03/contacts?limit=100'
const control = (emu: {url: string}, method: string, path: string, body?: unknown) =>
  fetch(`${emu.url}/_emulator/${path}`, {method, headers: {'Content-Type': 'application/json'}, body: body === undefined ? undefined : JSON.stringify(body)})

describe('emulator hostile modes over the control API', () => {
  it('html, emptyBody and wrongShape replace or bend a 200; count limits them; DELETE ends them', async () => {
    await withEmulator({}, async (emu) => {
      emu.control.seed('contacts', [{email: 'a@hostile.test'}])
      expect((await control(emu, 'POST', 'hostile', {kind: 'html', match: '/contacts$', count: 1})).status).toBe(204)
      const html = await raw(emu, 'GET', LIST)
      expect(html.status).toBe(200)
      expect(html.headers.get('content-type')).toMatch(/^text\/html/)
      expect((await raw(emu, 'GET', LIST)).json.results).toHaveLength(1)

      await control(emu, 'POST', 'hostile', {kind: 'emptyBody', match: '/contacts$', count: 1})
      const empty = await raw(emu, 'GET', LIST)
      expect([empty.status, empty.text, empty.headers.get('content-type')]).toEqual([200, '', 'application/json;charset=utf-8'])

      await control(emu, 'POST', 'hostile', {kind: 'wrongShape', match: '/contacts$'})
      expect((await raw(emu, 'GET', LIST)).json).not.toHaveProperty('results')
      expect((await control(emu, 'DELETE', 'hostile')).status).toBe(204)
      expect((await raw(emu, 'GET', LIST)).json.results).toHaveLength(1)
      expect(emu.control.requests().filter((r) => r.hostile).map((r) => r.hostile)).toEqual(['html', 'emptyBody', 'wrongShape'])
    })
  })

  it('duplicateIds, nonDigitIds, badTotal and repeatCursor rewrite pages as documented', async () => {
    await withEmulator({}, async (emu) => {
      const [a] = emu.control.seed('contacts', [{email: 'a@hostile.test'}, {email: 'b@hostile.test'}])
      await control(emu, 'POST', 'hostile', {kind: 'duplicateIds', match: '/contacts$', count: 1})
      expect((await raw(emu, 'GET', LIST)).json.results.map((o: {id: string}) => o.id)).toEqual([a.id, expect.any(String), a.id])

      await control(emu, 'POST', 'hostile', {kind: 'nonDigitIds', match: '/contacts$', count: 1})
      expect((await raw(emu, 'GET', LIST)).json.results[0].id).toBe(HOSTILE_ID)

      await control(emu, 'POST', 'hostile', {kind: 'badTotal', match: '/search$', count: 1})
      const search = await raw(emu, 'POST', '/crm/objects/2026-03/contacts/search', {filterGroups: [], limit: 10})
      expect(search.json.total).toBe(search.json.results.length - 1)

      await control(emu, 'POST', 'hostile', {kind: 'repeatCursor', match: '/contacts$', count: 2})
      const first = (await raw(emu, 'GET', LIST)).json.paging.next.after
      const second = (await raw(emu, 'GET', `${LIST}&after=${first}`)).json.paging.next.after
      expect(second).toBe(first)
    })
  })

  it('redirect answers 302 to the given origin with the same path; an unknown kind is refused', async () => {
    await withEmulator({}, async (emu) => {
      await control(emu, 'POST', 'hostile', {kind: 'redirect', location: 'http://127.0.0.1:9', match: '/contacts$', count: 1})
      const res = await fetch(`${emu.url}${LIST}`, {headers: {Authorization: `Bearer ${emu.token}`}, redirect: 'manual'})
      expect(res.status).toBe(302)
      expect(res.headers.get('location')).toBe('http://127.0.0.1:9/crm/objects/2026-03/contacts?limit=100')
      expect((await control(emu, 'POST', 'hostile', {kind: 'lies'})).status).toBe(400)
      expect((await control(emu, 'POST', 'hostile', {kind: 'redirect'})).status).toBe(400)
    })
  })
})
