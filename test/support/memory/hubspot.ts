/**
 * HubSpot in memory: the project's emulator store (src/emulator/store.ts) behind the HubSpotPort,
 * without HTTP. The store keeps HubSpot's rules (value normalisation, the unique index with
 * contacts' e-mail, merges and aliases, associations, the modified date bumped on every accepted
 * write); this adapter answers each port call as the gateway does over the emulator's batch
 * endpoints, with objectWriteTraceId on every input (per-input errors, `existingId` from the 409).
 */
import {EmuError} from '../../../src/emulator/errors.js'
import {defaultAssociationType, MODIFIED_PROP, type PropertyDef} from '../../../src/emulator/schema.js'
import {Store, type StoredObject, type TypeStore, type MergeMode} from '../../../src/emulator/store.js'
import {itemError, type HubSpotItemError} from '../../../src/hubspot/batch.js'
import {readRecentAnswer, type RecentSearch} from '../../../src/hubspot/recent-search.js'
import type {AssociationPair, CarrierQuery, HubSpotOwner, HubSpotPort, ListOptions, ListPage, Pipeline, PropertyDefinition, RecentWithCarriers, SearchPage, UpsertResult} from '../../../src/sync/ports.js'
import type {HubSpotObject, HubSpotObjectType} from '../../../src/sync/types.js'
import type {TestClock} from './clock.js'

const BATCH = 100
const SEARCH_PAGE = 200
const LIST_PAGE = 100

export interface MemoryHubSpotOptions {
  uniqueProperty?: string
  portalId?: number
  /** search sees an object only this long after its last change, as HubSpot's index */
  searchLagMs?: number
  mergeMode?: MergeMode
}

export interface HubSpotWrite {
  op: 'upsert' | 'update' | 'archive' | 'associate' | 'dissociate'
  type: HubSpotObjectType
  id: string
  properties: Record<string, string>
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

function pick(properties: Record<string, string | null>, only: string[]): Record<string, string | null> {
  const out: Record<string, string | null> = {}
  for (const name of only) if (name in properties) out[name] = properties[name] ?? null
  return out
}

export class MemoryHubSpot implements HubSpotPort {
  readonly store: Store
  readonly uniqueProperty: string
  searchLagMs: number
  /** results on the page of searchRecentWithCarriers (HubSpot's page size; tests make it overflow sooner) */
  recentPage = SEARCH_PAGE
  private readonly counts = new Map<string, number>()
  /** every object write the engine made through the port, in order */
  readonly log: HubSpotWrite[] = []

  constructor(
    private readonly clock: TestClock,
    options: MemoryHubSpotOptions = {},
  ) {
    this.store = new Store({nowMs: () => clock.nowMs(), portalId: options.portalId ?? 12_345_678, mergeMode: options.mergeMode ?? 'new-id'})
    this.uniqueProperty = options.uniqueProperty ?? 'corebos_crmid'
    this.searchLagMs = options.searchLagMs ?? 0
    // what `cbhs setup` creates in the portal
    for (const ts of Object.values(this.store.types)) {
      this.store.createGroup(ts, {name: 'corebos', label: 'coreBOS'})
      this.store.createProperty(ts, {name: this.uniqueProperty, label: 'coreBOS record id', type: 'string', fieldType: 'text', groupName: 'corebos', hasUniqueValue: true})
    }
  }

  private ts(type: HubSpotObjectType): TypeStore {
    return this.store.types[type]
  }

  private count(label: string, calls = 1): void {
    this.counts.set(label, (this.counts.get(label) ?? 0) + calls)
    // search and association calls are outside the 10-second budget, as the gateway's limiter has it
    if (!/^(search|associations)/.test(label)) this.spare = Math.max(0, this.spare - calls)
  }

  callCounts(): Record<string, number> {
    return Object.fromEntries(this.counts)
  }

  /** what spareCalls answers, less each budgeted call made since: unbounded by default, as no limit; a test sets it to play a spent window */
  spare = Number.POSITIVE_INFINITY

  spareCalls(): number {
    return this.spare
  }

  /** Object and association writes the engine made. */
  writes(): number {
    return this.log.length
  }

