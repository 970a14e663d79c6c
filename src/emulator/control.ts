/**
 * The in-process control surface: seeding and inspecting the portal, driving lag, limits and faults,
 * and reading the request log. Also served over HTTP under /_emulator/* (see server.ts).
 */
import type {Api} from './api.js'
import {EmuError} from './errors.js'
import type {FaultInjector, FaultSpec} from './faults.js'
import type {HostileKind, HostileModes, HostileSpec} from './hostile.js'
import type {LimitsOptions, RateLimiter} from './limits.js'
import {associationType, defaultAssociationType, resolveObjectType, type ObjectTypeName} from './schema.js'
import type {Store, StoredObject, TypeStore} from './store.js'

/** An object as the control surface shows it: every set property plus the system ones. */
export interface EmulatorObject {
  id: string
  properties: Record<string, string | null>
  createdAt: string
  updatedAt: string
  archived: boolean
  archivedAt?: string
}

export interface RequestLogEntry {
  method: string
  /** path without the query string */
  path: string
  /** 0 when no response was sent (hung or reset connection) */
  status: number
  atMs: number
  /** route label, e.g. 'POST /crm/objects/2026-03/contacts/batch/upsert'; 'UNKNOWN' for unmatched paths */
  endpoint: string
  /** the injected fault, if any */
  fault?: string
  /** refused by the emulated rate limits */
  rateLimited?: boolean
  /** answered by a hostile rule (hostile.ts) */
  hostile?: HostileKind
}

export type Instant = number | string | Date

export interface SeedOptions {
  /** modified date of every seeded object (and their create date unless createdAt is given) */
  modifiedAt?: Instant
  createdAt?: Instant
}

export interface AssociationView {
  toId: string
  typeIds: number[]
}

/** A type name as HubSpot takes it in paths: 'contacts', 'contact' or '0-1' (and so on). */
export type ObjectTypeRef = ObjectTypeName | string

export interface EmulatorControl {
  /** Creates objects as an import would: values validated and normalised, read-only properties allowed. */
  seed(type: ObjectTypeRef, propertiesList: Array<Record<string, string | null>>, options?: SeedOptions): EmulatorObject[]
  /** The object HubSpot's GET would return for this id (follows merges), archived included; undefined if none. */
  get(type: ObjectTypeRef, id: string): EmulatorObject | undefined
  /** Live objects in creation order; `archived: true` ⇒ only archived ones. */
  all(type: ObjectTypeRef, options?: {archived?: boolean}): EmulatorObject[]
  /** A user edit in the HubSpot UI: bumps the modified date (to `atMs` when given). */
  update(type: ObjectTypeRef, id: string, properties: Record<string, string | null>, options?: {atMs?: number}): EmulatorObject
  archive(type: ObjectTypeRef, id: string): void
  /** GDPR-style hard delete. */
  purge(type: ObjectTypeRef, id: string): void
  /** Merges as the API does (new id or keep-primary, per mergeMode); returns the surviving object. */
  merge(type: ObjectTypeRef, primaryId: string, mergedId: string): EmulatorObject
  /** Adds an association (default unlabelled type unless `typeId`), both directions. */
  associate(fromType: ObjectTypeRef, fromId: string, toType: ObjectTypeRef, toId: string, typeId?: number): void
  associations(fromType: ObjectTypeRef, id: string, toType: ObjectTypeRef): AssociationView[]
  /** Removes every association between two objects, as a HubSpot user unlinking them does (no modified-date change). */
  dissociate(fromType: ObjectTypeRef, fromId: string, toType: ObjectTypeRef, toId: string): void
  /** Adds a custom property (e.g. a hasUniqueValue external id) without going through the API. */
  createProperty(type: ObjectTypeRef, definition: Record<string, unknown>): void
  /** Adds a HubSpot user (an owner); returns its owner id, the value hubspot_owner_id takes. */
  addOwner(owner: {email: string; firstName?: string; lastName?: string; archived?: boolean}): string
  setSearchLag(ms: number): void
  setLimits(limits: LimitsOptions | false): void
  setDailyUsage(n: number): void
  /** Requests refused by the emulated rate limits (not injected 429 faults). */
  overBudget(): number
  injectFaults(spec: FaultSpec): void
  clearFaults(): void
  /** Answers matching requests with a lie (HTML, duplicate or non-digit ids, a cursor that repeats, a redirect …; hostile.ts). */
  hostile(spec: HostileSpec): void
  clearHostile(): void
  /** The request log, oldest first (the most recent 100,000–200,000 entries). */
  requests(): RequestLogEntry[]
  /** Calls per endpoint label, every request that reached the API (429s and faults included). */
  counts(): Record<string, number>
  /** Clears the log, the counts and the over-budget counter. */
  resetLog(): void
  /** The emulator's clock. */
  nowMs(): number
}

