/**
 * Builds each module's ModuleMapper from its two Business Maps, the coreBOS field metadata and
 * HubSpot's property definitions: apply the map, then convert every value by the types of both
 * sides (maps/convert). Pure: the metadata arrives through the functions it is given.
 */
import {
  applyMap,
  buildLeadStatusMapping,
  buildStageMapping,
  crmKind,
  directCopies,
  hubSpotKind,
  mapName,
  mapSources,
  normalizeCrmValue,
  normalizeHubSpotValue,
  toCoreBos,
  toHubSpot,
  type ConvertContext,
  type FieldMap,
} from '../maps/index.js'
import type {MappedValues, ModuleMapper} from './engine.js'
import type {CrmFieldMeta, ModuleMeta, Pipeline, PropertyDefinition} from './ports.js'
import {OBJECT_TYPE_OF_MODULE, type CrmModule, type HubSpotObject, type HubSpotObjectType} from './types.js'

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
}

export type SyncMapper = ModuleMapper

export async function buildMappers(sources: MapperSources): Promise<Record<CrmModule, SyncMapper>> {
  const props = new Map<HubSpotObjectType, Map<string, PropertyDefinition>>()
  const propsOf = async (type: HubSpotObjectType) => {
    let p = props.get(type)
    if (!p) {
      p = new Map((await sources.hubspotProperties(type)).map((d) => [d.name, d]))
      props.set(type, p)
    }
    return p
  }
  const dealProps = sources.modules.includes('Potentials') ? await propsOf('deals') : new Map<string, PropertyDefinition>()
  const pipelines = sources.modules.includes('Potentials') ? await sources.pipelines() : []
  const stageMap = buildStageMapping(pipelines, {pipelineId: sources.dealPipeline, ...sources.stageMapping})
  const contactProps = sources.modules.some((m) => m === 'Leads' || m === 'Contacts') ? await propsOf('contacts') : new Map<string, PropertyDefinition>()
  const leadStatusMap = buildLeadStatusMapping(contactProps.get('hs_lead_status')?.options)
  void dealProps
  const ctx: ConvertContext = {timezone: sources.timezone, stageMap, leadStatusMap}

  const out = {} as Record<CrmModule, SyncMapper>
  for (const module of sources.modules) {
    const type = OBJECT_TYPE_OF_MODULE[module]
    const meta = await sources.crmMeta(module)
    const typeProps = await propsOf(type)
    out[module] = createMapper(module, type, sources.maps.get(mapName(module, 'push')), sources.maps.get(mapName(module, 'pull')), meta, typeProps, ctx, stageMap.pipelineId)
  }
  return out
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
): SyncMapper {
  const field = (name: string): CrmFieldMeta | undefined => meta.fields.get(name)
  const pushCopies = pushMap ? directCopies(pushMap) : new Map<string, string>()
  const pullCopies = pullMap ? directCopies(pullMap) : new Map<string, string>()
  const pushTargets = pushMap ? [...new Set(pushMap.fields.map((f) => f.target))] : []
  const pullTargets = pullMap ? [...new Set(pullMap.fields.map((f) => f.target))] : []
  const createOnly = new Set<string>()
  if (pushMap) for (const f of pushMap.fields) if (f.pieces.length > 0 && f.pieces.every((p) => p.kind === 'const')) createOnly.add(f.target)
  if (type === 'deals' && !pushTargets.includes('pipeline') && pipelineId) createOnly.add('pipeline')

  return {
    module,
    objectType: type,
    canPush: Boolean(pushMap),
    canPull: Boolean(pullMap),
    pullProperties: pullMap ? mapSources(pullMap) : [],
    pushProperties: [...pushTargets, ...(createOnly.has('pipeline') ? ['pipeline'] : [])],
    pullFields: pullTargets,
    createOnly,

    toHubSpot(record): MappedValues<Record<string, string>> {
      const values: Record<string, string> = {}
      const errors: Array<{key: string; message: string}> = []
      const warnings: string[] = []
      if (!pushMap) return {values, errors, warnings}
      const applied = applyMap(pushMap, record.fields)
      warnings.push(...applied.warnings)
      for (const target of pushTargets) {
        const source = pushCopies.get(target)
        // a plain copy of an empty field clears the property; composite values are built as text
        const raw = source !== undefined ? (record.fields[source] ?? null) : (applied.values[target] ?? null)
        if (source === undefined && !(target in applied.values)) continue
        const converted = toHubSpot(raw, source !== undefined ? field(source) : undefined, props.get(target), ctx)
        if ('error' in converted) errors.push({key: target, message: converted.error})
        else {
          values[target] = converted.value
          for (const w of converted.warnings) warnings.push(`${target}: ${w}`)
        }
      }
      if (createOnly.has('pipeline') && pipelineId) values.pipeline = pipelineId
      return {values, errors, warnings}
    },

    toCrm(object: HubSpotObject, current?: Record<string, string | null>): MappedValues<Record<string, string | null>> {
      const values: Record<string, string | null> = {}
      const errors: Array<{key: string; message: string}> = []
      const warnings: string[] = []
      if (!pullMap) return {values, errors, warnings}
      const applied = applyMap(pullMap, object.properties)
      warnings.push(...applied.warnings)
      for (const target of pullTargets) {
        const source = pullCopies.get(target)
        if (source === undefined && !(target in applied.values)) continue
        // only properties HubSpot actually returned count: an absent one says nothing
        if (source !== undefined && !(source in object.properties)) continue
        const raw = source !== undefined ? (object.properties[source] ?? null) : (applied.values[target] ?? null)
        const converted = toCoreBos(raw, source !== undefined ? props.get(source) : undefined, field(target), ctx, current?.[target] ?? null)
        if ('error' in converted) errors.push({key: target, message: converted.error})
        else {
          values[target] = converted.value
          for (const w of converted.warnings) warnings.push(`${target}: ${w}`)
        }
      }
      return {values, errors, warnings}
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

function zeroForEmpty(value: string | null | undefined): string {
  return value === null || value === undefined || value === '' ? '0' : value
}

function identity(value: string | null | undefined): string | null {
  return value ?? null
}
