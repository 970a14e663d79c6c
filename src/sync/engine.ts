/**
 * What a pass needs, handed in by the command layer: the ports, the per-module mappers and the
 * settings. Also the report shapes every pass returns.
 */
import type {OwnerLookup} from '../maps/owners.js'
import type {ActivityModule, CrmActivities} from './activity-types.js'
import type {FieldConflict} from './settle.js'
import type {Clock, CrmRecords, HubSpotPort, Reporter, StateStore} from './ports.js'
import type {ConflictPolicy, CrmModule, CrmRecord, Direction, HubSpotObject, HubSpotObjectType} from './types.js'

export interface MappedValues<T> {
  values: T
  /** fields or properties that could not be converted: the record fails with these */
  errors: Array<{key: string; message: string}>
  /** adjustments made on the way (truncation, replaced characters): logged, the record goes on */
  warnings: string[]
}

/** Turns a record into HubSpot properties and back, for one module, through its two maps. */
export interface ModuleMapper {
  module: CrmModule
  objectType: HubSpotObjectType
  /** false when the `<Module>2HubSpot` map is missing: nothing of this module is pushed */
  canPush: boolean
  /** false when the `HubSpot2<Module>` map is missing */
  canPull: boolean
  /** HubSpot properties read on pull (sources of HubSpot2<Module>, plus what cbhs itself needs) */
  pullProperties: string[]
  /** HubSpot properties written on push (targets of <Module>2HubSpot) */
  pushProperties: string[]
  /** coreBOS fields written on pull (targets of HubSpot2<Module>) */
  pullFields: string[]
  /** properties sent only when the object is created (CONST values such as lifecyclestage, the deal pipeline) */
  createOnly: Set<string>
  /** HubSpot property → the coreBOS fields push builds it from */
  pushSources: Map<string, string[]>
  /** coreBOS field → the HubSpot properties pull builds it from */
  pullSources: Map<string, string[]>
  /** the coreBOS fields a link's snapshot keeps (what either map reads or writes, and the reference) */
  crmKeys: string[]
  /** the HubSpot properties a link's snapshot keeps */
  hsKeys: string[]
  toHubSpot(record: CrmRecord): MappedValues<Record<string, string>>
  /** `current`: the record's present values, which some conversions keep when equivalent (sales stage groups) */
  toCrm(object: HubSpotObject, current?: Record<string, string | null>): MappedValues<Record<string, string | null>>
  /** equality after normalising by type ('1500.00' = '1500', null = '') */
  sameHubSpotValue(property: string, a: string | null | undefined, b: string | null | undefined): boolean
  sameCrmValue(field: string, a: string | null | undefined, b: string | null | undefined): boolean
}

export interface EngineSettings {
  optIn: Record<CrmModule, 'explicit' | 'default-on'>
  conflictPolicy: ConflictPolicy
  relateDealWith: 'Contacts' | 'Accounts'
  leadLifecycleStages: string[]
  pushLookbackSeconds: number
  pullLagSeconds: number
  pageSize: number
  userId: number
  uniqueProperty: string
  timezone: string
  portalId: string | undefined
}

export interface Engine {
  crm: CrmRecords
  state: StateStore
  hubspot: HubSpotPort
  mappers: Record<CrmModule, ModuleMapper>
  /** loads what converting a module's records needs; call before the first record of a module */
  prepare(module: CrmModule): Promise<void>
  settings: EngineSettings
  clock: Clock
  /** coreBOS comments and calendar activities; present when activity sync is on (sync.activities) */
  activities?: CrmActivities
  /** loads what converting activities needs (the owner lookup); call before an activity stream */
  prepareActivities?(): Promise<void>
  /** users ↔ HubSpot owners for the activity streams, once prepareActivities ran */
  activityOwners?: OwnerLookup
}

export interface PassOptions {
  modules: CrmModule[]
  /** the activity modules this pass syncs (sync.activities on); absent or empty: none */
  activities?: ActivityModule[]
  full: boolean
  sinceMs?: number
  limit?: number
  dryRun: boolean
}

export type PlanAction = 'create' | 'update' | 'archive' | 'link' | 'mark-deleted' | 'relink' | 'skip'

export interface PlanItem {
  module: CrmModule
  crmid: number | null
  hubspotId: string | null
  action: PlanAction
  reason: string
  /** what changes, and on which side (a pass settles a pair on both sides) */
  changes: Array<{key: string; old: string | null; new: string | null; side?: 'hubspot' | 'crm'}>
}

export interface ModuleCounts {
  read: number
  created: number
  updated: number
  archived: number
  markedDeleted: number
  linked: number
  skipped: number
  failed: number
  conflicts: number
  associationsCreated: number
  associationsRemoved: number
}

export interface ConflictRecord extends FieldConflict {
  module: CrmModule
  crmid: number
  hubspotId: string
}

export interface PassReport {
  direction: Direction
  dryRun: boolean
  modules: Partial<Record<CrmModule, ModuleCounts>>
  plan: PlanItem[]
  conflicts: ConflictRecord[]
  failures: Array<{module: CrmModule; crmid: number | null; hubspotId: string | null; category: string; message: string}>
  warnings: string[]
  /** API calls made by this pass, by endpoint */
  apiCalls: Record<string, number>
  /** modules whose pass stopped early (--limit) and resumes next time */
  incomplete: CrmModule[]
}

export function emptyCounts(): ModuleCounts {
  return {
    read: 0,
    created: 0,
    updated: 0,
    archived: 0,
    markedDeleted: 0,
    linked: 0,
    skipped: 0,
    failed: 0,
    conflicts: 0,
    associationsCreated: 0,
    associationsRemoved: 0,
  }
}

export function newReport(direction: Direction, dryRun: boolean): PassReport {
  return {direction, dryRun, modules: {}, plan: [], conflicts: [], failures: [], warnings: [], apiCalls: {}, incomplete: []}
}

/** Difference of two call-count snapshots. */
export function callsSince(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [key, value] of Object.entries(after)) {
    const delta = value - (before[key] ?? 0)
    if (delta > 0) out[key] = delta
  }
  return out
}

export function totalCalls(calls: Record<string, number>): number {
  return Object.values(calls).reduce((a, b) => a + b, 0)
}

/** The record page in the HubSpot app; the same form for every portal. */
export function hubspotRecordUrl(portalId: string | undefined, type: HubSpotObjectType, id: string): string | null {
  if (!portalId) return null
  const typeId = {contacts: '0-1', companies: '0-2', deals: '0-3'}[type]
  return `https://app.hubspot.com/contacts/${portalId}/record/${typeId}/${id}`
}

export type {Reporter}
