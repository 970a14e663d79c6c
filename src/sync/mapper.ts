/**
 * Builds each module's ModuleMapper from its two Business Maps, the coreBOS field metadata and
 * HubSpot's property definitions: apply the map, then convert every value by the types of both
 * sides (maps/convert). Pure: the metadata arrives through the functions it is given.
 */
import {
  applyMap,
  buildLeadSourceMapping,
  buildLeadStatusMapping,
  buildOwnerLookup,
  OWNER_PROPERTY,
  buildStageMapping,
  crmKind,
  directCopies,
  hubSpotKind,
  mapName,
  mapSources,
  sourcesByTarget,
  normalizeCrmValue,
  normalizeHubSpotValue,
  toCoreBos,
  toHubSpot,
  type ConvertContext,
  type FieldMap,
  type OwnerLookup,
  type StageMapping,
} from '../maps/index.js'
import type {MappedValues, ModuleMapper} from './engine.js'
import type {CrmFieldMeta, CrmOwners, HubSpotOwner, ModuleMeta, Pipeline, PropertyDefinition} from './ports.js'
import {CONTACT_SET_KEY, CONTACT_SET_MODULES, OBJECT_TYPE_OF_MODULE, REFERENCE_FIELD, type CrmModule, type HubSpotObject, type HubSpotObjectType} from './types.js'

export interface MapperSources {
  /** maps by name (Contacts2HubSpot …); a missing one disables that module and direction */
  maps: Map<string, FieldMap>
  crmMeta: (module: CrmModule) => Promise<ModuleMeta>
  hubspotProperties: (type: HubSpotObjectType) => Promise<PropertyDefinition[]>
  pipelines: () => Promise<Pipeline[]>
  timezone: string
  dealPipeline: string
  stageMapping: {toHubSpot?: Record<string, string>; toCoreBos?: Record<string, string>}
  modules: CrmModule[]
  uniqueProperty: string
  /** who may own records on each side, read once per pass when a map carries the owner */
  owners?: () => Promise<{hubspot: HubSpotOwner[]; crm: CrmOwners}>
  /** hs_analytics_source → leadsource overrides */
  leadSourceMapping?: {toCoreBos?: Record<string, string>}
  /** the coreBOS user a record gets when its HubSpot owner has no coreBOS user */
  defaultUserId?: number
}

export type SyncMapper = ModuleMapper

export interface LazyMappers {
  /** what the maps alone say (canPush, property lists) is there at once; conversions after prepare */
  mappers: Record<CrmModule, SyncMapper>
  /** loads what a module's conversions need (HubSpot property definitions, deal pipelines), once */
  prepare(module: CrmModule): Promise<void>
  /** the pass's owner lookup, loaded once and shared with the activity streams; undefined without an owners source */
  owners(): Promise<OwnerLookup | undefined>
}

/**
 * Mappers whose HubSpot side is loaded on first use: a pass with nothing to convert (the idle cron
 * pass) spends no API call on property definitions or pipelines.
 */