  /** The object as the gateway hands it to the engine: only the asked properties that exist. */
  private toObject(ts: TypeStore, obj: StoredObject, properties: string[]): HubSpotObject {
    const json = this.store.toJson(ts, obj, properties) as {properties: Record<string, string | null>; createdAt: string; updatedAt: string; archived: boolean; archivedAt?: string}
    const object: HubSpotObject = {id: obj.id, properties: pick(json.properties, properties), createdAt: json.createdAt, updatedAt: json.updatedAt, archived: json.archived}
    if (json.archivedAt) object.archivedAt = json.archivedAt
    return object
  }

  private result(ts: TypeStore, key: string, obj: StoredObject, isNew: boolean): UpsertResult {
    const json = this.store.writtenJson(ts, obj) as {properties: Record<string, string | null>; updatedAt: string}
    return {key, id: obj.id, isNew, properties: {...json.properties}, updatedAt: json.updatedAt}
  }

  // ------------------------------------------------------------------------------------------
  // batch writes: every input planned against the store and the rest of its batch, then applied
  // ------------------------------------------------------------------------------------------

  async upsert(type: HubSpotObjectType, inputs: Array<{key: string; properties: Record<string, string>}>) {
    const byKey = new Map<string, Record<string, string>>()
    for (const input of inputs) byKey.set(input.key, {...byKey.get(input.key), ...input.properties, [this.uniqueProperty]: input.key})
    return this.write(type, 'upsert', [...byKey].map(([key, properties]) => ({key, properties})))
  }

  async update(type: HubSpotObjectType, inputs: Array<{id: string; properties: Record<string, string>}>) {
    const byId = new Map<string, Record<string, string>>()
    for (const input of inputs) byId.set(input.id, {...byId.get(input.id), ...input.properties})
    return this.write(type, 'update', [...byId].map(([key, properties]) => ({key, properties})))
  }

  private write(type: HubSpotObjectType, op: 'upsert' | 'update', items: Array<{key: string; properties: Record<string, string>}>) {
    const ts = this.ts(type)
    const results: UpsertResult[] = []
    const errors: HubSpotItemError[] = []
    for (const part of chunks(items, BATCH)) {
      this.count(`batch/${op} ${type}`)
      const claimed = new Map<string, number>()
      const planned = part.map((item, i) => {
        // upsert finds by the unique property (live objects only); update by id, merged-away ids not followed
        const found = op === 'upsert' ? this.store.findBy(ts, item.key, this.uniqueProperty, false) : this.store.findBy(ts, item.key, undefined, false)
        const existing = found && !found.archived ? found : undefined
        if (op === 'update' && !existing) return {item, error: itemError(item.key, 404, 'OBJECT_NOT_FOUND', `Object ${item.key} not found`)}
        try {
          return {item, existing, plan: this.store.plan(ts, item.properties, existing, 'api', claimed, i)}
        } catch (e) {
          if (!(e instanceof EmuError)) throw e
          return {item, error: itemError(item.key, e.status, e.category, e.message)}
        }
      })
      for (const p of planned) {
        if ('error' in p && p.error) {
          errors.push(p.error)
          continue
        }
        const {item, existing, plan} = p as {item: (typeof part)[number]; existing: StoredObject | undefined; plan: NonNullable<ReturnType<Store['plan']>>}
        let obj = existing
        if (obj) this.store.apply(ts, obj, plan)
        else obj = this.store.create(ts, plan)
        this.log.push({op, type, id: obj.id, properties: {...item.properties}})
        results.push(this.result(ts, item.key, obj, !existing))
      }
    }
    return {results, errors}
  }

  async read(type: HubSpotObjectType, ids: string[], properties: string[], options: {idProperty?: string; archived?: boolean} = {}) {
    const ts = this.ts(type)
    const requested = [...new Set(ids)]
    this.count(`batch/read ${type}`, Math.max(1, Math.ceil(requested.length / BATCH)))
    const found: Array<HubSpotObject & {requestedId: string}> = []
    const missing: string[] = []
    for (const id of requested) {
      const obj = this.store.findBy(ts, id, options.idProperty, true)
      if (!obj || obj.archived !== (options.archived ?? false)) missing.push(id)
      else found.push({...this.toObject(ts, obj, properties), requestedId: id})
    }
    return {found, missing}
  }

  async archive(type: HubSpotObjectType, ids: string[]) {
    const ts = this.ts(type)
    const unique = [...new Set(ids)]
    this.count(`batch/archive ${type}`, Math.max(1, Math.ceil(unique.length / BATCH)))
    for (const id of unique) {
      const obj = this.store.resolve(ts, id)
      if (!obj || obj.archived) continue
      this.store.archive(ts, obj)
      this.log.push({op: 'archive', type, id: obj.id, properties: {}})
    }
    return {errors: [] as HubSpotItemError[]}
  }

