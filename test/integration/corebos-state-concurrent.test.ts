/**
 * Two push batches of one page write the ledger and the links at the same time (issue 19). Their
 * transactions must not deadlock each other on the same gaps of the cbhs_failure and cbhs_link keys,
 * and one that the server still picks as a deadlock victim is run again, not surfaced as a failure.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {Pool} from '../../src/corebos/connection.js'
import type {CoreBosStateStore} from '../../src/corebos/state.js'
import type {Link} from '../../src/sync/ports.js'
import type {TestDatabase} from '../support/db.js'
import {openStateStore, type StateStoreFixture} from '../support/state-store.js'

function link(crmid: number, hubspotId: string): Link {
  return {module: 'Contacts', crmid, objectType: 'contacts', hubspotId, snapshot: {crm: {lastname: `L${crmid}`}, hs: {}}, associations: {}, archived: false, syncedAt: '2026-11-01T10:00:00.000Z'}
}

/** Two lanes, as PUSH_BATCHES_IN_FLIGHT = 2 runs them: each works through its own items one by one. */
async function twoLanes<T>(a: T[], b: T[], work: (item: T) => Promise<void>): Promise<void> {
  const lane = async (items: T[]) => {
    for (const item of items) await work(item)
  }
  await Promise.all([lane(a), lane(b)])
}

describe('CoreBosStateStore: writers of two batches in flight', () => {
  let db: TestDatabase
  let pool: Pool
  let store: CoreBosStateStore
  let fixture: StateStoreFixture | undefined

  beforeAll(async () => {
    fixture = await openStateStore()
    ;({db, pool, store} = fixture)
  })
  afterAll(async () => {
    await fixture?.close()
  })

  it('records failures of interleaved crmids from two lanes without a deadlock', async () => {
    const ids = Array.from({length: 300}, (_, i) => 1000 + i)
    await twoLanes(
      ids.filter((id) => id % 2 === 0),
      ids.filter((id) => id % 2 === 1),
      (crmid) => store.recordFailure({module: 'Contacts', direction: 'push', crmid, category: 'INVALID_EMAIL', message: `Contacts ${crmid}: bad e-mail`}),
    )
    const rows = await db.query<{n: number}>("SELECT COUNT(*) AS n FROM cbhs_failure WHERE module = 'Contacts' AND open_flag = 1")
    expect(Number(rows[0]!.n)).toBe(300)
  })

  it('saves links of two batches at once, each a hundred records, without a deadlock', async () => {
    // the lanes' HubSpot ids interleave (adopted and legacy-linked objects are not created in crmid order)
    const batches = Array.from({length: 20}, (_, b) => Array.from({length: 100}, (_, i) => link(5000 + b * 100 + i, String(900_000 + i * 20 + b))))
    await twoLanes(
      batches.filter((_, b) => b % 2 === 0),
      batches.filter((_, b) => b % 2 === 1),
      (batch) => store.saveLinks(batch),
    )
    const rows = await db.query<{n: number}>("SELECT COUNT(*) AS n FROM cbhs_link WHERE module = 'Contacts'")
    expect(Number(rows[0]!.n)).toBe(2000)
  })

  it('runs a link transaction again when MariaDB picks it as a deadlock victim', async () => {
    await store.saveLinks([link(1, '700001'), link(2, '700002')])
    for (let i = 0; i < 50; i++) await store.saveLinks([link(100 + i, String(710_000 + i))])
    const side = await pool.getConnection()
    try {
      // the other transaction holds record 2 and has written more (so the server sacrifices the store's)
      await side.beginTransaction()
      await side.query("UPDATE cbhs_link SET synced_at = '2026-11-02 00:00:00' WHERE module = 'Contacts' AND crmid >= 100")
      await side.query("UPDATE cbhs_link SET synced_at = '2026-11-02 00:00:00' WHERE module = 'Contacts' AND crmid = 2")
      const saving = store.saveLinks([link(1, '700001'), link(2, '700002')].map((l) => ({...l, snapshot: {crm: {lastname: 'again'}, hs: {}}})))
      const outcome = saving.then(() => 'saved', (error: unknown) => error)
      // the store has record 1 and waits for 2; taking 1 now closes the cycle
      for (let i = 0; i < 100; i++) {
        const [waiting] = await pool.query("SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'")
        if (Number((waiting as Array<{n: number}>)[0]!.n) > 0) break
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      await side.query("UPDATE cbhs_link SET synced_at = '2026-11-02 00:00:00' WHERE module = 'Contacts' AND crmid = 1")
      await side.commit()
      expect(await outcome).toBe('saved')
    } finally {
      side.release()
    }
    const links = await store.getLinksByCrmids('Contacts', [1, 2])
    expect([...links.values()].map((l) => l.snapshot.crm.lastname)).toEqual(['again', 'again'])
  })
})