export function buildMappers(sources: MapperSources): LazyMappers {
  const props = new Map<HubSpotObjectType, Promise<Map<string, PropertyDefinition>>>()
  const propsOf = (type: HubSpotObjectType) => {
    let p = props.get(type)
    if (!p) {
      p = sources.hubspotProperties(type).then((list) => new Map(list.map((d) => [d.name, d])))
      props.set(type, p)
    }
    return p
  }
  let stages: Promise<StageMapping> | undefined
  const stageMapOf = () =>
    (stages ??= (sources.modules.includes('Potentials') ? sources.pipelines() : Promise.resolve([])).then((pipelines) =>
      buildStageMapping(pipelines, {pipelineId: sources.dealPipeline, ...sources.stageMapping}),
    ))

  let owners: Promise<OwnerLookup | undefined> | undefined
  const ownersOf = () =>
    (owners ??= sources.owners ? sources.owners().then((o) => buildOwnerLookup(o.hubspot, o.crm, sources.defaultUserId ?? 1)) : Promise.resolve(undefined))
  const carriesOwner = (module: CrmModule) =>
    (['push', 'pull'] as const).some((d) => sources.maps.get(mapName(module, d))?.fields.some((f) => f.target === OWNER_PROPERTY || f.pieces.some((p) => p.value === OWNER_PROPERTY)))

  const mappers = {} as Record<CrmModule, SyncMapper>
  const loading = new Map<CrmModule, Promise<void>>()
  for (const module of sources.modules) {
    const type = OBJECT_TYPE_OF_MODULE[module]
    const pushMap = sources.maps.get(mapName(module, 'push'))
    const pullMap = sources.maps.get(mapName(module, 'pull'))
    mappers[module] = unprepared(module, type, pushMap, pullMap, sources.uniqueProperty)
  }
  return {
    mappers,
    owners: ownersOf,
    prepare(module) {
      let done = loading.get(module)
      if (!done) {
        done = (async () => {
          const type = OBJECT_TYPE_OF_MODULE[module]
          const [meta, typeProps, stageMap, contactProps, ownerLookup] = await Promise.all([
            sources.crmMeta(module),
            propsOf(type),
            type === 'deals' ? stageMapOf() : Promise.resolve(undefined),
            type === 'contacts' ? propsOf('contacts') : Promise.resolve(undefined),
            carriesOwner(module) ? ownersOf() : Promise.resolve(undefined),
          ])
          const ctx: ConvertContext = {
            timezone: sources.timezone,
            stageMap: stageMap ?? buildStageMapping([], {pipelineId: sources.dealPipeline, ...sources.stageMapping}),
            leadStatusMap: buildLeadStatusMapping(contactProps?.get('hs_lead_status')?.options),
            owners: ownerLookup,
            leadSourceMap: buildLeadSourceMapping(sources.leadSourceMapping),
          }
          const real = createMapper(module, type, sources.maps.get(mapName(module, 'push')), sources.maps.get(mapName(module, 'pull')), meta, typeProps, ctx, stageMap?.pipelineId, sources.uniqueProperty)
          Object.assign(mappers[module], real)
        })()
        loading.set(module, done)
      }
      return done
    },
  }
}

/** What a module's two maps alone say: property lists, sources per target, the snapshot's keys. */
function mapShape(module: CrmModule, type: HubSpotObjectType, pushMap: FieldMap | undefined, pullMap: FieldMap | undefined, uniqueProperty: string) {
  const pushTargets = pushMap ? [...new Set(pushMap.fields.map((f) => f.target))] : []
  const pullTargets = pullMap ? [...new Set(pullMap.fields.map((f) => f.target))] : []
  const pushSources = pushMap ? sourcesByTarget(pushMap) : new Map<string, string[]>()
  const pullSources = pullMap ? sourcesByTarget(pullMap) : new Map<string, string[]>()
  const reference = REFERENCE_FIELD[module]
  const crmKeys = [...new Set([...[...pushSources.values()].flat(), ...pullTargets, ...(reference ? [reference] : []), ...(CONTACT_SET_MODULES.has(module) ? [CONTACT_SET_KEY] : [])])]
  const hsKeys = [...new Set([...pushTargets, ...(pullMap ? mapSources(pullMap) : []), uniqueProperty])]
  return {
    module,
    objectType: type,
    canPush: Boolean(pushMap),
    canPull: Boolean(pullMap),
    pullProperties: pullMap ? mapSources(pullMap) : [],
    pullFields: pullTargets,
    pushTargets,
    pushSources,
    pullSources,
    crmKeys,
    hsKeys: type === 'deals' && !hsKeys.includes('pipeline') ? [...hsKeys, 'pipeline'] : hsKeys,
  }
}

/** A mapper with what its maps say; its conversions refuse to run until prepare() replaced them. */
function unprepared(module: CrmModule, type: HubSpotObjectType, pushMap: FieldMap | undefined, pullMap: FieldMap | undefined, uniqueProperty: string): SyncMapper {
  const notReady = (): never => {
    throw new Error(`mapper for ${module} used before engine.prepare('${module}')`)
  }
  const {pushTargets, ...shape} = mapShape(module, type, pushMap, pullMap, uniqueProperty)
  return {
    ...shape,
    // the pipeline is set by cbhs on deals it creates: listed here so pulls read it back
    pushProperties: type === 'deals' && !pushTargets.includes('pipeline') ? [...pushTargets, 'pipeline'] : pushTargets,
    createOnly: new Set(),
    toHubSpot: notReady,
    toCrm: notReady,
    sameHubSpotValue: notReady,
    sameCrmValue: notReady,
  }
}

