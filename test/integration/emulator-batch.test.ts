import {describe, expect, it} from 'vitest'
import {raw, withEmulator} from '../support/emulator.js'
import type {Emulator} from '../../src/emulator/index.js'
import type {Client} from '@hubspot/api-client'

async function rejection(p: Promise<unknown>): Promise<{code: number; body: any}> {
  try {
    await p
  } catch (e) {
    return {code: (e as {code: number}).code, body: (e as {body: any}).body}
  }
  throw new Error('expected the call to fail')
}

async function withUniqueProp(fn: (emu: Emulator, client: Client) => Promise<void>): Promise<void> {
  await withEmulator({}, async (emu, client) => {
    for (const type of ['contacts', 'companies', 'deals']) {
      emu.control.createProperty(type, {name: 'external_crm_id', label: 'External CRM id', type: 'string', fieldType: 'text', hasUniqueValue: true})
    }
    await fn(emu, client)
  })
}

describe('emulator: batch create', () => {
  it('answers 201 and is all-or-nothing without objectWriteTraceIds', async () => {
    await withEmulator({}, async (emu, client) => {
      const ok = await client.crm.contacts.batchApi.create({inputs: [
        {properties: {email: 'a@x.com'}, associations: []},
        {properties: {email: 'b@x.com'}, associations: []},
      ]})
      expect(ok.results).toHaveLength(2)
      expect(ok.status).toBe('COMPLETE')

      const bad = await rejection(client.crm.contacts.batchApi.create({inputs: [
        {properties: {email: 'c@x.com'}, associations: []},
        {properties: {email: 'not-an-email'}, associations: []},
      ]}))
      expect(bad.code).toBe(400)
      expect(bad.body.category).toBe('VALIDATION_ERROR')
      expect(emu.control.all('contacts').map((c) => c.properties.email).sort()).toEqual(['a@x.com', 'b@x.com'])

      const dup = await rejection(client.crm.contacts.batchApi.create({inputs: [
        {properties: {email: 'new@x.com'}, associations: []},
        {properties: {email: 'a@x.com'}, associations: []},
      ]}))
      expect(dup.code).toBe(409)
      expect(dup.body.message).toMatch(/^Contact already exists\. Existing ID: \d+$/)
      expect(emu.control.all('contacts')).toHaveLength(2)
    })
  })

  it('answers 207 with per-input errors naming the objectWriteTraceId when every input has one', async () => {
    await withEmulator({}, async (emu, client) => {
      const res = await client.crm.contacts.batchApi.create({inputs: [
        {properties: {email: 'ok@x.com'}, associations: [], objectWriteTraceId: 't1'},
        {properties: {email: 'bad'}, associations: [], objectWriteTraceId: 't2'},
        {properties: {shoesize: '9'}, associations: [], objectWriteTraceId: 't3'},
      ]}) as any
      expect(res.results).toHaveLength(1)
      expect(res.results[0].objectWriteTraceId).toBe('t1')
      expect(res.numErrors).toBe(2)
      expect(res.errors.map((e: any) => e.context.objectWriteTraceId[0]).sort()).toEqual(['t2', 't3'])
      expect(res.errors.every((e: any) => e.status === 'error' && e.category === 'VALIDATION_ERROR')).toBe(true)
      expect(emu.control.all('contacts')).toHaveLength(1)
    })
  })

  it('refuses more than 100 inputs with 400', async () => {
    await withEmulator({}, async (emu, client) => {
      const inputs = Array.from({length: 101}, (_, i) => ({properties: {firstname: `n${i}`}, associations: []}))
      expect((await rejection(client.crm.contacts.batchApi.create({inputs}))).code).toBe(400)
      for (const op of ['read', 'update', 'upsert', 'archive']) {
        const r = await raw(emu, 'POST', `/crm/v3/objects/contacts/batch/${op}`, {inputs: Array.from({length: 101}, (_, i) => ({id: String(i)}))})
        expect(r.status, op).toBe(400)
      }
      expect(emu.control.all('contacts')).toHaveLength(0)
    })
  })
})

