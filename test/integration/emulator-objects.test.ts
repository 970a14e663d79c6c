import {describe, expect, it} from 'vitest'
import {clientFor, raw, useEmulator, withEmulator} from '../support/emulator.js'

const ctx = useEmulator()

async function rejection(p: Promise<unknown>): Promise<{code: number; body: any}> {
  try {
    await p
  } catch (e) {
    const err = e as {code: number; body: any}
    return {code: err.code, body: err.body}
  }
  throw new Error('expected the call to fail')
}

describe('emulator: objects, single', () => {
  it('creates (201), reads, updates (200) and archives (204) through the official client', async () => {
    const {client} = ctx
    const created = await client.crm.contacts.basicApi.create({properties: {email: 'Ann@Example.com', firstname: 'Ann'}, associations: []})
    expect(created.id).toMatch(/^\d+$/)
    expect(created.properties.email).toBe('ann@example.com')
    expect(created.properties.hs_object_id).toBe(created.id)
    expect(created.createdAt).toBeInstanceOf(Date)

    const got = await client.crm.contacts.basicApi.getById(created.id, ['firstname', 'phone', 'nosuchprop'])
    expect(got.properties.firstname).toBe('Ann')
    expect(got.properties.phone).toBeNull()
    expect('nosuchprop' in got.properties).toBe(false)
    expect(got.properties.lastmodifieddate).toBeDefined()

    const byEmail = await client.crm.contacts.basicApi.getById('ann@example.com', ['firstname'], undefined, undefined, false, 'email')
    expect(byEmail.id).toBe(created.id)

    const defaults = await raw(ctx.emu, 'GET', `/crm/v3/objects/0-1/${created.id}`)
    expect(Object.keys(defaults.json.properties).sort()).toEqual(['createdate', 'email', 'firstname', 'hs_object_id', 'lastmodifieddate', 'lastname'])
    expect(defaults.headers.get('content-type')).toBe('application/json;charset=utf-8')

    const commaList = await raw(ctx.emu, 'GET', `/crm/v3/objects/contacts/${created.id}?properties=firstname,email`)
    expect(commaList.json.properties.firstname).toBe('Ann')

    const updated = await client.crm.contacts.basicApi.update(created.id, {properties: {firstname: 'Anne', phone: '+1 555'}})
    expect(updated.properties.firstname).toBe('Anne')
    const cleared = await client.crm.contacts.basicApi.update(created.id, {properties: {phone: ''}})
    expect((await client.crm.contacts.basicApi.getById(created.id, ['phone'])).properties.phone).toBeNull()

    await client.crm.contacts.basicApi.archive(created.id)
    expect((await rejection(client.crm.contacts.basicApi.getById(created.id))).code).toBe(404)
    const archived = await client.crm.contacts.basicApi.getById(created.id, undefined, undefined, undefined, true)
    expect(archived.archived).toBe(true)
    expect(archived.archivedAt).toBeInstanceOf(Date)
    expect(archived.updatedAt.getTime()).toBe(cleared.updatedAt.getTime())
  })

  it('rejects invalid writes the way HubSpot does', async () => {
    const {client} = ctx
    const unknown = await rejection(client.crm.contacts.basicApi.create({properties: {shoesize: '42'}, associations: []}))
    expect(unknown.code).toBe(400)
    expect(unknown.body.category).toBe('VALIDATION_ERROR')
    expect(unknown.body.errors[0]).toEqual({message: 'Property "shoesize" does not exist', code: 'PROPERTY_DOESNT_EXIST', context: {propertyName: ['shoesize']}})

    const email = await rejection(client.crm.contacts.basicApi.create({properties: {email: 'not an email'}, associations: []}))
    expect(email.code).toBe(400)
    expect(email.body.message).toMatch(/^Property values were not valid: /)
    expect(JSON.parse(email.body.message.replace('Property values were not valid: ', ''))[0]).toMatchObject({error: 'INVALID_EMAIL', name: 'email'})

    const readOnly = await rejection(client.crm.contacts.basicApi.create({properties: {hs_object_id: '5'}, associations: []}))
    expect(readOnly.code).toBe(400)
    expect(readOnly.body.message).toContain('READ_ONLY_VALUE')

    const first = await client.crm.contacts.basicApi.create({properties: {email: 'dup@example.com'}, associations: []})
    const dup = await rejection(client.crm.contacts.basicApi.create({properties: {email: 'DUP@example.com'}, associations: []}))
    expect(dup.code).toBe(409)
    expect(dup.body).toMatchObject({status: 'error', category: 'CONFLICT', message: `Contact already exists. Existing ID: ${first.id}`})
    expect(dup.body.correlationId).toMatch(/^[0-9a-f-]{36}$/)

    const date = await rejection(client.crm.contacts.basicApi.create({properties: {date_of_birth: '1430438400001'}, associations: []}))
    expect(date.code).toBe(400)
    expect(date.body.message).toContain('not midnight')
    const okDate = await client.crm.contacts.basicApi.create({properties: {date_of_birth: '1430438400000'}, associations: []})
    expect(okDate.properties.date_of_birth).toBe('2015-05-01')

    const stage = await rejection(client.crm.deals.basicApi.create({properties: {dealname: 'D', dealstage: 'Closed Won'}, associations: []}))
    expect(stage.code).toBe(400)
    expect(stage.body.message).toContain('INVALID_OPTION')

    const amount = await rejection(client.crm.deals.basicApi.create({properties: {dealname: 'D', dealstage: 'closedwon', amount: '12,50'}, associations: []}))
    expect(amount.code).toBe(400)

    const long = await rejection(client.crm.contacts.basicApi.create({properties: {description: 'x'.repeat(65_537)}, associations: []}))
    expect(long.code).toBe(400)

    const deal = await client.crm.deals.basicApi.create({properties: {dealname: 'D', dealstage: 'closedwon', amount: '1500.00', closedate: '1700000000000'}, associations: []})
    expect(deal.properties).toMatchObject({pipeline: 'default', amount: '1500.00', closedate: '2023-11-14T22:13:20.000Z'})
  })

  it('moves lifecyclestage forward only through the API', async () => {
    const {client} = ctx
    const c = await client.crm.contacts.basicApi.create({properties: {lifecyclestage: 'customer'}, associations: []})
    await client.crm.contacts.basicApi.update(c.id, {properties: {lifecyclestage: 'lead'}})
    expect((await client.crm.contacts.basicApi.getById(c.id, ['lifecyclestage'])).properties.lifecyclestage).toBe('customer')
    await client.crm.contacts.basicApi.update(c.id, {properties: {lifecyclestage: ''}})
    await client.crm.contacts.basicApi.update(c.id, {properties: {lifecyclestage: 'lead'}})
    expect((await client.crm.contacts.basicApi.getById(c.id, ['lifecyclestage'])).properties.lifecyclestage).toBe('lead')
  })

  it('lists with opaque paging, limit ≤ 100, and archived=true meaning only archived', async () => {
    await withEmulator({}, async (emu, client) => {
      const seeded = emu.control.seed('companies', Array.from({length: 25}, (_, i) => ({name: `Co ${i}`})))
      emu.control.archive('companies', seeded[3]!.id)
      const page1 = await client.crm.companies.basicApi.getPage(10, undefined, ['name'])
      expect(page1.results).toHaveLength(10)
      expect(page1.paging?.next?.after).toBeDefined()
      expect(page1.paging!.next!.after).not.toMatch(/^\d+$/)
      const all = await client.crm.companies.getAll(100)
      expect(all).toHaveLength(24)
      expect(all.map((c) => c.id)).toEqual(seeded.filter((_, i) => i !== 3).map((c) => c.id))
      const archived = await client.crm.companies.basicApi.getPage(100, undefined, undefined, undefined, undefined, true)
      expect(archived.results.map((c) => c.id)).toEqual([seeded[3]!.id])
      expect((await raw(emu, 'GET', '/crm/v3/objects/companies?limit=101')).status).toBe(400)
    })
  })

  it('merges into a new id; both old ids resolve to it; batch update rejects them, basic update accepts them', async () => {
    await withEmulator({}, async (emu, client) => {
      const [a, b] = emu.control.seed('contacts', [{email: 'a@x.com', firstname: 'A'}, {email: 'b@x.com', lastname: 'B'}])
      const merged = await client.crm.contacts.basicApi.merge({primaryObjectId: a!.id, objectIdToMerge: b!.id})
      expect(merged.id).not.toBe(a!.id)
      expect(merged.id).not.toBe(b!.id)
      expect(merged.properties.hs_merged_object_ids).toBe(`${a!.id};${b!.id}`)
      for (const old of [a!.id, b!.id]) {
        const got = await client.crm.contacts.basicApi.getById(old, ['email', 'firstname', 'lastname', 'hs_additional_emails'])
        expect(got.id).toBe(merged.id)
        expect(got.properties).toMatchObject({email: 'a@x.com', firstname: 'A', lastname: 'B', hs_additional_emails: 'b@x.com'})
      }
      const batch = await client.crm.contacts.batchApi.update({inputs: [{id: a!.id, properties: {firstname: 'X'}}]})
      expect(batch.results).toHaveLength(0)
      expect((batch as any).errors[0]).toMatchObject({category: 'OBJECT_NOT_FOUND', context: {ids: [a!.id]}})
      const single = await client.crm.contacts.basicApi.update(b!.id, {properties: {firstname: 'Y'}})
      expect(single.id).toBe(merged.id)
      expect(emu.control.all('contacts').map((c) => c.id)).toEqual([merged.id])
    })
    await withEmulator({mergeMode: 'keep-primary'}, async (emu, client) => {
      const [a, b] = emu.control.seed('companies', [{name: 'A'}, {name: 'B', domain: 'b.com'}])
      const merged = await client.crm.companies.basicApi.merge({primaryObjectId: a!.id, objectIdToMerge: b!.id})
      expect(merged.id).toBe(a!.id)
      expect(merged.properties.hs_merged_object_ids).toBe(b!.id)
      expect((await client.crm.companies.basicApi.getById(b!.id, ['domain'])).properties.domain).toBe('b.com')
    })
  })

  it('GDPR-deletes contacts for good (204)', async () => {
    const {client, emu} = ctx
    const c = await client.crm.contacts.basicApi.create({properties: {email: 'gdpr@example.com'}, associations: []})
    await client.crm.contacts.basicApi.purge({objectId: c.id})
    expect(emu.control.get('contacts', c.id)).toBeUndefined()
    expect(emu.control.all('contacts', {archived: true}).some((o) => o.id === c.id)).toBe(false)
    expect((await rejection(client.crm.contacts.basicApi.getById(c.id, undefined, undefined, undefined, true))).code).toBe(404)
  })

  it('401 without the right token, 404 JSON for unknown routes, account details', async () => {
    const {emu} = ctx
    for (const token of [null, 'wrong']) {
      const r = await raw(emu, 'GET', '/crm/v3/objects/contacts', undefined, token)
      expect(r.status).toBe(401)
      expect(r.json).toMatchObject({status: 'error', category: 'INVALID_AUTHENTICATION'})
      expect(r.headers.get('content-type')).toBe('application/json;charset=utf-8')
    }
    const bad = clientFor({...emu, token: 'nope'})
    expect((await rejection(bad.crm.contacts.basicApi.getPage())).code).toBe(401)
    const missing = await raw(emu, 'GET', '/crm/v3/nothing/here')
    expect(missing.status).toBe(404)
    expect(missing.json.status).toBe('error')
    const details = await raw(emu, 'GET', '/account-info/v3/details')
    expect(details.json).toMatchObject({portalId: 12345678, timeZone: 'US/Eastern'})
  })
})

