/**
 * The engine's ports: what it needs from coreBOS and from HubSpot. `src/corebos` and `src/hubspot`
 * implement them; the engine sees only these interfaces, so it stays free of mysql2 and HTTP.
 */
import type {
  ControlValues,
  CrmCursor,
  CrmModule,
  CrmRecord,
  Direction,
  HubSpotObject,
  HubSpotObjectType,
} from './types.js'

// ---------------------------------------------------------------------------------------------
// coreBOS
// ---------------------------------------------------------------------------------------------

/** One field of a module as vtiger_field and information_schema describe it. */
export interface CrmFieldMeta {
  name: string
  label: string
  table: string
  column: string
  uitype: number
  /** first letter of typeofdata: V, E (email), D (date), DT, T, N, NN, I, C (checkbox) … */
  dataType: string
  mandatory: boolean
  /** column length for (var)char columns, null for others */
  maxLength: number | null
  /** information_schema DATA_TYPE: varchar, int, decimal, date, datetime, text … */
  sqlType: string
  /** picklist values for uitype 15/16/33 (multi), from vtiger_<fieldname> */
  picklistValues?: string[]
  /** uitype-10 targets from vtiger_fieldmodulerel */
  referenceModules?: string[]
  displaytype: number
  presence: number
}

export interface ModuleMeta {
  module: CrmModule
  tabid: number
  baseTable: string
  baseKey: string
  /** every module table with its key column, base table first, crmentity (or denorm) not included */
  tables: Array<{name: string; key: string}>
  /** vtiger_crmentity, or the base table when the module is denormalized */
  entityTable: string
  denormalized: boolean
  fields: Map<string, CrmFieldMeta>
  /** the field holding the entity number (contact_no, account_no, lead_no, potential_no) */
  numberField: string
}

export interface ReadChangedOptions {
  /** read records whose (modifiedtime, crmid) is at or after this position; null = from the beginning */
  since: CrmCursor | null
  /**
   * 'explicit': only hubspotsyncwith = '1'; 'default-on': every record except hubspotsyncwith = '0';
   * 'any': every record (reconcile must see opted-out records, or it would take their HubSpot twins for new ones)
   */
  optIn: 'explicit' | 'default-on' | 'any'
  /** include trashed records (and converted Leads), so deletes can be pushed */
  includeDeleted: boolean
  pageSize: number
}

/**
 * What a count of pending work selects: exactly what readChanged with the same options would read;
 * with `until` (a naive datetime), nothing modified after it (records dated in the future are not pending).
 */
export type CountChangedOptions = Omit<ReadChangedOptions, 'pageSize'> & {until?: string}

/**
 * The keyset position just past every record modified at `modifiedtime`: counting from it counts
 * what changed strictly later (status: what the watermark has not covered yet).
 */
export function pastModifiedTime(modifiedtime: string): CrmCursor {
  return {modifiedtime, crmid: Number.MAX_SAFE_INTEGER}
}

export interface CreateInput {
  /** by field name; values in coreBOS storage form (dates Y-m-d, checkboxes '1'/'0', refs crmid) */
  fields: Record<string, string | null>
  control?: ControlValues
}

export interface WriteResult {
  crmid: number
  ok: boolean
  error?: string
  /** not written: the record changed in coreBOS since it was read (its modifiedtime is not the expected one) */
  stale?: boolean
}

/**
 * One update of updateMany. With `expected` it is compare-and-set: it applies only if the record still
 * has the modifiedtime it was read (and merged) with, and still holds these values (as read) in the
 * given fields; otherwise nothing is written and the result is stale. The values catch a save made in
 * the same second (coreBOS keeps whole seconds).
 */
export interface RecordUpdate {
  crmid: number
  fields: Record<string, string | null>
  expected?: {modifiedtime: string; fields?: Record<string, string | null>}
}