describe('emulator: batch upsert', () => {
  it('creates and updates by a unique property and flags new records', async () => {
    await withUniqueProp(async (emu, client) => {
      const first = await client.crm.companies.batchApi.upsert({inputs: [
        {id: 'acc-1', idProperty: 'external_crm_id', properties: {name: 'One'}},
        {id: 'acc-2', idProperty: 'external_crm_id', properties: {name: 'Two'}},
      ]})
      expect(first.results.every((r) => r._new === true)).toBe(true)
      const second = await client.crm.companies.batchApi.upsert({inputs: [
        {id: 'acc-1', idProperty: 'external_crm_id', properties: {name: 'One!'}},
        {id: 'acc-3', idProperty: 'external_crm_id', properties: {name: 'Three'}},
      ]})
      const byKey = new Map(second.results.map((r) => [r.properties.external_crm_id, r]))
      expect(byKey.get('acc-1')!._new).toBe(false)
      expect(byKey.get('acc-1')!.properties.name).toBe('One!')
      expect(byKey.get('acc-3')!._new).toBe(true)
      expect(emu.control.all('companies')).toHaveLength(3)
    })
  })

  it('accepts email as idProperty for contacts, rejects non-unique idProperty with 400', async () => {
    await withUniqueProp(async (_emu, client) => {
      const r = await client.crm.contacts.batchApi.upsert({inputs: [{id: 'Mail@X.com', idProperty: 'email', properties: {firstname: 'M'}}]})
      expect(r.results[0]!.properties.email).toBe('mail@x.com')
      const again = await client.crm.contacts.batchApi.upsert({inputs: [{id: 'mail@x.com', idProperty: 'email', properties: {lastname: 'L'}}]})
      expect(again.results[0]!._new).toBe(false)
      expect(again.results[0]!.id).toBe(r.results[0]!.id)

      const nonUnique = await rejection(client.crm.companies.batchApi.upsert({inputs: [{id: 'x', idProperty: 'name', properties: {}}]}))
      expect(nonUnique.code).toBe(400)
      expect(nonUnique.body.message).toContain('Unable to perform update/upsert by non-unique 0-2 property name')
      const domain = await rejection(client.crm.companies.batchApi.upsert({inputs: [{id: 'x.com', idProperty: 'domain', properties: {}}]}))
      expect(domain.code).toBe(400)
      const byEmailUpdate = await rejection(client.crm.contacts.batchApi.update({inputs: [{id: 'mail@x.com', idProperty: 'email', properties: {}}]}))
      expect(byEmailUpdate.code).toBe(400)
    })
  })

  it('is all-or-nothing without trace ids and 207 with context.ids and objectWriteTraceId with them', async () => {
    await withUniqueProp(async (emu, client) => {
      const bad = await rejection(client.crm.deals.batchApi.upsert({inputs: [
        {id: 'p-1', idProperty: 'external_crm_id', properties: {dealname: 'ok', dealstage: 'closedwon'}},
        {id: 'p-2', idProperty: 'external_crm_id', properties: {dealname: 'bad', dealstage: 'Closed Won'}},
      ]}))
      expect(bad.code).toBe(400)
      expect(emu.control.all('deals')).toHaveLength(0)

      const partial = await client.crm.deals.batchApi.upsert({inputs: [
        {id: 'p-1', idProperty: 'external_crm_id', properties: {dealname: 'ok', dealstage: 'closedwon'}, objectWriteTraceId: 'p-1'},
        {id: 'p-2', idProperty: 'external_crm_id', properties: {dealname: 'bad', dealstage: 'Closed Won'}, objectWriteTraceId: 'p-2'},
      ]}) as any
      expect(partial.results.map((r: any) => r.properties.external_crm_id)).toEqual(['p-1'])
      expect(partial.errors[0].context).toMatchObject({ids: ['p-2'], objectWriteTraceId: ['p-2']})
    })
  })

  it('refuses to give a unique value to a second object (409)', async () => {
    await withUniqueProp(async (emu, client) => {
      const [a, b] = emu.control.seed('companies', [{name: 'A', external_crm_id: 'k-a'}, {name: 'B', external_crm_id: 'k-b'}])
      const taken = await rejection(client.crm.companies.batchApi.update({inputs: [{id: b!.id, properties: {external_crm_id: 'k-a'}}]}))
      expect(taken.code).toBe(409)
      expect(taken.body).toMatchObject({category: 'CONFLICT', message: expect.stringContaining(`Existing ID: ${a!.id}`)})
      const sameBatch = await rejection(client.crm.companies.batchApi.create({inputs: [
        {properties: {name: 'C', external_crm_id: 'k-c'}, associations: []},
        {properties: {name: 'D', external_crm_id: 'k-c'}, associations: []},
      ]}))
      expect(sameBatch.code).toBe(409)
      expect(emu.control.all('companies')).toHaveLength(2)
    })
  })

  it('rejects duplicate ids within one batch', async () => {
    await withEmulator({}, async (_emu, client) => {
      const dup = await rejection(client.crm.contacts.batchApi.upsert({inputs: [
        {id: 'a@x.com', idProperty: 'email', properties: {}},
        {id: 'A@x.com', idProperty: 'email', properties: {}},
      ]}))
      expect(dup.code).toBe(400)
    })
  })
})