export function createMapper(
  module: CrmModule,
  type: HubSpotObjectType,
  pushMap: FieldMap | undefined,
  pullMap: FieldMap | undefined,
  meta: ModuleMeta,
  props: Map<string, PropertyDefinition>,
  ctx: ConvertContext,
  pipelineId: string | undefined,
  uniqueProperty = 'corebos_crmid',
): SyncMapper {
  const field = (name: string): CrmFieldMeta | undefined => meta.fields.get(name)
  const pushCopies = pushMap ? directCopies(pushMap) : new Map<string, string>()
  const pullCopies = pullMap ? directCopies(pullMap) : new Map<string, string>()
  const pushTargets = pushMap ? [...new Set(pushMap.fields.map((f) => f.target))] : []
  const pullTargets = pullMap ? [...new Set(pullMap.fields.map((f) => f.target))] : []
  const createOnly = new Set<string>()
  if (pushMap) for (const f of pushMap.fields) if (f.pieces.length > 0 && f.pieces.every((p) => p.kind === 'const')) createOnly.add(f.target)
  if (type === 'deals' && !pushTargets.includes('pipeline') && pipelineId) createOnly.add('pipeline')

  const {pushTargets: _targets, ...shape} = mapShape(module, type, pushMap, pullMap, uniqueProperty)
  return {
    ...shape,
    pushProperties: [...pushTargets, ...(createOnly.has('pipeline') ? ['pipeline'] : [])],
    createOnly,

    toHubSpot(record): MappedValues<Record<string, string>> {
      const out: MappedValues<Record<string, string>> = {values: {}, errors: [], warnings: []}
      if (!pushMap) return out
      const applied = applyMap(pushMap, record.fields)
      out.warnings.push(...applied.warnings)
      for (const target of pushTargets) {
        const source = pushCopies.get(target)
        // a plain copy of an empty field clears the property; composite values are built as text
        const raw = source !== undefined ? (record.fields[source] ?? null) : (applied.values[target] ?? null)
        if (source === undefined && !(target in applied.values)) continue
        fileConversion(out, target, toHubSpot(raw, source !== undefined ? field(source) : undefined, props.get(target), ctx))
      }
      if (createOnly.has('pipeline') && pipelineId) out.values.pipeline = pipelineId
      return out
    },

    toCrm(object: HubSpotObject, current?: Record<string, string | null>): MappedValues<Record<string, string | null>> {
      const out: MappedValues<Record<string, string | null>> = {values: {}, errors: [], warnings: []}
      if (!pullMap) return out
      const applied = applyMap(pullMap, object.properties)
      out.warnings.push(...applied.warnings)
      for (const target of pullTargets) {
        const source = pullCopies.get(target)
        if (source === undefined && !(target in applied.values)) continue
        // only properties HubSpot actually returned count: an absent one says nothing
        if (source !== undefined && !(source in object.properties)) continue
        const raw = source !== undefined ? (object.properties[source] ?? null) : (applied.values[target] ?? null)
        fileConversion(out, target, toCoreBos(raw, source !== undefined ? props.get(source) : undefined, field(target), ctx, current?.[target] ?? null))
      }
      return out
    },

    sameHubSpotValue(property, a, b) {
      const prop = props.get(property)
      if (!prop) return (a ?? '') === (b ?? '')
      // coreBOS stores an empty number as 0, so 0 and empty cannot be told apart coming from it
      const norm = hubSpotKind(prop) === 'number' ? zeroForEmpty : identity
      return normalizeHubSpotValue(norm(a), prop) === normalizeHubSpotValue(norm(b), prop)
    },

    sameCrmValue(name, a, b) {
      const f = field(name)
      if (!f) return (a ?? '') === (b ?? '')
      const kind = crmKind(f)
      const norm = kind === 'number' || kind === 'reference' || kind === 'owner' ? zeroForEmpty : identity
      return normalizeCrmValue(norm(a), f) === normalizeCrmValue(norm(b), f)
    },
  }
}

/** A converted value goes into the result; a refused one becomes that key's error. */
function fileConversion<T>(out: MappedValues<Record<string, T>>, key: string, converted: {value: T; warnings: string[]} | {error: string}): void {
  if ('error' in converted) {
    out.errors.push({key, message: converted.error})
    return
  }
  out.values[key] = converted.value
  for (const w of converted.warnings) out.warnings.push(`${key}: ${w}`)
}

function zeroForEmpty(value: string | null | undefined): string {
  return value === null || value === undefined || value === '' ? '0' : value
}

function identity(value: string | null | undefined): string | null {
  return value ?? null
}