export interface CrmRecords {
  meta(module: CrmModule): Promise<ModuleMeta>
  /** keyset-streamed pages ordered by (modifiedtime, crmid) */
  readChanged(module: CrmModule, options: ReadChangedOptions): AsyncIterable<CrmRecord[]>
  /**
   * How many records readChanged would read with these options, by one COUNT over the same
   * predicate: the total a pass's progress is measured against, and status's pending count.
   */
  countChanged(module: CrmModule, options: CountChangedOptions): Promise<number>
  /** the records with these ids, deleted ones included; purged ids are simply absent */
  readByIds(module: CrmModule, crmids: number[]): Promise<CrmRecord[]>
  /**
   * Live records of the module whose hubspotid control field holds one of these ids. A pull that
   * created a record and died before saving its link finds it here, and so do legacy links.
   */
  findByHubSpotIds(module: CrmModule, hubspotIds: string[]): Promise<Map<string, CrmRecord>>
  /**
   * live records of the module (Contacts, Leads) by e-mail, lower-cased; several per e-mail possible.
   * With `only`, the records carry just these fields and the e-mail (a check that needs no more)
   */
  findByEmails(module: CrmModule, emails: string[], options?: {only?: readonly string[]}): Promise<Map<string, CrmRecord[]>>
  /** creates records exactly as coreBOS would (crmid, entity row, crmobject, every module table, number) */
  create(module: CrmModule, inputs: CreateInput[], userId: number): Promise<WriteResult[]>
  /** updates fields and bumps modifiedtime in the entity table and crmobject */
  update(module: CrmModule, crmid: number, fields: Record<string, string | null>, userId: number): Promise<void>
  /** many updates in one transaction; a record that cannot be written (or changed since read) fails alone, with its reason */
  updateMany(module: CrmModule, updates: RecordUpdate[], userId: number): Promise<WriteResult[]>
  /** trash, as coreBOS's mark_deleted */
  trash(module: CrmModule, crmid: number, userId: number): Promise<void>
  /** writes control fields with plain SQL: no modifiedtime bump, so they never read as a change */
  setControl(module: CrmModule, crmid: number, values: ControlValues): Promise<void>
  /** the same for many records in one statement (the same columns for each) */
  setControlMany(module: CrmModule, rows: Array<{crmid: number; values: ControlValues}>): Promise<void>
  /** the database's clock as a naive DATETIME string in the install's timezone (what coreBOS stores) */
  now(): Promise<string>
  /** the database's clock as an instant (ms since the epoch): what watermarks are measured against */
  nowMs(): Promise<number>
  /** adds and removes rows of a potential's contacts (vtiger_contpotentialrel); no modifiedtime bump, as coreBOS's related list */
  relateContacts(potentialid: number, change: {add: number[]; remove: number[]}): Promise<void>
  /** who may own a record: users (vtiger_users, with email1 and status) and group ids */
  owners(): Promise<CrmOwners>
}

// ---------------------------------------------------------------------------------------------
// cbhs state tables (cbhs_*) in the coreBOS database
// ---------------------------------------------------------------------------------------------

export interface Watermark {
  module: CrmModule
  direction: Direction
  /** push: ISO instant, never past the database clock (rows of older versions: a naive coreBOS datetime); pull: ISO instant of HubSpot's modified date */
  value: string | null
  /** position of an unfinished pass (backfill resume); null when the last pass completed */
  cursor: string | null
  updatedAt: string | null
}

export interface Link {
  module: CrmModule
  crmid: number
  objectType: HubSpotObjectType
  hubspotId: string
  /** last synced values: crm by field name, hs by property name (both in their own side's form) */
  snapshot: {crm: Record<string, string | null>; hs: Record<string, string | null>}
  /** associations as last synced: object type → HubSpot ids */
  associations: Record<string, string[]>
  archived: boolean
  syncedAt: string
}

export interface FailureEntry {
  id: number
  module: CrmModule
  direction: Direction
  crmid: number | null
  hubspotId: string | null
  category: string | null
  message: string
  attempts: number
  firstFailedAt: string
  lastFailedAt: string
  nextRetryAt: string | null
  givenUp: boolean
  resolvedAt: string | null
}

/** why an open failure closed: synced, or the record is no longer eligible for sync (unticked, trashed, …) */
export type FailureResolution = 'synced' | 'ineligible'

export interface RunRecord {
  id: number
  command: string
  startedAt: string
  finishedAt: string | null
  exitCode: number | null
  dryRun: boolean
  counts: Record<string, number>
  apiCalls: number
  message: string | null
}

export interface StateStore {
  getWatermark(module: CrmModule, direction: Direction): Promise<Watermark>
  setWatermark(module: CrmModule, direction: Direction, value: string | null, cursor: string | null): Promise<void>

