/**
 * The HubSpot half of `cbhs setup`: a property group and a unique-value property holding the
 * coreBOS record id, on contacts, companies and deals. Upserts are keyed on that property, which is
 * what makes a killed-and-rerun pass create no duplicates.
 */
import {ConfigError} from '../errors.js'
import {asObjectType, ENGAGEMENT_TYPES} from '../sync/activity-types.js'
import {HUBSPOT_OBJECT_TYPES, type HubSpotObjectType} from '../sync/types.js'
import {HubSpotApiError} from './failures.js'
import type {HubSpotPropertyDefinition, NewProperty, PropertyGroup} from './gateway.js'

/**
 * The object types that carry the unique crmid property: contacts, companies and deals, and with
 * activity sync the engagements too, whose creates are upserts on it like every other create.
 */
export function syncedObjectTypes(activities: boolean): readonly HubSpotObjectType[] {
  return activities ? [...HUBSPOT_OBJECT_TYPES, ...ENGAGEMENT_TYPES.map(asObjectType)] : HUBSPOT_OBJECT_TYPES
}

/** HubSpot allows at most this many custom unique-value properties per object type (reference §3.4). */
export const UNIQUE_PROPERTY_CAP = 10

export interface SetupChange {
  objectType: HubSpotObjectType
  kind: 'property-group' | 'property'
  name: string
  description: string
  /** false in a dry run */
  applied: boolean
}

export interface EnsureSyncPropertiesOptions {
  propertyName?: string
  groupName?: string
  groupLabel?: string
  dryRun?: boolean
  objectTypes?: readonly HubSpotObjectType[]
}

export interface SetupGateway {
  getProperties(type: HubSpotObjectType): Promise<HubSpotPropertyDefinition[]>
  getPropertyGroups(type: HubSpotObjectType): Promise<PropertyGroup[]>
  createPropertyGroup(type: HubSpotObjectType, group: PropertyGroup): Promise<void>
  createProperty(type: HubSpotObjectType, property: NewProperty): Promise<unknown>
}

interface Planned {
  change: Omit<SetupChange, 'applied'>
  apply: () => Promise<void>
}

/**
 * Idempotent: checks every object type before changing anything, so a portal that cannot take the
 * property (cap reached, a same-named property that is not unique) is left untouched.
 */
export async function ensureSyncProperties(gateway: SetupGateway, options: EnsureSyncPropertiesOptions = {}): Promise<SetupChange[]> {
  const propertyName = options.propertyName ?? 'corebos_crmid'
  const groupName = options.groupName ?? 'corebos'
  const groupLabel = options.groupLabel ?? 'coreBOS'
  const types = options.objectTypes ?? HUBSPOT_OBJECT_TYPES

  const plan: Planned[] = []
  for (const type of types) {
    const [groups, properties] = await Promise.all([gateway.getPropertyGroups(type), gateway.getProperties(type)])
    if (!groups.some((g) => g.name === groupName)) {
      plan.push({
        change: {objectType: type, kind: 'property-group', name: groupName, description: `create property group "${groupName}" (${groupLabel}) on ${type}`},
        apply: () => gateway.createPropertyGroup(type, {name: groupName, label: groupLabel}),
      })
    }
    const existing = properties.find((p) => p.name === propertyName)
    if (existing) {
      if (existing.hasUniqueValue !== true || existing.type !== 'string') {
        throw new ConfigError(
          'HUBSPOT_PROPERTY_CLASH',
          `HubSpot ${type} already have a property "${propertyName}" that is not a unique-value text property (type ${existing.type}, unique: ${existing.hasUniqueValue === true})`,
          {suggestion: `Pick another property name for the coreBOS record id (setting uniqueProperty), or delete that property in HubSpot, then run setup again.`},
        )
      }
      continue
    }
    const unique = properties.filter((p) => p.hasUniqueValue === true && p.hubspotDefined !== true)
    if (unique.length >= UNIQUE_PROPERTY_CAP) {
      throw new ConfigError(
        'HUBSPOT_UNIQUE_PROPERTY_CAP',
        `HubSpot ${type} already have ${unique.length} unique-value properties (${unique.map((p) => p.name).join(', ')}); HubSpot allows ${UNIQUE_PROPERTY_CAP}, so "${propertyName}" cannot be created`,
        {suggestion: `Free a slot by removing the unique-value flag from one of them in HubSpot, or reuse an existing unique property through the uniqueProperty setting.`},
      )
    }
    const property: NewProperty = {
      name: propertyName,
      label: 'coreBOS record id',
      type: 'string',
      fieldType: 'text',
      groupName,
      hasUniqueValue: true,
      description: 'The coreBOS crmid of the record this object is synced with (written by cbhs).',
    }
    plan.push({
      change: {objectType: type, kind: 'property', name: propertyName, description: `create unique property "${propertyName}" (coreBOS record id) on ${type}`},
      apply: () => gateway.createProperty(type, property).then(() => undefined),
    })
  }

  const changes: SetupChange[] = []
  for (const step of plan) {
    if (!options.dryRun) {
      try {
        await step.apply()
      } catch (err) {
        // 409: made meanwhile by another setup (fine), or a same-named one sits in HubSpot's recycle bin
        if (err instanceof HubSpotApiError && err.status === 409 && (await alreadyThere(gateway, step.change))) {
          continue
        }
        if (err instanceof HubSpotApiError && err.status >= 400 && err.status < 500) {
          throw new ConfigError('HUBSPOT_SETUP_REFUSED', `HubSpot refused to ${step.change.description}: ${err.body.message ?? err.category}`, {
            suggestion:
              err.status === 409
                ? `A ${step.change.kind === 'property' ? 'property' : 'group'} named "${step.change.name}" probably sits archived in HubSpot; restore or purge it, then run setup again.`
                : 'Fix the cause in HubSpot (settings, properties), then run setup again.',
            cause: err,
          })
        }
        throw err
      }
    }
    changes.push({...step.change, applied: !options.dryRun})
  }
  return changes
}

async function alreadyThere(gateway: SetupGateway, change: Omit<SetupChange, 'applied'>): Promise<boolean> {
  if (change.kind === 'property-group') return (await gateway.getPropertyGroups(change.objectType)).some((g) => g.name === change.name)
  return (await gateway.getProperties(change.objectType)).some((p) => p.name === change.name && p.hasUniqueValue === true)
}
