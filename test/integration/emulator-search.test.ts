import {describe, expect, it} from 'vitest'
import {ManualClock, raw, withEmulator} from '../support/emulator.js'

async function rejection(p: Promise<unknown>): Promise<{code: number; body: any}> {
  try {
    await p
  } catch (e) {
    return {code: (e as {code: number}).code, body: (e as {body: any}).body}
  }
  throw new Error('expected the call to fail')
}

type Filter = {propertyName: string; operator: string; value?: string; highValue?: string; values?: string[]}
const search = (filters: Filter[][], extra: Record<string, unknown> = {}) => ({
  filterGroups: filters.map((f) => ({filters: f})),
  sorts: [],
  properties: [],
  limit: 100,
  after: '0',
  ...extra,
}) as any

describe('emulator: search', () => {
  it('supports every operator, OR across groups and AND within a group', async () => {
    await withEmulator({}, async (emu, client) => {
      const [a, b, c] = emu.control.seed('contacts', [
        {email: 'ann@acme.com', firstname: 'Ann', lifecyclestage: 'lead', city: 'Madrid'},
        {email: 'bob@acme.com', firstname: 'Bob', lifecyclestage: 'customer'},
        {email: 'cy@other.org', firstname: 'Cy'},
      ])
      const ids = async (filters: Filter[][]) => (await client.crm.contacts.searchApi.doSearch(search(filters))).results.map((r) => r.id)
      expect(await ids([[{propertyName: 'firstname', operator: 'EQ', value: 'ann'}]])).toEqual([a!.id])
      expect(await ids([[{propertyName: 'firstname', operator: 'NEQ', value: 'Ann'}]])).toEqual([b!.id, c!.id])
      expect(await ids([[{propertyName: 'lifecyclestage', operator: 'IN', values: ['lead', 'customer']}]])).toEqual([a!.id, b!.id])
      expect(await ids([[{propertyName: 'lifecyclestage', operator: 'NOT_IN', values: ['lead']}]])).toEqual([b!.id, c!.id])
      expect(await ids([[{propertyName: 'city', operator: 'HAS_PROPERTY'}]])).toEqual([a!.id])
      expect(await ids([[{propertyName: 'city', operator: 'NOT_HAS_PROPERTY'}]])).toEqual([b!.id, c!.id])
      expect(await ids([[{propertyName: 'email', operator: 'CONTAINS_TOKEN', value: '*@acme.com'}]])).toEqual([a!.id, b!.id])
      expect(await ids([[{propertyName: 'hs_object_id', operator: 'GT', value: a!.id}]])).toEqual([b!.id, c!.id])
      expect(await ids([[{propertyName: 'hs_object_id', operator: 'LTE', value: b!.id}]])).toEqual([a!.id, b!.id])
      expect(await ids([[{propertyName: 'hs_object_id', operator: 'BETWEEN', value: b!.id, highValue: c!.id}]])).toEqual([b!.id, c!.id])
      expect(await ids([[{propertyName: 'hs_object_id', operator: 'LT', value: b!.id}], [{propertyName: 'firstname', operator: 'EQ', value: 'Cy'}]])).toEqual([a!.id, c!.id])
      expect(await ids([[{propertyName: 'email', operator: 'CONTAINS_TOKEN', value: '*@acme.com'}, {propertyName: 'lifecyclestage', operator: 'EQ', value: 'customer'}]])).toEqual([b!.id])
      emu.control.archive('contacts', c!.id)
      expect(await ids([])).toEqual([a!.id, b!.id])
    })
  })

  it('compares dates given as epoch-ms strings or ISO, sorts one way, breaks ties by id', async () => {
    await withEmulator({}, async (emu, client) => {
      const t0 = Date.UTC(2024, 0, 1)
      const older = emu.control.seed('companies', [{name: 'old'}], {modifiedAt: t0})
      const same = emu.control.seed('companies', Array.from({length: 5}, (_, i) => ({name: `same${i}`})), {modifiedAt: t0 + 1000})
      const byMs = await client.crm.companies.searchApi.doSearch(search(
        [[{propertyName: 'hs_lastmodifieddate', operator: 'GTE', value: String(t0 + 1000)}]],
        {sorts: [{propertyName: 'hs_lastmodifieddate', direction: 'ASCENDING'}]},
      ))
      expect(byMs.total).toBe(5)
      expect(byMs.results.map((r) => r.id)).toEqual(same.map((s) => s.id))
      const byIso = await client.crm.companies.searchApi.doSearch(search(
        [[{propertyName: 'hs_lastmodifieddate', operator: 'LT', value: new Date(t0 + 1000).toISOString()}]],
      ))
      expect(byIso.results.map((r) => r.id)).toEqual([older[0]!.id])
      const desc = await client.crm.companies.searchApi.doSearch(search([], {sorts: ['-hs_lastmodifieddate']}))
      expect(desc.results.map((r) => r.id)).toEqual([...same.map((s) => s.id), older[0]!.id])
      const two = await rejection(client.crm.companies.searchApi.doSearch(search([], {sorts: [{propertyName: 'name', direction: 'ASCENDING'}, {propertyName: 'domain', direction: 'ASCENDING'}]})))
      expect(two.code).toBe(400)
    })
  })

  it('pages with integer offsets, reports total, and refuses to page past 10,000', async () => {
    await withEmulator({}, async (emu, client) => {
      const stamp = Date.UTC(2024, 5, 1)
      emu.control.seed('contacts', Array.from({length: 10_050}, (_, i) => ({firstname: `p${i}`})), {modifiedAt: stamp})
      const body = (after: string, limit: number) => search(
        [[{propertyName: 'lastmodifieddate', operator: 'GTE', value: String(stamp)}]],
        {sorts: [{propertyName: 'lastmodifieddate', direction: 'ASCENDING'}], limit, after, properties: ['firstname']},
      )
      const first = await client.crm.contacts.searchApi.doSearch(body('0', 200))
      expect(first.total).toBe(10_050)
      expect(first.paging?.next?.after).toBe('200')
      const seen = new Set(first.results.map((r) => r.id))
      let after = first.paging!.next!.after
      while (Number(after) + 200 <= 10_000) {
        const page = await client.crm.contacts.searchApi.doSearch(body(after, 200))
        for (const r of page.results) seen.add(r.id)
        after = page.paging!.next!.after
      }
      expect(seen.size).toBe(10_000)
      expect(after).toBe('10000')
      const beyond = await rejection(client.crm.contacts.searchApi.doSearch(body(after, 200)))
      expect(beyond.code).toBe(400)
      expect(beyond.body.category).toBe('VALIDATION_ERROR')
      expect((await rejection(client.crm.contacts.searchApi.doSearch(body('9900', 200)))).code).toBe(400)
      expect((await rejection(client.crm.contacts.searchApi.doSearch(body('0', 201)))).code).toBe(400)
    })
  })

  it('enforces filter-group and body-size limits', async () => {
    await withEmulator({}, async (emu, client) => {
      const f: Filter = {propertyName: 'firstname', operator: 'EQ', value: 'x'}
      expect((await rejection(client.crm.contacts.searchApi.doSearch(search(Array.from({length: 7}, () => [f]))))).code).toBe(400)
      expect((await rejection(client.crm.contacts.searchApi.doSearch(search([Array.from({length: 7}, () => f)])))).code).toBe(400)
      expect((await rejection(client.crm.contacts.searchApi.doSearch(search(Array.from({length: 4}, () => Array.from({length: 5}, () => f)))))).code).toBe(400)
      expect((await client.crm.contacts.searchApi.doSearch(search(Array.from({length: 3}, () => Array.from({length: 6}, () => f))))).total).toBe(0)
      const big = await raw(emu, 'POST', '/crm/v3/objects/contacts/search', {filterGroups: [], query: 'x'.repeat(3_001)})
      expect(big.status).toBe(400)
      const unknown = await rejection(client.crm.contacts.searchApi.doSearch(search([[{propertyName: 'nope', operator: 'EQ', value: '1'}]])))
      expect(unknown.code).toBe(400)
    })
  })

  it('hides objects modified within the index lag, and carries no rate-limit headers', async () => {
    const clock = new ManualClock()
    await withEmulator({clock, searchLagMs: 5_000, limits: {tenSecondly: 100}}, async (emu, client) => {
      emu.control.seed('deals', [{dealname: 'old', dealstage: 'closedwon'}], {modifiedAt: clock.ms - 60_000})
      await client.crm.deals.basicApi.create({properties: {dealname: 'fresh', dealstage: 'qualifiedtobuy'}, associations: []})
      const before = await client.crm.deals.searchApi.doSearchWithHttpInfo(search([]))
      expect(before.data.results.map((r) => r.properties.dealname)).toEqual(['old'])
      expect(Object.keys(before.headers).some((h) => h.toLowerCase().startsWith('x-hubspot-ratelimit'))).toBe(false)
      clock.advance(5_000)
      const after = await client.crm.deals.searchApi.doSearch(search([]))
      expect(after.results.map((r) => r.properties.dealname)).toEqual(['old', 'fresh'])
      emu.control.update('deals', after.results[0]!.id, {amount: '10'})
      expect((await client.crm.deals.searchApi.doSearch(search([]))).results.map((r) => r.properties.dealname)).toEqual(['fresh'])
    })
  })
})
