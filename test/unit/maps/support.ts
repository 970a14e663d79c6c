/** Shared fixtures for the maps tests: the real schema's fields, HubSpot's defaults, a context. */
import type {CrmFieldMeta, PropertyDefinition} from '../../../src/sync/ports.js'
import type {CrmModule, HubSpotObjectType} from '../../../src/sync/types.js'
import {HUBSPOT_DEFAULT_PIPELINE, HUBSPOT_DEFAULT_PROPERTIES, buildStageMapping, type ConvertContext} from '../../../src/maps/index.js'
import {crmFields} from './crm-fields.js'

export {crmFields}

export function crmField(module: CrmModule, name: string): CrmFieldMeta {
  const f = crmFields(module).get(name)
  if (!f) throw new Error(`no field ${module}.${name} in the fixture`)
  return f
}

export function hsProp(type: HubSpotObjectType, name: string): PropertyDefinition {
  const p = HUBSPOT_DEFAULT_PROPERTIES[type].find((x) => x.name === name)
  if (!p) throw new Error(`no property ${type}.${name} in the fixture`)
  return p
}

export function context(timezone = 'Europe/Madrid', extra: Partial<ConvertContext> = {}): ConvertContext {
  return {timezone, stageMap: buildStageMapping([HUBSPOT_DEFAULT_PIPELINE]), ...extra}
}
