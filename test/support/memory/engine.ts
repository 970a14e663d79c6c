/**
 * An Engine over the in-memory kit, set up as `buildEngine` sets up the real one: the default maps
 * of maps/, the mappers of src/sync/mapper.ts, the settings' defaults of src/config.ts.
 */
import {fileURLToPath} from 'node:url'
import {hasErrors, loadMapsFromDir, validateParsedMaps, type FieldMap} from '../../../src/maps/index.js'
import type {Engine, EngineSettings} from '../../../src/sync/engine.js'
import {buildMappers} from '../../../src/sync/mapper.js'
import {CRM_MODULES, type ConflictPolicy, type CrmModule} from '../../../src/sync/types.js'
import {TestClock} from './clock.js'
import {MemoryCrm} from './crm.js'
import {MemoryHubSpot, type MemoryHubSpotOptions} from './hubspot.js'
import {MemoryState} from './state.js'

export interface MemoryEngineOptions extends MemoryHubSpotOptions {
  /** the install's $default_timezone (default UTC) */
  timezone?: string
  conflictPolicy?: ConflictPolicy
  /** one mode for every module, or per module (default 'explicit') */
  optIn?: 'explicit' | 'default-on' | Partial<Record<CrmModule, 'explicit' | 'default-on'>>
  pageSize?: number
  pushLookbackSeconds?: number
  pullLagSeconds?: number
  relateDealWith?: 'Contacts' | 'Accounts'
  maxAttempts?: number
  startMs?: number
  /** map XML by map name (e.g. Contacts2HubSpot), replacing that default map */
  maps?: Record<string, string>
}

export interface MemoryKit {
  engine: Engine
  clock: TestClock
  crm: MemoryCrm
  state: MemoryState
  hubspot: MemoryHubSpot
}

let defaultMaps: Promise<Map<string, FieldMap>> | undefined

/** The eight maps of maps/, read and validated once per test file. */
function loadDefaultMaps(): Promise<Map<string, FieldMap>> {
  defaultMaps ??= loadMapsFromDir(fileURLToPath(new URL('../../../maps/', import.meta.url))).then((loaded) => {
    if (hasErrors(loaded.issues)) throw new Error(`the default maps have errors: ${loaded.issues.map((i) => i.message).join('; ')}`)
    return new Map(loaded.maps.map((m) => [m.name, m]))
  })
  return defaultMaps
}

async function mapsFor(overrides: Record<string, string> = {}): Promise<Map<string, FieldMap>> {
  const maps = new Map(await loadDefaultMaps())
  const loaded = validateParsedMaps(Object.entries(overrides).map(([name, xml]) => ({file: `${name}.xml`, mapName: name, xml})))
  if (hasErrors(loaded.issues)) throw new Error(`map override has errors: ${loaded.issues.map((i) => i.message).join('; ')}`)
  for (const m of loaded.maps) maps.set(m.name, m)
  return maps
}

export async function buildMemoryEngine(options: MemoryEngineOptions = {}): Promise<MemoryKit> {
  const timezone = options.timezone ?? 'UTC'
  const clock = new TestClock(options.startMs)
  const crm = new MemoryCrm(clock, timezone)
  const state = new MemoryState(crm, clock, options.maxAttempts)
  const hubspot = new MemoryHubSpot(clock, options)
  const optIn = Object.fromEntries(
    CRM_MODULES.map((m) => [m, typeof options.optIn === 'string' ? options.optIn : (options.optIn?.[m] ?? 'explicit')]),
  ) as EngineSettings['optIn']
  const lazy = buildMappers({
    maps: await mapsFor(options.maps),
    crmMeta: (module) => crm.meta(module),
    hubspotProperties: (type) => hubspot.getProperties(type),
    pipelines: () => hubspot.getDealPipelines(),
    timezone,
    dealPipeline: 'default',
    stageMapping: {},
    modules: [...CRM_MODULES],
    uniqueProperty: 'corebos_crmid',
    owners: async () => ({hubspot: await hubspot.getOwners(), crm: await crm.owners()}),
    defaultUserId: 1,
  })
  const engine: Engine = {
    crm,
    state,
    hubspot,
    mappers: lazy.mappers,
    async prepare(module) {
      engine.settings.portalId ??= await hubspot.getPortalId()
      await lazy.prepare(module)
    },
    clock,
    settings: {
      optIn,
      conflictPolicy: options.conflictPolicy ?? 'newest',
      relateDealWith: options.relateDealWith ?? 'Contacts',
      leadLifecycleStages: ['subscriber', 'lead', 'marketingqualifiedlead'],
      pushLookbackSeconds: options.pushLookbackSeconds ?? 120,
      pullLagSeconds: options.pullLagSeconds ?? 60,
      pageSize: options.pageSize ?? 2000,
      userId: 1,
      uniqueProperty: hubspot.uniqueProperty,
      timezone,
      portalId: undefined,
    },
  }
  return {engine, clock, crm, state, hubspot}
}