describe('emulator: batch read, update, archive', () => {
  it('reads with 207 OBJECT_NOT_FOUND for misses, by idProperty, and archived', async () => {
    await withUniqueProp(async (emu, client) => {
      const [a, b] = emu.control.seed('contacts', [{email: 'a@x.com', external_crm_id: 'k1'}, {email: 'b@x.com'}])
      const ok = await client.crm.contacts.batchApi.read({inputs: [{id: a!.id}, {id: b!.id}], properties: ['email'], propertiesWithHistory: []})
      expect(ok.results).toHaveLength(2)
      const partial = await client.crm.contacts.batchApi.read({inputs: [{id: a!.id}, {id: '42'}, {id: '43'}], properties: [], propertiesWithHistory: []}) as any
      expect(partial.results).toHaveLength(1)
      expect(partial.errors).toEqual([expect.objectContaining({status: 'error', category: 'OBJECT_NOT_FOUND', context: {ids: ['42', '43']}})])
      const byKey = await client.crm.contacts.batchApi.read({inputs: [{id: 'k1'}], properties: ['email'], propertiesWithHistory: [], idProperty: 'external_crm_id'})
      expect(byKey.results[0]!.id).toBe(a!.id)
      await client.crm.contacts.batchApi.archive({inputs: [{id: b!.id}]})
      const archived = await client.crm.contacts.batchApi.read({inputs: [{id: a!.id}, {id: b!.id}], properties: [], propertiesWithHistory: []}, true) as any
      expect(archived.results.map((r: any) => r.id)).toEqual([b!.id])
      expect(archived.results[0].archived).toBe(true)
    })
  })

  it('updates by id (200), 207 with context.ids for unknown ids, and refuses read-only properties', async () => {
    await withEmulator({}, async (emu, client) => {
      const [a, b] = emu.control.seed('companies', [{name: 'A'}, {name: 'B'}], {modifiedAt: Date.UTC(2020, 0, 1)})
      const ok = await client.crm.companies.batchApi.update({inputs: [{id: a!.id, properties: {city: 'Rome'}}, {id: b!.id, properties: {name: ''}}]})
      expect(ok.results).toHaveLength(2)
      expect(emu.control.get('companies', a!.id)!.properties.city).toBe('Rome')
      expect(emu.control.get('companies', b!.id)!.properties.name).toBeUndefined()
      expect(Date.parse(emu.control.get('companies', a!.id)!.updatedAt)).toBeGreaterThan(Date.UTC(2020, 0, 1))

      const partial = await client.crm.companies.batchApi.update({inputs: [{id: a!.id, properties: {city: 'Oslo'}}, {id: '777', properties: {city: 'X'}}]}) as any
      expect(partial.results).toHaveLength(1)
      expect(partial.errors[0]).toMatchObject({category: 'OBJECT_NOT_FOUND', context: {ids: ['777']}})

      const ro = await rejection(client.crm.companies.batchApi.update({inputs: [{id: a!.id, properties: {hs_lastmodifieddate: '2020-01-01'}}]}))
      expect(ro.code).toBe(400)
    })
  })

  it('batch results do not promise input order', async () => {
    await withEmulator({}, async (emu, client) => {
      const seeded = emu.control.seed('contacts', Array.from({length: 5}, (_, i) => ({firstname: `n${i}`})))
      const read = await client.crm.contacts.batchApi.read({inputs: seeded.map((s) => ({id: s.id})), properties: [], propertiesWithHistory: []})
      expect(read.results.map((r) => r.id)).not.toEqual(seeded.map((s) => s.id))
      expect(read.results.map((r) => r.id).sort()).toEqual(seeded.map((s) => s.id).sort())
    })
  })
})
