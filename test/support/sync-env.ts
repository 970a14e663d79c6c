/**
 * A complete sync environment for integration tests: a fresh coreBOS database (real schema) with
 * `setup` applied, a HubSpot emulator with the unique property created through the real gateway,
 * and a function that runs passes exactly as the commands do (lock, run record, engine).
 */
import {loadConfig, type CbhsConfig} from '../../src/config.js'
import {openDatabase, openHubSpot, type Database} from '../../src/context.js'
import {setupCoreBos} from '../../src/corebos/setup.js'
import {startEmulator, type Emulator, type EmulatorOptions} from '../../src/emulator/index.js'
import {ensureSyncProperties} from '../../src/hubspot/setup.js'
import {runPass, type PassFlags} from '../../src/pass.js'
import type {PassReport} from '../../src/sync/engine.js'
import type {Clock} from '../../src/sync/ports.js'
import type {CrmModule} from '../../src/sync/types.js'
import {createTestDatabase, type TestDatabase} from './db.js'

export const PACKAGE_ROOT = new URL('../../', import.meta.url).pathname

export interface SyncEnv {
  testDb: TestDatabase
  emu: Emulator
  config: CbhsConfig
  /** the adapters on the test database, for seeding and inspecting coreBOS */
  db: Database
  env: Record<string, string>
  pass(command: 'push' | 'pull' | 'sync', flags?: PassFlags, options?: {clock?: Clock}): Promise<PassReport[]>
  /** creates coreBOS records opted in to sync; returns their crmids */
  create(module: CrmModule, records: Array<Record<string, string | null>>): Promise<number[]>
  /** emulator write requests (POST/PATCH/PUT/DELETE except reads and searches) since the last call */
  writesSince(mark: number): Array<{method: string; endpoint: string}>
  mark(): number
  close(): Promise<void>
}

const READ_ENDPOINT = /\/(search|batch\/read)$|^GET /

export async function createSyncEnv(
  options: {emulator?: EmulatorOptions; configFile?: Record<string, unknown>; env?: Record<string, string>; clock?: Clock} = {},
): Promise<SyncEnv> {
  const testDb = await createTestDatabase()
  await setupCoreBos(testDb.pool, {dryRun: false, database: testDb.settings.database})
  // one clock for HubSpot's timestamps and the passes' "now", so search lag and watermarks line up
  const emu = await startEmulator({shuffleBatchResults: true, clock: options.clock, ...options.emulator})
  const env: Record<string, string> = {
    CBHS_DB_HOST: testDb.settings.host,
    CBHS_DB_PORT: String(testDb.settings.port),
    CBHS_DB_USER: testDb.settings.user,
    CBHS_DB_PASSWORD: testDb.settings.password,
    CBHS_DB_NAME: testDb.settings.database,
    HUBSPOT_ACCESS_TOKEN: emu.token,
    CBHS_HUBSPOT_URL: emu.url,
    ...options.env,
  }
  let config = loadConfig({flags: {}, env, packageRoot: PACKAGE_ROOT})
  if (options.configFile) config = mergeConfig(config, options.configFile)
  const db = await openDatabase(config)
  await ensureSyncProperties(openHubSpot(config), {propertyName: config.hubspot.uniqueProperty})
  return {
    testDb,
    emu,
    config,
    db,
    env,
    async pass(command, flags = {}, passOptions = {}) {
      const clock = passOptions.clock ?? options.clock
      const outcome = await runPass({command, config, flags, renderer: 'silent', warn: () => undefined, clock})
      if (outcome.skippedBecauseLocked) throw new Error(`pass skipped: ${outcome.skippedBecauseLocked.holder}`)
      return outcome.reports
    },
    async create(module, records) {
      const results = await db.records.create(
        module,
        records.map((fields) => ({fields, control: {hubspotsyncwith: '1'}})),
        1,
      )
      const bad = results.filter((r) => !r.ok)
      if (bad.length > 0) throw new Error(`test data rejected: ${bad.map((b) => b.error).join('; ')}`)
      return results.map((r) => r.crmid)
    },
    mark() {
      return emu.control.requests().length
    },
    writesSince(mark) {
      return emu.control
        .requests()
        .slice(mark)
        .filter((r) => r.method !== 'GET' && !READ_ENDPOINT.test(r.endpoint) && !r.endpoint.includes('/batch/read'))
        .map((r) => ({method: r.method, endpoint: r.endpoint}))
    },
    async close() {
      await db.close().catch(() => undefined)
      await emu.close()
      await testDb.drop()
    },
  }
}

function mergeConfig(config: CbhsConfig, overrides: Record<string, unknown>): CbhsConfig {
  const out = structuredClone(config) as unknown as Record<string, Record<string, unknown>>
  for (const [section, values] of Object.entries(overrides)) out[section] = {...out[section], ...(values as Record<string, unknown>)}
  return out as unknown as CbhsConfig
}