const MAX_LOG = 200_000

function toMs(v: Instant): number {
  const ms = v instanceof Date ? v.getTime() : typeof v === 'number' ? v : Date.parse(v)
  if (!Number.isFinite(ms)) throw new Error(`not an instant: ${String(v)}`)
  return ms
}

/** Control calls are test set-up: a HubSpot error becomes a plain thrown Error with the same message. */
function rethrow(e: unknown): never {
  if (e instanceof EmuError) {
    const err = new Error(`${e.status} ${e.category}: ${e.message}`) as Error & {status?: number; category?: string}
    err.status = e.status
    err.category = e.category
    throw err
  }
  throw e
}

export class Control implements EmulatorControl {
  log: RequestLogEntry[] = []
  private endpointCounts = new Map<string, number>()

  constructor(
    private readonly store: Store,
    private readonly api: Api,
    private readonly limiter: RateLimiter,
    private readonly faults: FaultInjector,
    private readonly hostileModes: HostileModes,
  ) {}

  record(entry: RequestLogEntry): void {
    // long benchmarks would otherwise grow the log without bound; counts() keeps the full tally
    if (this.log.length >= MAX_LOG) this.log.splice(0, MAX_LOG / 2)
    this.log.push(entry)
    this.endpointCounts.set(entry.endpoint, (this.endpointCounts.get(entry.endpoint) ?? 0) + 1)
  }

  private ts(type: ObjectTypeRef): TypeStore {
    const t = resolveObjectType(type)
    if (!t) throw new Error(`unknown object type ${type}`)
    return this.store.types[t]
  }

  private view(ts: TypeStore, obj: StoredObject): EmulatorObject {
    return this.store.writtenJson(ts, obj) as unknown as EmulatorObject
  }

  private must(ts: TypeStore, id: string): StoredObject {
    const obj = this.store.resolve(ts, id)
    if (!obj) throw new Error(`no ${ts.type} with id ${id}`)
    return obj
  }

  seed(type: ObjectTypeRef, propertiesList: Array<Record<string, string | null>>, options: SeedOptions = {}): EmulatorObject[] {
    const ts = this.ts(type)
    const modified = options.modifiedAt === undefined ? this.store.now() : toMs(options.modifiedAt)
    const created = options.createdAt === undefined ? modified : toMs(options.createdAt)
    const claimed = new Map<string, number>()
    try {
      const plans = propertiesList.map((props, i) => this.store.plan(ts, props, undefined, 'control', claimed, i))
      return plans.map((planned) => this.view(ts, this.store.create(ts, planned, modified, created)))
    } catch (e) {
      rethrow(e)
    }
  }

  get(type: ObjectTypeRef, id: string): EmulatorObject | undefined {
    const ts = this.ts(type)
    const obj = this.store.resolve(ts, id)
    return obj ? this.view(ts, obj) : undefined
  }

