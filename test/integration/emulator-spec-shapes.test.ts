/**
 * The emulator against HubSpot's published specification (HubSpot-public-api-spec-collection, the
 * 2026-03 association, object and error schemas): association ids are strings, `label` is a string
 * or absent, batch errors carry `subCategory` as an object, every error body has a `category`
 * (429s too), search takes up to six filter groups, and association batch calls are exempt from the
 * ten-secondly limit like search.
 */
import {describe, expect, it} from 'vitest'
import {raw, withEmulator} from '../support/emulator.js'

const spec = (associationTypeId: number) => ({associationCategory: 'HUBSPOT_DEFINED', associationTypeId})

// the legacy v4 family stays while the client's generated v4 calls in emulator-associations.test.ts use it
const FAMILIES = ['/crm/associations/2026-03', '/crm/v4/associations'] as const

describe('emulator: shapes as HubSpot specifies them', () => {
  for (const base of FAMILIES) {
    it(`${base}: association ids are strings and labels are strings or absent (never null)`, async () => {
      await withEmulator({}, async (emu) => {
        const [contact] = emu.control.seed('contacts', [{email: 'a@x.com'}])
        const [company] = emu.control.seed('companies', [{name: 'One'}])
        const created = await raw(emu, 'POST', `${base}/contacts/companies/batch/create`, {
          inputs: [{from: {id: contact!.id}, to: {id: company!.id}, types: [spec(279)]}],
        })
        expect(created.status).toBe(201)
        expect(created.json.results).toEqual([
          {fromObjectTypeId: '0-1', fromObjectId: contact!.id, toObjectTypeId: '0-2', toObjectId: company!.id, labels: []},
        ])

        const read = await raw(emu, 'POST', `${base}/contacts/companies/batch/read`, {inputs: [{id: contact!.id}]})
        expect(read.status).toBe(200)
        const [result] = read.json.results
        expect(result.from).toEqual({id: contact!.id})
        expect(result.to).toEqual([{toObjectId: company!.id, associationTypes: [{category: 'HUBSPOT_DEFINED', typeId: 279}]}])
        // 279 is unlabelled: the key is left out rather than sent as null
        expect(JSON.stringify(read.json)).not.toContain('null')

        const primary = await raw(emu, 'POST', `${base}/contacts/companies/batch/create`, {
          inputs: [{from: {id: contact!.id}, to: {id: company!.id}, types: [spec(1)]}],
        })
        expect(primary.json.results[0].labels).toEqual(['Primary'])
        const again = await raw(emu, 'POST', `${base}/contacts/companies/batch/read`, {inputs: [{id: contact!.id}]})
        expect(again.json.results[0].to[0].associationTypes).toEqual([
          {category: 'HUBSPOT_DEFINED', typeId: 1, label: 'Primary'},
          {category: 'HUBSPOT_DEFINED', typeId: 279},
        ])
      })
    })

    it(`${base}: a 207's errors carry subCategory as an object, with status, category, context, errors and links`, async () => {
      await withEmulator({}, async (emu) => {
        const [contact] = emu.control.seed('contacts', [{email: 'a@x.com'}])
        const read = await raw(emu, 'POST', `${base}/contacts/companies/batch/read`, {inputs: [{id: contact!.id}]})
        expect(read.status).toBe(207)
        const [error] = read.json.errors
        expect(error).toMatchObject({status: 'error', category: 'OBJECT_NOT_FOUND', context: {fromObjectId: [contact!.id]}, errors: [], links: {}})
        expect(typeof error.message).toBe('string')
        expect(error.subCategory).toEqual({name: 'crm.associations.NO_ASSOCIATIONS_FOUND'})

        const created = await raw(emu, 'POST', `${base}/contacts/companies/batch/create`, {
          inputs: [{from: {id: contact!.id}, to: {id: '999999'}, types: [spec(999)]}],
        })
        expect(created.status).toBe(207)
        expect(created.json.errors[0].subCategory).toEqual({name: 'crm.associations.INVALID_ASSOCIATION_TYPE'})
      })
    })
  }

  it('a 429 body has a category beside errorType and policyName: from the limits and from an injected fault', async () => {
    await withEmulator({limits: {tenSecondly: 2}}, async (emu) => {
      for (let i = 0; i < 2; i++) expect((await raw(emu, 'GET', '/crm/objects/2026-03/contacts')).status).toBe(200)
      const limited = await raw(emu, 'GET', '/crm/objects/2026-03/contacts')
      expect(limited.status).toBe(429)
      expect(limited.json).toMatchObject({status: 'error', category: 'RATE_LIMITS', errorType: 'RATE_LIMIT', policyName: 'TEN_SECONDLY_ROLLING'})
      expect(typeof limited.json.correlationId).toBe('string')
    })
    await withEmulator({}, async (emu) => {
      emu.control.injectFaults({count: 1, kinds: [429]})
      const injected = await raw(emu, 'GET', '/crm/objects/2026-03/contacts')
      expect(injected.status).toBe(429)
      expect(injected.json).toMatchObject({status: 'error', category: 'RATE_LIMITS', policyName: 'TEN_SECONDLY_ROLLING'})
    })
  })

  it('search takes six filter groups (the specification: "up to 6 groups") and refuses seven', async () => {
    await withEmulator({}, async (emu) => {
      emu.control.seed('contacts', [{email: 'a@x.com', firstname: 'A'}, {email: 'f@x.com', firstname: 'F'}, {email: 'z@x.com', firstname: 'Z'}])
      const group = (name: string) => ({filters: [{propertyName: 'firstname', operator: 'EQ', value: name}]})
      const six = await raw(emu, 'POST', '/crm/objects/2026-03/contacts/search', {filterGroups: ['A', 'B', 'C', 'D', 'E', 'F'].map(group), limit: 10})
      expect(six.status).toBe(200)
      expect(six.json.results.map((r: {properties: {email: string}}) => r.properties.email).sort()).toEqual(['a@x.com', 'f@x.com'])
      const seven = await raw(emu, 'POST', '/crm/objects/2026-03/contacts/search', {filterGroups: ['A', 'B', 'C', 'D', 'E', 'F', 'G'].map(group)})
      expect(seven.status).toBe(400)
      expect(seven.json).toMatchObject({category: 'VALIDATION_ERROR'})
      expect(seven.json.message).toContain('filter groups')
    })
  })

  for (const base of ['/crm/objects/2026-03', '/crm/v3/objects']) {
    it(`${base}: a list page with associations=companies carries each object's associated ids inline (SimplePublicObjectWithAssociations)`, async () => {
      await withEmulator({}, async (emu) => {
        const [linked, alone] = emu.control.seed('contacts', [{email: 'a@x.com'}, {email: 'b@x.com'}])
        const [one, two] = emu.control.seed('companies', [{name: 'One'}, {name: 'Two'}])
        const created = await raw(emu, 'POST', '/crm/associations/2026-03/contacts/companies/batch/create', {
          inputs: [{from: {id: linked!.id}, to: {id: one!.id}, types: [spec(279)]}, {from: {id: linked!.id}, to: {id: two!.id}, types: [spec(279)]}],
        })
        expect(created.status).toBe(201)
        const page = await raw(emu, 'GET', `${base}/contacts?limit=100&associations=companies&associations=deals`)
        expect(page.status).toBe(200)
        const byId = new Map((page.json.results as Array<{id: string; associations?: Record<string, {results: Array<{id: unknown; type: unknown}>}>}>).map((r) => [r.id, r]))
        const inline = byId.get(linked!.id)!.associations!
        // CollectionResponseAssociatedId: results of {id: string, type: string}; a type without any is left out
        expect(Object.keys(inline)).toEqual(['companies'])
        expect(inline.companies.results.map((r) => r.id).sort()).toEqual([one!.id, two!.id].sort())
        for (const r of inline.companies.results) {
          expect(typeof r.id).toBe('string')
          expect(typeof r.type).toBe('string')
        }
        expect(byId.get(alone!.id)).not.toHaveProperty('associations')
        const plain = await raw(emu, 'GET', `${base}/contacts?limit=100`)
        for (const r of plain.json.results) expect(r).not.toHaveProperty('associations')
      })
    })
  }

  it('association batch calls, like search, do not count against the ten-secondly limit; other calls do', async () => {
    await withEmulator({limits: {tenSecondly: 3}}, async (emu) => {
      const [contact] = emu.control.seed('contacts', [{email: 'a@x.com'}])
      const [company] = emu.control.seed('companies', [{name: 'One'}])
      const create = await raw(emu, 'POST', '/crm/associations/2026-03/contacts/companies/batch/create', {
        inputs: [{from: {id: contact!.id}, to: {id: company!.id}, types: [spec(279)]}],
      })
      expect(create.status).toBe(201)
      for (let i = 0; i < 10; i++) {
        const read = await raw(emu, 'POST', '/crm/associations/2026-03/contacts/companies/batch/read', {inputs: [{id: contact!.id}]})
        expect(read.status).toBe(200)
      }
      for (let i = 0; i < 3; i++) expect((await raw(emu, 'GET', '/crm/objects/2026-03/companies')).status).toBe(200)
      expect((await raw(emu, 'GET', '/crm/objects/2026-03/companies')).status).toBe(429)
    })
  })
})
