/** The eight maps cbhs looks up by name, and what each direction needs to create records. */
import {CONTROL_FIELDS, CRM_MODULES, OBJECT_TYPE_OF_MODULE, type CrmModule, type HubSpotObjectType} from '../sync/types.js'

export const DEFAULT_MAP_NAMES = [
  'Accounts2HubSpot',
  'Contacts2HubSpot',
  'Leads2HubSpot',
  'Potentials2HubSpot',
  'HubSpot2Accounts',
  'HubSpot2Contacts',
  'HubSpot2Leads',
  'HubSpot2Potentials',
] as const
export type DefaultMapName = (typeof DEFAULT_MAP_NAMES)[number]

export type MapDirection = 'push' | 'pull'

export interface MapRole {
  module: CrmModule
  objectType: HubSpotObjectType
  /** push = coreBOS → HubSpot (`<Module>2HubSpot`), pull = HubSpot → coreBOS (`HubSpot2<Module>`) */
  direction: MapDirection
}

export function mapName(module: CrmModule, direction: MapDirection): DefaultMapName {
  return (direction === 'push' ? `${module}2HubSpot` : `HubSpot2${module}`) as DefaultMapName
}

/** The module and direction a map name stands for, or null for names cbhs does not use. */
export function roleOfMapName(name: string): MapRole | null {
  const push = /^([A-Za-z]+)2HubSpot$/.exec(name)
  const pull = /^HubSpot2([A-Za-z]+)$/.exec(name)
  const module = push?.[1] ?? pull?.[1]
  if (!module || !(CRM_MODULES as readonly string[]).includes(module)) return null
  const m = module as CrmModule
  return {module: m, objectType: OBJECT_TYPE_OF_MODULE[m], direction: push ? 'push' : 'pull'}
}

/** `<originname>`/`<targetname>` values that stand for the HubSpot side (the legacy maps use 'HubSpot'). */
export function isHubSpotSideName(name: string): boolean {
  return /^hubspot[A-Za-z]*$/i.test(name)
}

/**
 * What a HubSpot2<Module> map must fill so cbhs can create the coreBOS record (coreBOS mandatory
 * fields). The entity number, owner and Potentials.related_to are set by cbhs, not by maps.
 */
export const CRM_CREATE_REQUIREMENTS: Readonly<Record<CrmModule, readonly string[]>> = {
  Accounts: ['accountname'],
  Contacts: ['lastname'],
  Leads: ['lastname', 'company'],
  Potentials: ['potentialname', 'sales_stage', 'closingdate'],
}

/** coreBOS fields cbhs sets itself (account_id: Contacts' account, from associations); a pull map writing them is an error. */
export const CRM_FIELDS_SET_BY_CBHS: ReadonlySet<string> = new Set([
  'related_to',
  'account_id',
  'assigned_user_id',
  'created_user_id',
  'modifiedby',
  'createdtime',
  'modifiedtime',
  'account_no',
  'contact_no',
  'lead_no',
  'potential_no',
  ...CONTROL_FIELDS,
])

/**
 * HubSpot creation requirements: each inner list is alternatives, one of which a push map must
 * fill. Deals also need `pipeline`; cbhs sets it to the configured deal pipeline (StageMapping.pipelineId)
 * when the map does not, because dealstage ids only mean something inside that pipeline.
 */
export const HUBSPOT_CREATE_REQUIREMENTS: Readonly<Record<HubSpotObjectType, ReadonlyArray<readonly string[]>>> = {
  companies: [['name', 'domain']],
  contacts: [],
  deals: [['dealname'], ['dealstage']],
}

/** HubSpot properties cbhs owns or HubSpot computes; a push map writing them is an error. */
export const HUBSPOT_PROPERTIES_SET_BY_CBHS: ReadonlySet<string> = new Set([
  'corebos_crmid',
  'hs_object_id',
  'createdate',
  'lastmodifieddate',
  'hs_lastmodifieddate',
  'hs_merged_object_ids',
])