describe('emulator: properties and pipelines', () => {
  it('lists, reads and creates properties; caps unique properties at 10', async () => {
    await withEmulator({}, async (_emu, client) => {
      const all = await client.crm.properties.coreApi.getAll('contacts')
      const names = all.results.map((p) => p.name)
      for (const n of ['email', 'firstname', 'lifecyclestage', 'hs_lead_status', 'date_of_birth', 'hs_email_optout', 'lastmodifieddate']) expect(names).toContain(n)
      const lead = await client.crm.properties.coreApi.getByName('contacts', 'hs_lead_status')
      expect(lead.options.map((o) => o.value)).toEqual(['NEW', 'OPEN', 'IN_PROGRESS', 'OPEN_DEAL', 'UNQUALIFIED', 'ATTEMPTED_TO_CONTACT', 'CONNECTED', 'BAD_TIMING'])
      expect((await client.crm.properties.coreApi.getByName('companies', 'hs_lastmodifieddate')).modificationMetadata?.readOnlyValue).toBe(true)

      const group = await client.crm.properties.groupsApi.create('contacts', {name: 'cbhs', label: 'cbhs', displayOrder: -1})
      expect(group.name).toBe('cbhs')
      const mk = (name: string) => client.crm.properties.coreApi.create('contacts', {
        name, label: name, type: 'string' as any, fieldType: 'text' as any, groupName: 'cbhs', hasUniqueValue: true,
      })
      const created = await mk('external_crm_id')
      expect(created.hasUniqueValue).toBe(true)
      expect((await rejection(mk('external_crm_id'))).code).toBe(409)
      for (let i = 1; i < 10; i++) await mk(`unique_${i}`)
      const eleventh = await rejection(mk('unique_10'))
      expect(eleventh.code).toBe(400)
      expect(eleventh.body.category).toBe('VALIDATION_ERROR')
      expect((await client.crm.properties.groupsApi.getAll('contacts')).results.map((g) => g.name)).toContain('cbhs')
    })
  })

  it('serves the default deal pipeline with its 7 stages', async () => {
    const pipelines = await ctx.client.crm.pipelines.pipelinesApi.getAll('deals')
    expect(pipelines.results).toHaveLength(1)
    const p = pipelines.results[0]!
    expect(p.id).toBe('default')
    expect(p.stages.map((s) => s.label)).toEqual([
      'Appointment Scheduled', 'Qualified To Buy', 'Presentation Scheduled', 'Decision Maker Bought-In', 'Contract Sent', 'Closed Won', 'Closed Lost',
    ])
    expect(p.stages.find((s) => s.id === 'closedwon')!.metadata).toEqual({isClosed: 'true', probability: '1.0'})
    expect(p.stages[0]!.metadata).toEqual({isClosed: 'false', probability: '0.2'})
    const stages = await ctx.client.crm.pipelines.pipelineStagesApi.getAll('deals', 'default')
    expect(stages.results).toHaveLength(7)
  })
})