  getLinksByCrmids(module: CrmModule, crmids: number[]): Promise<Map<number, Link>>
  getLinksByHubSpotIds(objectType: HubSpotObjectType, ids: string[]): Promise<Map<string, Link>>
  saveLinks(links: Link[]): Promise<void>
  deleteLink(module: CrmModule, crmid: number): Promise<void>
  /** links whose coreBOS record is trashed or purged but whose HubSpot object is not archived yet */
  linksWithGoneRecords(module: CrmModule, limit: number): Promise<Link[]>
  countLinks(module: CrmModule): Promise<number>
  /** HubSpot ids of the live links of an object type, in ascending numeric order */
  liveLinkIds(objectType: HubSpotObjectType): Promise<string[]>
  countLiveLinks(objectType: HubSpotObjectType): Promise<number>
  /** the crmid write-backs owed to these objects, sent by a later pass (carrier-queue.ts); queuing one twice is one */
  queueCarrierWrites(objectType: HubSpotObjectType, hubspotIds: string[]): Promise<void>
  /**
   * up to `limit` queued write-backs, each with the crmid of its live link; null when the object
   * has no live link any more (archived, unlinked): nothing is owed to it
   */
  queuedCarrierWrites(objectType: HubSpotObjectType, limit: number): Promise<Array<{hubspotId: string; crmid: number | null}>>
  dequeueCarrierWrites(objectType: HubSpotObjectType, hubspotIds: string[]): Promise<void>
  /** queued write-backs of live links: linked objects that do not carry the unique property yet, by design */
  countQueuedCarrierWrites(objectType: HubSpotObjectType): Promise<number>

  recordFailure(entry: {
    module: CrmModule
    direction: Direction
    crmid?: number | null
    hubspotId?: string | null
    category?: string | null
    message: string
    /** not retried on a schedule: the record comes back when it changes (records that share an identity) */
    waitForChange?: boolean
  }): Promise<void>
  resolveFailure(module: CrmModule, direction: Direction, key: {crmid?: number; hubspotId?: string}): Promise<void>
  /** resolves the open entries of many records at once */
  resolveFailures(module: CrmModule, direction: Direction, keys: Array<{crmid?: number; hubspotId?: string}>, resolution?: FailureResolution): Promise<void>
  dueFailures(module: CrmModule, direction: Direction, limit: number): Promise<FailureEntry[]>
  /** open failures of these records that wait for a change (not retried on a schedule) */
  waitingFailures(module: CrmModule, direction: Direction, keys: {crmids?: number[]; hubspotIds?: string[]}): Promise<FailureEntry[]>
  listFailures(options: {includeResolved?: boolean; limit?: number}): Promise<FailureEntry[]>
  /** whether the ledger holds any open entry of this module and direction (one indexed probe) */
  hasOpenFailures(module: CrmModule, direction: Direction): Promise<boolean>

  /** a small cached value (≤ 64 KB) and when it was stored; null when absent */
  readCache(key: string): Promise<{value: string; storedAtMs: number} | null>
  writeCache(key: string, value: string): Promise<void>

  startRun(command: string, dryRun: boolean): Promise<number>
  finishRun(id: number, outcome: {exitCode: number; counts: Record<string, number>; apiCalls: number; message?: string}): Promise<void>
  listRuns(limit: number): Promise<RunRecord[]>
}

/** The single-writer lock (GET_LOCK). `acquire` returns false when another pass holds it. */
export interface PassLock {
  acquire(name: string): Promise<boolean>
  release(name: string): Promise<void>
  holder(name: string): Promise<{connectionId: number} | null>
}

// ---------------------------------------------------------------------------------------------
// HubSpot
// ---------------------------------------------------------------------------------------------

export interface BatchItemError {
  /** the input's key: the unique-property value for upserts, the object id otherwise */
  key: string
  status: number
  category: string
  message: string
  /** a contact create refused because its e-mail is taken: the contact that has it */
  existingId?: string
}

export interface UpsertResult {
  key: string
  id: string
  isNew: boolean
  properties: Record<string, string | null>
  updatedAt?: string
}

export interface PropertyDefinition {
  name: string
  label: string
  type: string
  fieldType: string
  groupName?: string
  hasUniqueValue?: boolean
  readOnlyValue?: boolean
  calculated?: boolean
  options?: Array<{label: string; value: string}>
}

export interface PipelineStage {
  id: string
  label: string
  displayOrder: number
  isClosed: boolean
  probability: number | null
}

export interface Pipeline {
  id: string
  label: string
  stages: PipelineStage[]
}

/** A HubSpot user as an owner (GET /crm/owners): hubspot_owner_id holds its id. */
export interface HubSpotOwner {
  id: string
  email: string
  archived: boolean
}

/** A coreBOS user (vtiger_users) who may own records; groups (vtiger_groups) own records too. */
export interface CrmUser {
  id: number
  email: string
  active: boolean
}

export interface CrmOwners {
  users: CrmUser[]
  groupIds: number[]
}

export interface AssociationPair {
  fromId: string
  toId: string
}

export type ListPage = HubSpotObject[] & {next?: string}

export interface ListOptions {
  properties: string[]
  archived?: boolean
  after?: string
  /** object types whose associated ids each listed object brings along (`HubSpotObject.associations`) */
  associations?: HubSpotObjectType[]
}