  // ------------------------------------------------------------------------------------------
  // search and list
  // ------------------------------------------------------------------------------------------

  private searchable(obj: StoredObject): boolean {
    return !obj.archived && !(this.searchLagMs > 0 && obj.updatedAtMs > this.clock.nowMs() - this.searchLagMs)
  }

  searchModified(type: HubSpotObjectType, options: {sinceMs: number; untilMs: number; properties: string[]; associations?: HubSpotObjectType[]}): AsyncIterable<SearchPage> {
    const self = this
    const ts = this.ts(type)
    return {
      async *[Symbol.asyncIterator]() {
        // each object once, in the order of its modified date at the search (later changes are the next pass's)
        const hits = [...ts.objects.values()]
          .filter((o) => self.searchable(o) && o.updatedAtMs >= options.sinceMs && o.updatedAtMs <= options.untilMs)
          .sort((a, b) => a.updatedAtMs - b.updatedAtMs || Number(a.id) - Number(b.id))
        // the first search's total goes with the first page handed out, as the gateway does
        let total: number | undefined = hits.length
        for (const page of chunks(hits, SEARCH_PAGE)) {
          self.count(`search ${type}`)
          const live = page.filter((o) => ts.objects.get(o.id) === o && !o.archived)
          if (live.length === 0) continue
          const out: SearchPage = live.map((o) => self.toObject(ts, o, options.properties))
          // as the gateway does: the page's associations are read with it (search answers none inline)
          for (const to of options.associations ?? []) {
            const read = await self.readAssociations(type, to, out.map((o) => o.id))
            for (const o of out) (o.associations ??= {})[to] = read.get(o.id) ?? []
          }
          if (total !== undefined) out.total = total
          total = undefined
          yield out
        }
        if (hits.length === 0) self.count(`search ${type}`)
      },
    }
  }

  /**
   * The gateway's one search over the store: modified in the range OR carrying the property, newest
   * first, one page, read by the gateway's own rule (src/hubspot/recent-search.ts).
   */
  async searchRecentWithCarriers(
    type: HubSpotObjectType,
    options: {sinceMs: number; untilMs: number; properties: string[]; carrierProperty: string},
  ): Promise<RecentWithCarriers | null> {
    this.count(`search ${type}`)
    const ts = this.ts(type)
    const search: RecentSearch = {modifiedProperty: MODIFIED_PROP[type], ...options}
    const hits = [...ts.objects.values()]
      .filter((o) => ts.objects.get(o.id) === o && this.searchable(o))
      .filter((o) => (o.updatedAtMs >= options.sinceMs && o.updatedAtMs <= options.untilMs) || (o.props.get(options.carrierProperty) ?? '') !== '')
      .sort((a, b) => b.updatedAtMs - a.updatedAtMs || Number(a.id) - Number(b.id))
    const asked = [...new Set([...options.properties, search.modifiedProperty, options.carrierProperty])]
    const results = hits.slice(0, this.recentPage).map((o) => this.toObject(ts, o, asked))
    const answer = readRecentAnswer(search, {results, total: hits.length, hasMore: hits.length > results.length})
    if (!answer) return null
    return {objects: answer.objects.map((o) => ({...o, properties: pick(o.properties, options.properties)})), carriers: answer.carriers}
  }

  list(type: HubSpotObjectType, options: ListOptions): AsyncIterable<ListPage> {
    const self = this
    const ts = this.ts(type)
    return {
      async *[Symbol.asyncIterator]() {
        let after = Number(options.after ?? 0)
        for (;;) {
          self.count(`${options.archived ? 'list archived' : 'list'} ${type}`)
          const {objects, nextSeq} = self.store.list(ts, LIST_PAGE, after, options.archived ?? false)
          const page: ListPage = objects.map((o) => {
            const object = self.toObject(ts, o, options.properties)
            if (options.associations) object.associations = Object.fromEntries(options.associations.map((to) => [to, self.store.associationsOf(type, o.id, to).map((a) => a.toId)]))
            return object
          })
          page.next = nextSeq === null ? undefined : String(nextSeq)
          if (page.length > 0 || page.next) yield page
          if (nextSeq === null) return
          after = nextSeq
        }
      },
    }
  }

