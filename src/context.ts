/**
 * The composition root: turns a configuration into live adapters (pool, records, state, lock,
 * HubSpot gateway, maps) and the engine. Commands use this; the engine never does.
 */
import {createHash} from 'node:crypto'
import {applyLegacySettings, type CbhsConfig} from './config.js'
import {checkConnection, createPool, missingPrivilege, type DbSettings, type DbUse, type Pool} from './corebos/connection.js'
import {DbPassLock} from './corebos/lock.js'
import {MysqlActivities} from './corebos/activities.js'
import {CoreBosRecords} from './corebos/records.js'
import {readLegacySettings} from './corebos/settings.js'
import {CoreBosStateStore} from './corebos/state.js'
import {ConfigError, MapError, registerSecret} from './errors.js'
import {hostNowMs} from './host-clock.js'
import {createHubSpotGateway, type HubSpotGateway} from './hubspot/gateway.js'
import {readCbMaps} from './corebos/maps.js'
import {DEFAULT_MAP_NAMES, hasErrors, loadMapsFromDb, loadMapsFromDir, mapName, mapSources, type FieldMap, type MapIssue} from './maps/index.js'
import {buildMappers} from './sync/mapper.js'
import type {Engine} from './sync/engine.js'
import type {Clock, PropertyDefinition} from './sync/ports.js'
import {CRM_MODULES, OBJECT_TYPE_OF_MODULE, type HubSpotObjectType} from './sync/types.js'

export interface Database {
  pool: Pool
  settings: DbSettings
  /** the session's account, `'user'@'host'` (CURRENT_USER()), for GRANT lines in privilege errors */
  account?: string
  records: CoreBosRecords
  state: CoreBosStateStore
  /** the database server's clock (the host's, corrected by the offset measured when it was opened) */
  clock: Clock
  close(): Promise<void>
}

/**
 * The database server's clock, read once and then followed on the host's: every time cbhs records
 * (ledger, runs, links, the engine's "now") is the database's, whatever the host's clock says.
 */
export async function databaseClock(pool: Pool): Promise<Clock> {
  const before = hostNowMs()
  const [rows] = await pool.query('SELECT UTC_TIMESTAMP(3) AS now')
  const after = hostNowMs()
  const dbMs = Date.parse(`${String((rows as Array<{now: string}>)[0].now).replace(' ', 'T')}Z`)
  const offset = dbMs - Math.round((before + after) / 2)
  return {nowMs: () => hostNowMs() + offset}
}

export function dbSettings(config: CbhsConfig): DbSettings {
  return {...config.db, timezone: config.timezone}
}

/**
 * Opens the coreBOS database and proves it answers (exit 4 naming host and port otherwise; a user
 * with no privilege on the database at all gets the GRANT to run, for what `use` says it needs).
 */
export async function openDatabase(config: CbhsConfig, use: DbUse = {}): Promise<Database> {
  const settings = dbSettings(config)
  const pool = createPool(settings)
  let clock: Clock
  let account: string | undefined
  try {
    account = await checkConnection(pool, settings, use)
    clock = await databaseClock(pool)
  } catch (error) {
    await pool.end().catch(() => undefined)
    throw error
  }
  return {
    pool,
    settings,
    account,
    records: new CoreBosRecords(pool, {timezone: config.timezone, defaultUserId: config.sync.userId}),
    state: new CoreBosStateStore(pool, {maxAttempts: config.sync.maxAttempts, now: () => clock.nowMs()}),
    clock,
    close: () => pool.end(),
  }
}

/** The settings a pass may take from the legacy integration's cb_settings (relateDealWith, portal id). */
export async function withLegacySettings(config: CbhsConfig, db: Database): Promise<CbhsConfig> {
  const legacy = await readLegacySettings(db.pool)
  return applyLegacySettings(config, legacy)
}

