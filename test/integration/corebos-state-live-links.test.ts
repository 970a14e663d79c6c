/** The live links of an object type, as the archived check (src/sync/archived.ts) counts and halves them. */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {createPool, type Pool} from '../../src/corebos/connection.js'
import {setupCoreBos} from '../../src/corebos/setup.js'
import {CoreBosStateStore} from '../../src/corebos/state.js'
import type {Link} from '../../src/sync/ports.js'
import type {CrmModule} from '../../src/sync/types.js'
import {createTestDatabase, type TestDatabase} from '../support/db.js'

function link(module: CrmModule, crmid: number, hubspotId: string, archived = false): Link {
  const objectType = module === 'Accounts' ? 'companies' : module === 'Potentials' ? 'deals' : 'contacts'
  return {module, crmid, objectType, hubspotId, snapshot: {crm: {}, hs: {}}, associations: {}, archived, syncedAt: '2026-11-01T10:00:00.000Z'}
}

describe('CoreBosStateStore: live links of an object type', () => {
  let db: TestDatabase
  let pool: Pool
  let store: CoreBosStateStore

  beforeAll(async () => {
    db = await createTestDatabase()
    await setupCoreBos(db.pool, {dryRun: false, database: db.settings.database})
    pool = createPool({...db.settings, timezone: 'UTC'})
    store = new CoreBosStateStore(pool)
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
    await pool?.end()
    await db?.drop()
  })

  it('lists the ids of Contacts and Leads together for contacts, in numeric order, archived links left out', async () => {
    expect(await store.liveLinkIds('contacts')).toEqual(['9', '10', '100000000001'])
    expect(await store.countLiveLinks('contacts')).toBe(3)
  })

  it('keeps the object types apart', async () => {
    expect(await store.liveLinkIds('companies')).toEqual(['12'])
    expect(await store.countLiveLinks('deals')).toBe(1)
  })
})
