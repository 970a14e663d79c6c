/** A fresh coreBOS database with cbhs's tables, and the state store over a pool of its own. */
import {createPool, type Pool} from '../../src/corebos/connection.js'
import {setupCoreBos} from '../../src/corebos/setup.js'
import {CoreBosStateStore} from '../../src/corebos/state.js'
import {createTestDatabase, type TestDatabase} from './db.js'

export interface StateStoreFixture {
  db: TestDatabase
  pool: Pool
  store: CoreBosStateStore
  close(): Promise<void>
}

export async function openStateStore(): Promise<StateStoreFixture> {
  const db = await createTestDatabase()
  await setupCoreBos(db.pool, {dryRun: false, database: db.settings.database})
  const pool = createPool({...db.settings, timezone: 'UTC'})
  return {
    db,
    pool,
    store: new CoreBosStateStore(pool),
    async close() {
      await pool.end()
      await db.drop()
    },
  }
}