  private carriers(type: HubSpotObjectType, query: CarrierQuery): StoredObject[] {
    const ts = this.ts(type)
    const from = query.fromId ?? 0
    const to = query.toId ?? Number.MAX_SAFE_INTEGER
    return [...ts.objects.values()]
      .filter((o) => ts.objects.get(o.id) === o && this.searchable(o))
      .filter((o) => Number(o.id) >= from && Number(o.id) <= to && (o.props.get(query.property) ?? '') !== '')
      .sort((a, b) => Number(a.id) - Number(b.id))
  }

  async countCarriers(type: HubSpotObjectType, query: CarrierQuery): Promise<number> {
    this.count(`search ${type}`)
    return this.carriers(type, query).length
  }

  async carrierIds(type: HubSpotObjectType, query: CarrierQuery): Promise<string[]> {
    const hits = this.carriers(type, query)
    this.count(`search ${type}`, Math.max(1, Math.ceil(hits.length / SEARCH_PAGE)))
    return hits.map((o) => o.id)
  }

  async findContactsByEmail(emails: string[]): Promise<Map<string, string>> {
    const wanted = [...new Set(emails.map((e) => e.trim().toLowerCase()).filter((e) => e.includes('@')))]
    const out = new Map<string, string>()
    if (wanted.length > 0) this.count('search contacts by email', Math.ceil(wanted.length / BATCH))
    const ts = this.ts('contacts')
    const hits = [...ts.objects.values()].filter((o) => this.searchable(o)).sort((a, b) => a.createdAtMs - b.createdAtMs || Number(a.id) - Number(b.id))
    for (const o of hits) {
      const email = o.props.get('email')?.toLowerCase()
      if (email && wanted.includes(email) && !out.has(email)) out.set(email, o.id)
    }
    return out
  }

  // ------------------------------------------------------------------------------------------
  // associations (the unlabelled HubSpot-defined type, as the gateway writes them)
  // ------------------------------------------------------------------------------------------

  private live(type: HubSpotObjectType, id: string): boolean {
    const obj = this.ts(type).objects.get(id)
    return !!obj && !obj.archived
  }

  async readAssociations(from: HubSpotObjectType, to: HubSpotObjectType, ids: string[]): Promise<Map<string, string[]>> {
    this.count(`associations/read ${from}->${to}`, Math.max(1, Math.ceil(ids.length / 1000)))
    const out = new Map<string, string[]>()
    for (const id of ids) out.set(id, this.live(from, id) ? this.store.associationsOf(from, id, to).map((a) => a.toId) : [])
    return out
  }

  async createAssociations(from: HubSpotObjectType, to: HubSpotObjectType, pairs: AssociationPair[]) {
    this.count(`associations/create ${from}->${to}`)
    const def = defaultAssociationType(from, to)
    if (!def) throw new Error(`no HubSpot-defined association from ${from} to ${to}`)
    const errors: HubSpotItemError[] = []
    for (const p of dedupe(pairs)) {
      const gone = !this.live(from, p.fromId) ? `${from} ${p.fromId}` : !this.live(to, p.toId) ? `${to} ${p.toId}` : null
      if (gone) {
        errors.push(itemError(`${p.fromId}->${p.toId}`, 404, 'OBJECT_NOT_FOUND', `No ${gone} exists`))
        continue
      }
      this.store.associate(def, p.fromId, p.toId)
      this.log.push({op: 'associate', type: from, id: p.fromId, properties: {[to]: p.toId}})
    }
    return {errors}
  }

  async removeAssociations(from: HubSpotObjectType, to: HubSpotObjectType, pairs: AssociationPair[]) {
    this.count(`associations/archive ${from}->${to}`)
    for (const p of dedupe(pairs)) {
      this.store.dissociate(from, p.fromId, to, p.toId)
      this.log.push({op: 'dissociate', type: from, id: p.fromId, properties: {[to]: p.toId}})
    }
    return {errors: [] as HubSpotItemError[]}
  }

  // ------------------------------------------------------------------------------------------
  // schema and account
  // ------------------------------------------------------------------------------------------

  async getProperties(type: HubSpotObjectType): Promise<PropertyDefinition[]> {
    this.count(`properties ${type}`)
    return [...this.ts(type).props.values()].map(definition)
  }

  async getOwners(): Promise<HubSpotOwner[]> {
    this.count('owners')
    return this.store.owners.map((o) => ({id: o.id, email: o.email.toLowerCase(), archived: o.archived}))
  }