export function openHubSpot(config: CbhsConfig, onRetry?: (message: string) => void): HubSpotGateway {
  const token = config.hubspot.accessToken
  if (!token) {
    throw new ConfigError('HUBSPOT_TOKEN_MISSING', 'No HubSpot access token: set HUBSPOT_ACCESS_TOKEN (or CBHS_HUBSPOT_TOKEN_FILE).', {
      suggestion: 'Create a private app (or service key) in HubSpot with the crm.objects.* scopes, export its token as HUBSPOT_ACCESS_TOKEN, then run `cbhs setup`.',
    })
  }
  registerSecret(token)
  return createHubSpotGateway({
    baseUrl: config.hubspot.baseUrl,
    apiVersion: config.hubspot.apiVersion,
    accessToken: token,
    tier: config.hubspot.tier,
    searchPerSecond: config.hubspot.searchPerSecond,
    uniqueProperty: config.hubspot.uniqueProperty,
    requestTimeoutMs: config.hubspot.requestTimeoutMs,
    onRetry: onRetry ? (info) => onRetry(describeRetry(info)) : undefined,
  })
}

function describeRetry(info: unknown): string {
  const i = info as {label?: string; attempt?: number; delayMs?: number; reason?: string}
  return `HubSpot ${i.label ?? 'call'}: ${i.reason ?? 'retry'}, retry ${i.attempt ?? '?'} in ${Math.round((i.delayMs ?? 0) / 100) / 10}s`
}

export interface LoadedMaps {
  byName: Map<string, FieldMap>
  issues: MapIssue[]
}

/** The eight maps, from maps/ (or --maps-dir) or from vtiger_cbmap; errors stop the pass (exit 3). */
export async function loadSyncMaps(config: CbhsConfig, pool: Pool): Promise<LoadedMaps> {
  const loaded =
    config.maps.source === 'database'
      ? loadMapsFromDb(await readCbMaps(pool, DEFAULT_MAP_NAMES))
      : await loadMapsFromDir(config.maps.dir).catch((error: NodeJS.ErrnoException) => {
          throw new ConfigError('MAPS_UNREADABLE', `Cannot read the maps folder ${config.maps.dir}: ${error.code ?? error.message}`, {
            suggestion: 'Point --maps-dir (or CBHS_MAPS_DIR) at a folder holding the eight map XML files.',
          })
        })
  if (hasErrors(loaded.issues)) {
    const errors = loaded.issues.filter((i) => i.severity === 'error')
    const lines = errors.slice(0, 10).map((i) => `  ${i.file ?? i.map ?? ''}${i.line ? `:${i.line}` : ''} ${i.code}: ${i.message}`)
    throw new MapError('MAP_INVALID', `${errors.length} map error(s):\n${lines.join('\n')}`, {
      suggestion: `Run \`cbhs map:validate ${config.maps.source === 'database' ? '--source database' : config.maps.dir}\` for the full list.`,
    })
  }
  return {byName: new Map(loaded.maps.map((m) => [m.name, m])), issues: loaded.issues}
}

/** How long HubSpot's property definitions and pipelines are trusted before they are read again. */
const SCHEMA_CACHE_MS = 60 * 60 * 1000

/**
 * HubSpot's schema (property definitions, pipelines, portal id), cached in cbhs_meta for an hour
 * per portal: an idle cron pass then costs no API call for it. A property changed in HubSpot within
 * the hour can make a record fail; it goes to the ledger and passes once the cache is refreshed.
 */
