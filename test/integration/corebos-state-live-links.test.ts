/**
 * The live links of an object type, as the archived check (src/sync/archived.ts) counts and halves them,
 * and the queued crmid write-backs it leaves out of them (src/sync/carrier-queue.ts).
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {CoreBosStateStore} from '../../src/corebos/state.js'
import type {Link} from '../../src/sync/ports.js'
import type {CrmModule} from '../../src/sync/types.js'
import {openStateStore, type StateStoreFixture} from '../support/state-store.js'

function link(module: CrmModule, crmid: number, hubspotId: string, archived = false): Link {
  const objectType = module === 'Accounts' ? 'companies' : module === 'Potentials' ? 'deals' : 'contacts'
  return {module, crmid, objectType, hubspotId, snapshot: {crm: {}, hs: {}}, associations: {}, archived, syncedAt: '2026-11-01T10:00:00.000Z'}
}

describe('CoreBosStateStore: live links of an object type', () => {
  let store: CoreBosStateStore
  let fixture: StateStoreFixture | undefined

  beforeAll(async () => {
    fixture = await openStateStore()
    store = fixture.store
    await store.saveLinks([
      link('Contacts', 1, '10'),
      link('Leads', 2, '9'),
      link('Contacts', 3, '100000000001'),
      link('Leads', 4, '11', true),
      link('Accounts', 5, '12'),
      link('Potentials', 6, '7'),
    ])
  })
  afterAll(async () => {
    await fixture?.close()
  })

  it('lists the ids of Contacts and Leads together for contacts, in numeric order, archived links left out', async () => {
    expect(await store.liveLinkIds('contacts')).toEqual(['9', '10', '100000000001'])
    expect(await store.countLiveLinks('contacts')).toBe(3)
  })

  it('keeps the object types apart', async () => {
    expect(await store.liveLinkIds('companies')).toEqual(['12'])
    expect(await store.countLiveLinks('deals')).toBe(1)
  })

  it('queues write-backs once each, answers them with the crmid of their live link, counts only those, and forgets what is sent', async () => {
    // '10' twice, '11' archived, '404' linked to nothing, '12' another type's id
    await store.queueCarrierWrites('contacts', ['10', '11', '404'])
    await store.queueCarrierWrites('contacts', ['10', '9'])
    expect(await store.queuedCarrierWrites('contacts', 10)).toEqual([
      {hubspotId: '10', crmid: 1},
      {hubspotId: '11', crmid: null},
      {hubspotId: '404', crmid: null},
      {hubspotId: '9', crmid: 2},
    ])
    expect(await store.countQueuedCarrierWrites('contacts')).toBe(2)
    expect(await store.countQueuedCarrierWrites('companies')).toBe(0)
    expect(await store.queuedCarrierWrites('contacts', 2)).toHaveLength(2)

    await store.dequeueCarrierWrites('contacts', ['10', '11', '404'])
    expect(await store.queuedCarrierWrites('contacts', 10)).toEqual([{hubspotId: '9', crmid: 2}])
    await store.dequeueCarrierWrites('contacts', ['9'])
    expect(await store.countQueuedCarrierWrites('contacts')).toBe(0)
  })
})
