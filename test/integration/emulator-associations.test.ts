import {describe, expect, it} from 'vitest'
import {raw, withEmulator} from '../support/emulator.js'

const spec = (associationTypeId: number) => ({associationCategory: 'HUBSPOT_DEFINED', associationTypeId}) as any

describe('emulator: associations v4', () => {
  it('creates (201), reads both directions (200), archives (204), without touching modified dates', async () => {
    await withEmulator({}, async (emu, client) => {
      const stamp = Date.UTC(2023, 0, 1)
      const [contact] = emu.control.seed('contacts', [{email: 'a@x.com'}], {modifiedAt: stamp})
      const [co1, co2] = emu.control.seed('companies', [{name: 'One'}, {name: 'Two'}], {modifiedAt: stamp})
      const created = await client.crm.associations.v4.batchApi.create('contacts', 'companies', {inputs: [
        {_from: {id: contact!.id}, to: {id: co1!.id}, types: [spec(1)]},
        {_from: {id: contact!.id}, to: {id: co2!.id}, types: [spec(279)]},
      ]})
      expect(created.results).toHaveLength(2)
      const primary = created.results.find((r) => String(r.toObjectId) === co1!.id)!
      expect(primary).toMatchObject({fromObjectTypeId: '0-1', toObjectTypeId: '0-2', labels: ['Primary']})

      const fwd = await client.crm.associations.v4.batchApi.getPage('contacts', 'companies', {inputs: [{id: contact!.id}]})
      const to = fwd.results[0]!.to
      expect(to.map((t) => String(t.toObjectId))).toEqual([co1!.id, co2!.id])
      expect(to[0]!.associationTypes.map((t) => t.typeId)).toEqual([1, 279])
      expect(to[1]!.associationTypes.map((t) => t.typeId)).toEqual([279])

      const back = await client.crm.associations.v4.batchApi.getPage('0-2', '0-1', {inputs: [{id: co1!.id}]})
      expect(back.results[0]!.to[0]!.associationTypes.map((t) => t.typeId)).toEqual([2, 280])

      for (const [type, id] of [['contacts', contact!.id], ['companies', co1!.id]] as const) {
        expect(emu.control.get(type, id)!.updatedAt).toBe(new Date(stamp).toISOString())
      }

      // only one primary company: making co2 primary demotes co1
      await client.crm.associations.v4.batchApi.create('contacts', 'companies', {inputs: [{_from: {id: contact!.id}, to: {id: co2!.id}, types: [spec(1)]}]})
      expect(emu.control.associations('contacts', contact!.id, 'companies')).toEqual([
        {toId: co1!.id, typeIds: [279]},
        {toId: co2!.id, typeIds: [1, 279]},
      ])

      await client.crm.associations.v4.batchApi.archive('contacts', 'companies', {inputs: [{_from: {id: contact!.id}, to: [{id: co1!.id}]}]})
      expect(emu.control.associations('companies', co1!.id, 'contacts')).toEqual([])
      const single = await client.crm.associations.v4.basicApi.getPage('contacts', contact!.id, 'companies')
      expect(single.results.map((r) => String(r.toObjectId))).toEqual([co2!.id])
    })
  })

  it('reports unknown type ids and missing objects per input (207), and objects without associations on read', async () => {
    await withEmulator({}, async (emu, client) => {
      const [deal] = emu.control.seed('deals', [{dealname: 'D', dealstage: 'closedwon'}])
      const [contact] = emu.control.seed('contacts', [{email: 'c@x.com'}])
      const res = await client.crm.associations.v4.batchApi.create('deals', 'contacts', {inputs: [
        {_from: {id: deal!.id}, to: {id: contact!.id}, types: [spec(3)]},
        {_from: {id: deal!.id}, to: {id: contact!.id}, types: [spec(279)]},
        {_from: {id: deal!.id}, to: {id: '999999'}, types: [spec(3)]},
      ]}) as any
      expect(res.results).toHaveLength(1)
      expect(res.numErrors).toBe(2)
      const read = await client.crm.associations.v4.batchApi.getPage('contacts', 'deals', {inputs: [{id: contact!.id}, {id: '424242'}]}) as any
      expect(read.results[0].to[0].associationTypes[0].typeId).toBe(4)
      expect(read.errors[0].context.fromObjectId).toEqual(['424242'])
      const tooMany = await raw(emu, 'POST', '/crm/v4/associations/contacts/deals/batch/read', {inputs: Array.from({length: 1_001}, (_, i) => ({id: String(i)}))})
      expect(tooMany.status).toBe(400)
    })
  })

  it('creates default associations and lists labels', async () => {
    await withEmulator({}, async (emu, client) => {
      const [deal] = emu.control.seed('deals', [{dealname: 'D', dealstage: 'closedwon'}])
      const [co] = emu.control.seed('companies', [{name: 'C'}])
      const res = await client.crm.associations.v4.batchApi.createDefault('deals', 'companies', {inputs: [{_from: {id: deal!.id}, to: {id: co!.id}}]})
      expect(res.results[0]!.associationSpec.associationTypeId).toBe(341)
      const labels = await client.crm.associations.v4.schema.definitionsApi.getAll('deals', 'companies')
      expect(labels.results.map((l) => [l.typeId, l.label ?? null])).toEqual([[341, null], [5, 'Primary']])
    })
  })
})