function schemaCache(config: CbhsConfig, db: Database, maps: LoadedMaps) {
  const portal = createHash('sha256').update(`${config.hubspot.baseUrl}\n${config.hubspot.accessToken ?? ''}`).digest('hex').slice(0, 16)
  const mapsVersion = createHash('sha256').update([...maps.byName.keys()].sort().join(',') + JSON.stringify([...maps.byName.values()])).digest('hex').slice(0, 8)
  return async <T>(what: string, load: () => Promise<T>): Promise<T> => {
    const key = `${portal}:${mapsVersion}:${what}`
    const hit = await db.state.readCache(key)
    if (hit && Date.now() - hit.storedAtMs < SCHEMA_CACHE_MS) return JSON.parse(hit.value) as T
    const value = await load()
    const json = JSON.stringify(value)
    // cbhs_meta holds up to 64 KB a value; a larger schema is simply read every pass. The cache only
    // saves API calls: a user who may not write cbhs_meta (a dry run with SELECT only) reads it every time
    if (json.length < 60_000) {
      await db.state.writeCache(key, json).catch((error: unknown) => {
        if (!missingPrivilege(error)) throw error
      })
    }
    return value
  }
}

/** The property definitions the maps use, and the few cbhs itself reads. */
function relevantProperties(all: PropertyDefinition[], maps: LoadedMaps, type: HubSpotObjectType, config: CbhsConfig): PropertyDefinition[] {
  const names = new Set<string>([config.hubspot.uniqueProperty, 'hs_lead_status', 'lifecyclestage', 'dealstage', 'pipeline', 'email'])
  for (const module of CRM_MODULES) {
    if (OBJECT_TYPE_OF_MODULE[module] !== type) continue
    const push = maps.byName.get(mapName(module, 'push'))
    const pull = maps.byName.get(mapName(module, 'pull'))
    for (const f of push?.fields ?? []) names.add(f.target)
    for (const p of pull ? mapSources(pull) : []) names.add(p)
  }
  return all.filter((p) => names.has(p.name))
}


/** Everything a push or pull pass needs. */
export async function buildEngine(config: CbhsConfig, db: Database, hubspot: HubSpotGateway, clock: Clock = db.clock): Promise<{engine: Engine; maps: LoadedMaps}> {
  const maps = await loadSyncMaps(config, db.pool)
  const schema = schemaCache(config, db, maps)
  const lazy = buildMappers({
    maps: maps.byName,
    crmMeta: (module) => db.records.meta(module),
    hubspotProperties: (type) => schema(`properties:${type}`, async () => relevantProperties(await hubspot.getProperties(type), maps, type, config)),
    pipelines: () => schema('pipelines:deals', () => hubspot.getDealPipelines()),
    timezone: config.timezone,
    dealPipeline: config.sync.dealPipeline,
    stageMapping: config.sync.stageMapping,
    leadSourceMapping: config.sync.leadSourceMapping,
    modules: [...CRM_MODULES],
    uniqueProperty: config.hubspot.uniqueProperty,
    owners: async () => ({hubspot: await schema('owners', () => hubspot.getOwners()), crm: await db.records.owners()}),
    defaultUserId: config.sync.userId,
  })
  const engine: Engine = {
    crm: db.records,
    state: db.state,
    hubspot,
    mappers: lazy.mappers,
    async prepare(module) {
      // the portal id only serves the hubspotrecord links written with converted records
      engine.settings.portalId ??= await schema('portal', () => hubspot.getPortalId())
      await lazy.prepare(module)
    },
    async prepareActivities() {
      engine.activityOwners ??= await lazy.owners()
    },
    clock,
    settings: {
      optIn: config.sync.optIn,
      conflictPolicy: config.sync.conflictPolicy,
      relateDealWith: config.sync.relateDealWith,
      leadLifecycleStages: config.sync.leadLifecycleStages,
      pushLookbackSeconds: config.sync.pushLookbackSeconds,
      pullLagSeconds: config.sync.pullLagSeconds,
      pageSize: config.sync.pageSize,
      userId: config.sync.userId,
      uniqueProperty: config.hubspot.uniqueProperty,
      timezone: config.timezone,
      portalId: config.hubspot.portalId,
    },
    activities: config.sync.activities ? new MysqlActivities(db.pool, config.timezone, config.sync.userId) : undefined,
  }
  return {engine, maps}
}

export {DbPassLock}