/** A page of a modified-since search; the first page carries how many objects the search matched. */
export type SearchPage = HubSpotObject[] & {total?: number}

/**
 * Live objects that carry a property (cbhs's unique property: the ones linked to coreBOS records),
 * optionally within a range of record ids (inclusive).
 */
export interface CarrierQuery {
  property: string
  fromId?: number
  toId?: number
}

/** What one search tells an idle pull (HubSpotPort.searchRecentWithCarriers). */
export interface RecentWithCarriers {
  /** the objects modified in [since, until], ascending by modified date (then id) */
  objects: HubSpotObject[]
  /** live objects carrying the property: what countCarriers would answer without a range */
  carriers: number
}

export interface HubSpotPort {
  /** batch upsert keyed on the unique property; chunked by 100; per-input errors, never thrown */
  upsert(type: HubSpotObjectType, inputs: Array<{key: string; properties: Record<string, string>}>): Promise<{
    results: UpsertResult[]
    errors: BatchItemError[]
  }>
  /** batch update by object id; chunked by 100 */
  update(type: HubSpotObjectType, inputs: Array<{id: string; properties: Record<string, string>}>): Promise<{
    results: UpsertResult[]
    errors: BatchItemError[]
  }>
  /** batch read by id (or by idProperty); merged-away ids resolve to the survivor, whose id differs */
  read(
    type: HubSpotObjectType,
    ids: string[],
    properties: string[],
    options?: {idProperty?: string; archived?: boolean},
  ): Promise<{found: Array<HubSpotObject & {requestedId: string}>; missing: string[]}>
  archive(type: HubSpotObjectType, ids: string[]): Promise<{errors: BatchItemError[]}>
  /**
   * Objects modified in [sinceMs, untilMs], ascending by modified date, each exactly once,
   * windowed past the 10,000-result search cap (ties on one timestamp included). The first page
   * carries the first search's `total`: how many objects the whole range holds, for progress.
   */
  searchModified(
    type: HubSpotObjectType,
    options: {sinceMs: number; untilMs: number; properties: string[]; associations?: HubSpotObjectType[]},
  ): AsyncIterable<SearchPage>
  /**
   * One search for both of an idle pull's questions: the objects modified in [sinceMs, untilMs]
   * (what searchModified would hand out, in one list) and how many live objects carry
   * `carrierProperty`. Null when one page cannot tell both (more changes than a page holds, an
   * answer that does not add up): then searchModified and countCarriers answer them.
   */
  searchRecentWithCarriers(
    type: HubSpotObjectType,
    options: {sinceMs: number; untilMs: number; properties: string[]; carrierProperty: string},
  ): Promise<RecentWithCarriers | null>
  /**
   * every object via the list endpoint (no cap); archived=true lists only archived ones. Each page
   * carries `next`, the paging cursor after it (absent on the last page), so a pass can resume there.
   */
  list(type: HubSpotObjectType, options: ListOptions): AsyncIterable<ListPage>
  /** how many live objects match: the search `total` of one call */
  countCarriers(type: HubSpotObjectType, query: CarrierQuery): Promise<number>
  /** the ids of the live objects that match, ascending */
  carrierIds(type: HubSpotObjectType, query: CarrierQuery): Promise<string[]>
  /** find contacts by e-mail (lower-cased); used to link instead of duplicating */
  findContactsByEmail(emails: string[]): Promise<Map<string, string>>

  readAssociations(from: HubSpotObjectType, to: HubSpotObjectType, ids: string[]): Promise<Map<string, string[]>>
  createAssociations(from: HubSpotObjectType, to: HubSpotObjectType, pairs: AssociationPair[]): Promise<{errors: BatchItemError[]}>
  removeAssociations(from: HubSpotObjectType, to: HubSpotObjectType, pairs: AssociationPair[]): Promise<{errors: BatchItemError[]}>

  getProperties(type: HubSpotObjectType): Promise<PropertyDefinition[]>
  getDealPipelines(): Promise<Pipeline[]>
  /** every owner of the portal, archived ones included (their ids stay on records) */
  getOwners(): Promise<HubSpotOwner[]>
  getPortalId(): Promise<string>

  /** calls made so far, by endpoint label */
  callCounts(): Record<string, number>
  /** calls of the 10-second budget that could be sent now without waiting (what a pass leaves unused) */
  spareCalls(): number
}

/** Injected time, so tests can drive search lag and watermarks deterministically. */
export interface Clock {
  nowMs(): number
}

/** Progress and diagnostics go through this; the command decides how they are shown. */
export interface Reporter {
  progress(task: string, done: number, total?: number): void
  info(message: string): void
  warn(message: string): void
}
