/**
 * Activities: HubSpot's timeline engagements and their coreBOS counterparts. A note or a logged
 * e-mail is a comment (ModComments) on the record; a call, meeting or task is a calendar activity
 * (cbCalendar, vtiger_activity) of that type. The engine sees coreBOS activities only through
 * `CrmActivities`; `src/corebos/activities.ts` implements it over mysql2.
 */
import type {RecordUpdate} from './ports.js'
import type {CrmCursor, CrmModule, HubSpotObjectType} from './types.js'

export const ACTIVITY_MODULES = ['ModComments', 'cbCalendar'] as const
export type ActivityModule = (typeof ACTIVITY_MODULES)[number]

export const ENGAGEMENT_TYPES = ['notes', 'calls', 'meetings', 'tasks', 'emails'] as const
export type EngagementType = (typeof ENGAGEMENT_TYPES)[number]

/** Which engagements each coreBOS module holds (pull order within a module). */
export const ENGAGEMENTS_OF: Readonly<Record<ActivityModule, readonly EngagementType[]>> = {
  ModComments: ['notes', 'emails'],
  cbCalendar: ['calls', 'meetings', 'tasks'],
}

/** vtiger_activity.activitytype of each calendar engagement */
export const ACTIVITY_TYPE: Readonly<Partial<Record<EngagementType, string>>> = {calls: 'Call', meetings: 'Meeting', tasks: 'Task'}

export function isActivityModule(value: string): value is ActivityModule {
  return (ACTIVITY_MODULES as readonly string[]).includes(value)
}

/** Engagements are modified on `hs_lastmodifieddate`, like companies and deals. */
export const ENGAGEMENT_MODIFIED_PROPERTY = 'hs_lastmodifieddate'

/** HubSpot-defined association type ids, engagement → parent (HubSpot's association type table). */
export const ENGAGEMENT_ASSOCIATION_TYPE_IDS: Readonly<Record<string, number>> = {
  'notes->contacts': 202, 'notes->companies': 190, 'notes->deals': 214,
  'calls->contacts': 194, 'calls->companies': 182, 'calls->deals': 206,
  'meetings->contacts': 200, 'meetings->companies': 188, 'meetings->deals': 212,
  'tasks->contacts': 204, 'tasks->companies': 192, 'tasks->deals': 216,
  'emails->contacts': 198, 'emails->companies': 186, 'emails->deals': 210,
}

/**
 * The HubSpot ports take the base object types; engagement types travel the same paths
 * (`/crm/objects/{version}/{type}`), so the activity streams hand them in under this one cast.
 */
export function asObjectType(type: EngagementType): HubSpotObjectType {
  return type as unknown as HubSpotObjectType
}

/** The links and ledger tables key rows by a module name; activity rows use their own module's. */
export function asModuleKey(module: ActivityModule): CrmModule {
  return module as unknown as CrmModule
}

/** A record an activity hangs off (a comment's related_to; a calendar activity's rel_id and contacts). */
export interface ActivityParent {
  module: CrmModule
  crmid: number
}

/**
 * One coreBOS activity as stored. `fields` by vtiger_field name: ModComments `commentcontent`;
 * cbCalendar `subject`, `description`, `activitytype`, `dtstart`, `dtend`, `eventstatus`,
 * `taskpriority`, `location`; both `createdtime` and `assigned_user_id`.
 */
export interface CrmActivity {
  module: ActivityModule
  crmid: number
  modifiedtime: string
  deleted: boolean
  fields: Record<string, string | null>
  /** live parents among Accounts, Contacts, Leads and Potentials */
  parents: ActivityParent[]
}

export interface ActivityCreate {
  fields: Record<string, string | null>
  parents: ActivityParent[]
  /** the HubSpot engagement it comes from: its link is written in the same transaction (no duplicate after a kill) */
  hubspot: {type: EngagementType; id: string}
  /** the link's first snapshot (the link writer saves the final one after the pass's other writes) */
  snapshot: {crm: Record<string, string | null>; hs: Record<string, string | null>}
  associations: Record<string, string[]>
}

export interface ActivityWriteResult {
  crmid: number
  ok: boolean
  error?: string
  /** not written: the activity changed in coreBOS since it was read */
  stale?: boolean
}

export interface CrmActivities {
  /** keyset-streamed pages ordered by (modifiedtime, crmid), trashed ones included */
  readChanged(module: ActivityModule, since: CrmCursor | null, pageSize: number): AsyncIterable<CrmActivity[]>
  readByIds(module: ActivityModule, crmids: number[]): Promise<CrmActivity[]>
  /** creates as coreBOS does (crmentity, module tables, crmobject, relation rows) with the link row */
  create(module: ActivityModule, inputs: ActivityCreate[], userId: number): Promise<ActivityWriteResult[]>
  /**
   * updates fields (and, when given, the parents) and bumps modifiedtime. With `expected` it is
   * compare-and-set, as a record update is (RecordUpdate): an activity saved since it was read is left
   * untouched and comes back stale
   */
  update(module: ActivityModule, crmid: number, fields: Record<string, string | null>, parents: ActivityParent[] | null, userId: number, expected?: RecordUpdate['expected']): Promise<ActivityWriteResult>
  /** trash, as coreBOS's mark_deleted */
  trash(module: ActivityModule, crmid: number, userId: number): Promise<void>
}