  all(type: ObjectTypeRef, options: {archived?: boolean} = {}): EmulatorObject[] {
    const ts = this.ts(type)
    const archived = options.archived ?? false
    const out: EmulatorObject[] = []
    for (const o of ts.order) if (ts.objects.get(o.id) === o && o.archived === archived) out.push(this.view(ts, o))
    return out
  }

  update(type: ObjectTypeRef, id: string, properties: Record<string, string | null>, options: {atMs?: number} = {}): EmulatorObject {
    const ts = this.ts(type)
    const obj = this.must(ts, id)
    try {
      const planned = this.store.plan(ts, properties, obj, 'control')
      this.store.apply(ts, obj, planned, options.atMs ?? this.store.now())
      if (options.atMs !== undefined) obj.updatedAtMs = options.atMs
    } catch (e) {
      rethrow(e)
    }
    return this.view(ts, obj)
  }

  archive(type: ObjectTypeRef, id: string): void {
    const ts = this.ts(type)
    this.store.archive(ts, this.must(ts, id))
  }

  purge(type: ObjectTypeRef, id: string): void {
    const ts = this.ts(type)
    this.store.purge(ts, this.must(ts, id))
  }

  merge(type: ObjectTypeRef, primaryId: string, mergedId: string): EmulatorObject {
    const ts = this.ts(type)
    try {
      return this.view(ts, this.store.merge(ts, primaryId, mergedId))
    } catch (e) {
      rethrow(e)
    }
  }

  associate(fromType: ObjectTypeRef, fromId: string, toType: ObjectTypeRef, toId: string, typeId?: number): void {
    const from = this.ts(fromType).type
    const to = this.ts(toType).type
    const def = typeId === undefined ? defaultAssociationType(from, to) : associationType(from, to, typeId)
    if (!def) throw new Error(`no association type ${typeId ?? 'default'} from ${from} to ${to}`)
    this.must(this.store.types[from], fromId)
    this.must(this.store.types[to], toId)
    this.store.associate(def, fromId, toId)
  }

  associations(fromType: ObjectTypeRef, id: string, toType: ObjectTypeRef): AssociationView[] {
    return this.store.associationsOf(this.ts(fromType).type, id, this.ts(toType).type)
  }

  dissociate(fromType: ObjectTypeRef, fromId: string, toType: ObjectTypeRef, toId: string): void {
    this.store.dissociate(this.ts(fromType).type, fromId, this.ts(toType).type, toId)
  }

  createProperty(type: ObjectTypeRef, definition: Record<string, unknown>): void {
    try {
      this.store.createProperty(this.ts(type), {groupName: `${this.ts(type).groups.keys().next().value}`, ...definition})
    } catch (e) {
      rethrow(e)
    }
  }

  addOwner(owner: {email: string; firstName?: string; lastName?: string; archived?: boolean}): string {
    return this.store.addOwner(owner).id
  }

  setSearchLag(ms: number): void {
    if (!(ms >= 0)) throw new Error('search lag must be >= 0')
    this.api.searchLagMs = ms
    for (const ts of Object.values(this.store.types)) ts.search.clear()
  }

  setLimits(limits: LimitsOptions | false): void {
    this.limiter.set(limits)
  }

  setDailyUsage(n: number): void {
    this.limiter.setDailyUsage(n, this.store.now())
  }

  overBudget(): number {
    return this.limiter.overBudget
  }

  injectFaults(spec: FaultSpec): void {
    this.faults.add(spec)
  }

  clearFaults(): void {
    this.faults.clear()
  }

  hostile(spec: HostileSpec): void {
    this.hostileModes.add(spec)
  }

  clearHostile(): void {
    this.hostileModes.clear()
  }

  requests(): RequestLogEntry[] {
    return [...this.log]
  }

  counts(): Record<string, number> {
    return Object.fromEntries(this.endpointCounts)
  }

  resetLog(): void {
    this.log = []
    this.endpointCounts.clear()
    this.limiter.overBudget = 0
  }

  nowMs(): number {
    return this.store.now()
  }
}