  async getDealPipelines(): Promise<Pipeline[]> {
    this.count('pipelines deals')
    return this.store.pipelines.map((p) => ({
      id: p.id,
      label: p.label,
      stages: p.stages
        .map((s, i) => ({id: s.id, label: s.label, displayOrder: i, isClosed: s.isClosed, probability: s.probability === '' ? null : Number(s.probability)})),
    }))
  }

  async getPortalId(): Promise<string> {
    this.count('account-info details')
    return String(this.store.options.portalId)
  }

  // ------------------------------------------------------------------------------------------
  // what users do in HubSpot (not counted as engine writes)
  // ------------------------------------------------------------------------------------------

  /** A record created in the HubSpot UI (or an import); returns its id. */
  create(type: HubSpotObjectType, properties: Record<string, string | null>): string {
    const ts = this.ts(type)
    return this.store.create(ts, this.store.plan(ts, properties, undefined, 'control')).id
  }

  /** A user's edit in the HubSpot UI: bumps the modified date. */
  edit(type: HubSpotObjectType, id: string, properties: Record<string, string | null>): void {
    const ts = this.ts(type)
    const obj = this.must(ts, id)
    this.store.apply(ts, obj, this.store.plan(ts, properties, obj, 'control'))
  }

  archiveByUser(type: HubSpotObjectType, id: string): void {
    const ts = this.ts(type)
    this.store.archive(ts, this.must(ts, id))
  }

  /** Merges `mergedId` into `primaryId`; returns the survivor's id (a new one for contacts and companies). */
  merge(type: HubSpotObjectType, primaryId: string, mergedId: string): string {
    return this.store.merge(this.ts(type), primaryId, mergedId).id
  }

  /** A user associating two records (the UI does not bump either modified date). */
  associate(from: HubSpotObjectType, fromId: string, to: HubSpotObjectType, toId: string): void {
    this.store.associate(defaultAssociationType(from, to)!, fromId, toId)
  }

  dissociate(from: HubSpotObjectType, fromId: string, to: HubSpotObjectType, toId: string): void {
    this.store.dissociate(from, fromId, to, toId)
  }

  associations(from: HubSpotObjectType, id: string, to: HubSpotObjectType): string[] {
    return this.store.associationsOf(from, id, to).map((a) => a.toId)
  }

  /** Every set property of the object (merges followed), archived ones included; undefined if none. */
  get(type: HubSpotObjectType, id: string): (HubSpotObject & {updatedAtMs: number}) | undefined {
    const ts = this.ts(type)
    const obj = this.store.resolve(ts, id)
    if (!obj) return undefined
    const json = this.store.writtenJson(ts, obj) as {properties: Record<string, string | null>}
    return {id: obj.id, properties: {...json.properties}, archived: obj.archived, updatedAtMs: obj.updatedAtMs}
  }

  /** Live objects in creation order (`archived`: only archived ones). */
  all(type: HubSpotObjectType, options: {archived?: boolean} = {}): Array<HubSpotObject & {updatedAtMs: number}> {
    const ts = this.ts(type)
    return ts.order.filter((o) => ts.objects.get(o.id) === o && o.archived === (options.archived ?? false)).map((o) => this.get(type, o.id)!)
  }

  modifiedProperty(type: HubSpotObjectType): string {
    return MODIFIED_PROP[type]
  }

  private must(ts: TypeStore, id: string): StoredObject {
    const obj = this.store.resolve(ts, id)
    if (!obj) throw new Error(`no ${ts.type} with id ${id}`)
    return obj
  }
}

function dedupe(pairs: AssociationPair[]): AssociationPair[] {
  const seen = new Map<string, AssociationPair>()
  for (const p of pairs) seen.set(`${p.fromId}->${p.toId}`, p)
  return [...seen.values()]
}

function definition(def: PropertyDef): PropertyDefinition {
  const out: PropertyDefinition & {hubspotDefined?: boolean} = {
    name: def.name,
    label: def.label,
    type: def.type,
    fieldType: def.fieldType,
    groupName: def.groupName,
    hasUniqueValue: def.hasUniqueValue,
    readOnlyValue: def.readOnlyValue,
    calculated: def.calculated,
    hubspotDefined: def.hubspotDefined,
  }
  if (def.options.length > 0) out.options = def.options.map((o) => ({label: o.label, value: o.value}))
  return out
}
