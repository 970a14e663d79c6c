/**
 * The engine's HubSpotPort over `@hubspot/api-client` 14, on HubSpot's date-versioned APIs
 * (`/crm/objects/2026-03/...`; the version is a setting). The client generates only the legacy
 * v3/v4 paths, so every call goes through its request pipeline (request.ts) with a path from
 * HubSpot's specification. The client's retry and limiter stay off (weak, and process-wide
 * singletons, reference §2.3–2.5), and `Transport` owns throttling, timeouts and retries.
 */
import type * as http from 'node:http'
import {Client} from '@hubspot/api-client'
import {ConfigError, registerSecret} from '../errors.js'
import type {
  HubSpotOwner,
  AssociationPair,
  CarrierQuery,
  Clock,
  HubSpotPort,
  ListOptions,
  ListPage,
  Pipeline,
  PropertyDefinition,
  RecentWithCarriers,
  SearchPage,
  UpsertResult,
} from '../sync/ports.js'
import {ENGAGEMENT_ASSOCIATION_TYPE_IDS, ENGAGEMENT_MODIFIED_PROPERTY} from '../sync/activity-types.js'
import {MODIFIED_PROPERTY, type HubSpotObject, type HubSpotObjectType} from '../sync/types.js'
import {
  attributeErrors,
  chunk,
  findCulprits,
  itemErrorFromApi,
  itemErrorFromStandard,
  type HubSpotItemError,
  type StandardErrorLike,
} from './batch.js'
import {
  accountDetails,
  anything,
  associationPage,
  associationsCreated,
  BadAnswerError,
  CursorGuard,
  groupList,
  groupMade,
  MAX_ASSOCIATION_ROUNDS,
  MAX_LIST_PAGES,
  objectBatch,
  objectPage,
  ownerPage,
  pipelineList,
  propertyList,
  propertyMade,
  searchPage,
  type AnswerCheck,
  type CheckedAssociationPage,
  type CheckedBatch,
  type CheckedObject,
  type CheckedOwnerPage,
  type CheckedPage,
  type CheckedProperty,
} from './answers.js'
import {HubSpotApiError} from './failures.js'
import {RateLimiter, searchRateFor, TIER_TEN_SECOND_MAX, type Bucket, type HubSpotTier} from './limiter.js'
import {readRecentAnswer, recentSearchBody, type RecentSearch} from './recent-search.js'
import {filterGroups, ModifiedWindow, type PlannedSearch} from './search-window.js'
import {ClientRequests, type HubSpotRequest} from './request.js'
import {createAgent, Transport, type RetryInfo} from './transport.js'

export type {HubSpotItemError} from './batch.js'
export type {RetryInfo} from './transport.js'
export type {HubSpotTier} from './limiter.js'

export interface HubSpotGatewayOptions {
  /** default https://api.hubapi.com; a trailing slash is removed (the client would send `//crm`) */
  baseUrl?: string
  accessToken: string
  /** HubSpot's date-versioned API release, e.g. '2026-03' (the default) or '2026-09' */
  apiVersion?: string
  tier?: HubSpotTier
  searchPerSecond?: number
  uniqueProperty?: string
  requestTimeoutMs?: number
  maxRetries?: number
  maxConcurrent?: number
  clock?: Clock
  sleep?: (ms: number) => Promise<void>
  onRetry?: (info: RetryInfo) => void
  random?: () => number
}

export interface WriteOutcome {
  results: UpsertResult[]
  errors: HubSpotItemError[]
}

/** PropertyDefinition plus what `setup` needs to count custom unique properties. */
export interface HubSpotPropertyDefinition extends PropertyDefinition {
  hubspotDefined?: boolean
  archived?: boolean
}

export interface PropertyGroup {
  name: string
  label: string
  displayOrder?: number
}

export interface NewProperty {
  name: string
  label: string
  type: string
  fieldType: string
  groupName: string
  hasUniqueValue?: boolean
  description?: string
}

const BATCH = 100
const SEARCH_PAGE = 200
const LIST_PAGE = 100
const ASSOC_READ = 1000
const ASSOC_WRITE = 2000
const SEARCH_BODY_MAX = 3000

/** HUBSPOT_DEFINED association type ids (reference §3.11). */
export const ASSOCIATION_TYPE_IDS: Readonly<Record<string, number>> = {
  'contacts->companies': 279,
  'companies->contacts': 280,
  'deals->contacts': 3,
  'contacts->deals': 4,
  'deals->companies': 341,
  'companies->deals': 342,
  ...ENGAGEMENT_ASSOCIATION_TYPE_IDS,
}

/** HubSpot's date-versioned API release cbhs is written against. */
export const DEFAULT_API_VERSION = '2026-03'

const realClock: Clock = {nowMs: () => Date.now()}
const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

export function createHubSpotGateway(options: HubSpotGatewayOptions): HubSpotGateway {
  return new HubSpotGateway(options)
}

export class HubSpotGateway implements HubSpotPort {
  readonly baseUrl: string
  readonly apiVersion: string
  readonly uniqueProperty: string
  readonly tier: HubSpotTier
  readonly limiter: RateLimiter
  private readonly requests: ClientRequests
  private readonly transport: Transport
  private readonly agent: http.Agent
  private readonly clock: Clock
  private readonly maxConcurrent: number
  private readonly propertyCache = new Map<HubSpotObjectType, Promise<HubSpotPropertyDefinition[]>>()
  private pipelines?: Promise<Pipeline[]>
  private account?: Promise<{portalId: string; timeZone?: string}>
  private timeZone?: string

  constructor(options: HubSpotGatewayOptions) {
    if (!options.accessToken) throw new Error('createHubSpotGateway: accessToken is required')
    registerSecret(options.accessToken)
    this.baseUrl = (options.baseUrl ?? 'https://api.hubapi.com').replace(/\/+$/, '')
    this.apiVersion = options.apiVersion ?? DEFAULT_API_VERSION
    if (!/^\d{4}-\d{2}$/.test(this.apiVersion)) {
      throw new ConfigError('CONFIG_INVALID', `hubspot.apiVersion must be a HubSpot API release such as ${DEFAULT_API_VERSION}, got '${this.apiVersion}'.`)
    }
    this.uniqueProperty = options.uniqueProperty ?? 'corebos_crmid'
    this.tier = options.tier ?? 'starter'
    this.clock = options.clock ?? realClock
    this.maxConcurrent = options.maxConcurrent ?? 6
    const sleep = options.sleep ?? realSleep
    const timeoutMs = options.requestTimeoutMs ?? 30_000
    this.limiter = new RateLimiter({
      windowMax: TIER_TEN_SECOND_MAX[this.tier],
      searchPerSecond: searchRateFor(this.tier, options.searchPerSecond),
      maxConcurrent: this.maxConcurrent,
      clock: this.clock,
      sleep,
    })
    this.transport = new Transport({
      baseUrl: this.baseUrl,
      maxRetries: options.maxRetries ?? 6,
      requestTimeoutMs: timeoutMs,
      limiter: this.limiter,
      clock: this.clock,
      sleep,
      random: options.random ?? Math.random,
      onRetry: options.onRetry,
      timeZone: () => this.timeZone,
    })
    this.agent = createAgent(this.baseUrl, timeoutMs, this.maxConcurrent + 2)
    const client = new Client({
      accessToken: options.accessToken,
      basePath: this.baseUrl,
      numberOfApiCallRetries: 0,
      httpAgent: this.agent,
    })
    this.requests = new ClientRequests(client, this.baseUrl)
  }

  /** Closes kept-alive sockets, so a test or a one-shot command can exit promptly. */
  close(): void {
    this.agent.destroy()
  }

  callCounts(): Record<string, number> {
    return this.transport.callCounts()
  }

  spareCalls(): number {
    return this.limiter.spareNow()
  }

  totalCalls(): number {
    return this.transport.totalCalls()
  }

  // ----------------------------------------------------------------------------------------------
  // Batch writes
  // ----------------------------------------------------------------------------------------------

  async upsert(type: HubSpotObjectType, inputs: Array<{key: string; properties: Record<string, string>}>): Promise<WriteOutcome> {
    // one input per key: HubSpot rejects a batch naming the same id twice; the later values win
    const byKey = new Map<string, Record<string, string>>()
    for (const input of inputs) {
      byKey.set(input.key, {...byKey.get(input.key), ...input.properties, [this.uniqueProperty]: input.key})
    }
    const items = [...byKey].map(([key, properties]) => ({key, properties}))
    return this.write(type, 'upsert', items)
  }

  async update(type: HubSpotObjectType, inputs: Array<{id: string; properties: Record<string, string>}>): Promise<WriteOutcome> {
    const byId = new Map<string, Record<string, string>>()
    for (const input of inputs) byId.set(input.id, {...byId.get(input.id), ...input.properties})
    const items = [...byId].map(([key, properties]) => ({key, properties}))
    return this.write(type, 'update', items)
  }

  private async write(type: HubSpotObjectType, op: 'upsert' | 'update', items: WriteItem[]): Promise<WriteOutcome> {
    const outcomes = await mapPool(chunk(items, BATCH), this.maxConcurrent, (part) => this.writeChunk(type, op, part))
    return {results: outcomes.flatMap((o) => o.results), errors: outcomes.flatMap((o) => o.errors)}
  }

  /**
   * One request, then whatever it takes to give every input its own answer: 207 errors are mapped
   * back by trace id; a whole-batch 4xx fails the inputs it names and resends the rest, or is
   * bisected until the bad input fails alone.
   */
  private async writeChunk(type: HubSpotObjectType, op: 'upsert' | 'update', items: WriteItem[]): Promise<WriteOutcome> {
    if (items.length === 0) return {results: [], errors: []}
    const label = `batch/${op} ${type}`
    const body = {
      inputs: items.map((item) =>
        op === 'upsert'
          ? {id: item.key, idProperty: this.uniqueProperty, properties: item.properties, objectWriteTraceId: item.key}
          : {id: item.key, properties: item.properties, objectWriteTraceId: item.key},
      ),
    }
    let data: CheckedBatch
    try {
      const response = await this.send(label, 'general', {method: 'POST', path: this.objectsPath(type, `/batch/${op}`), body}, objectBatch)
      data = response.data
    } catch (err) {
      if (!(err instanceof HubSpotApiError) || err.status < 400 || err.status >= 500) throw err
      return this.splitAfterRejection(type, op, items, err)
    }

    const keys = new Set(items.map((i) => i.key))
    const results: UpsertResult[] = []
    const answered = new Set<string>()
    for (const raw of data.results) {
      const key = this.resultKey(raw, op, keys)
      if (key === undefined || answered.has(key)) continue
      answered.add(key)
      results.push(toUpsertResult(key, raw, op))
    }
    const {byKey, unattributed} = attributeErrors(data.errors, keys)
    const errors: HubSpotItemError[] = []
    for (const [key, error] of byKey) {
      if (answered.has(key)) continue
      answered.add(key)
      errors.push(error)
    }
    const unanswered = items.filter((i) => !answered.has(i.key))
    if (unanswered.length === 0) return {results, errors}
    if (unanswered.length === 1 && unattributed.length > 0) {
      errors.push(itemErrorFromStandard(unanswered[0].key, unattributed[0]))
      return {results, errors}
    }
    if (items.length === 1) {
      errors.push({key: items[0].key, status: 500, category: 'NO_RESULT', message: `HubSpot returned no result for ${items[0].key}`})
      return {results, errors}
    }
    // an answer that does not say which inputs failed: ask again for those, in smaller requests
    const retried = await this.writeHalves(type, op, unanswered)
    return {results: [...results, ...retried.results], errors: [...errors, ...retried.errors]}
  }

  private async splitAfterRejection(
    type: HubSpotObjectType,
    op: 'upsert' | 'update',
    items: WriteItem[],
    err: HubSpotApiError,
  ): Promise<WriteOutcome> {
    if (items.length === 1) return {results: [], errors: [itemErrorFromApi(items[0].key, err)]}
    const culprits = findCulprits(err.body, items) ?? (await this.conflictCulprits(type, items, err))
    if (culprits && culprits.size > 0) {
      const errors = items.filter((i) => culprits.has(i.key)).map((i) => itemErrorFromApi(i.key, err))
      const rest = items.filter((i) => !culprits.has(i.key))
      const more = await this.writeChunk(type, op, rest)
      return {results: more.results, errors: [...errors, ...more.errors]}
    }
    return this.writeHalves(type, op, items)
  }

  private async writeHalves(type: HubSpotObjectType, op: 'upsert' | 'update', items: WriteItem[]): Promise<WriteOutcome> {
    const middle = Math.ceil(items.length / 2)
    const [a, b] = await Promise.all([
      this.writeChunk(type, op, items.slice(0, middle)),
      this.writeChunk(type, op, items.slice(middle)),
    ])
    return {results: [...a.results, ...b.results], errors: [...a.errors, ...b.errors]}
  }

  /**
   * A whole-batch 409 "Contact already exists. Existing ID: N" does not say which input collides;
   * one read of contact N gives its e-mail, which names the input (cheaper than bisecting 100).
   */
  private async conflictCulprits(type: HubSpotObjectType, items: WriteItem[], err: HubSpotApiError): Promise<Set<string> | null> {
    if (type !== 'contacts' || err.status !== 409 || !err.existingId) return null
    if (!items.some((i) => i.properties.email)) return null
    try {
      const {found} = await this.read('contacts', [err.existingId], ['email', 'hs_additional_emails'])
      const emails = new Set<string>()
      for (const o of found) {
        if (o.properties.email) emails.add(o.properties.email.toLowerCase())
        for (const e of (o.properties.hs_additional_emails ?? '').split(';')) if (e) emails.add(e.toLowerCase())
      }
      const culprits = new Set(items.filter((i) => emails.has((i.properties.email ?? '').trim().toLowerCase())).map((i) => i.key))
      return culprits.size > 0 ? culprits : null
    } catch (e) {
      if (e instanceof HubSpotApiError) return null
      throw e
    }
  }

  private resultKey(raw: CheckedObject, op: 'upsert' | 'update', keys: Set<string>): string | undefined {
    if (raw.objectWriteTraceId && keys.has(raw.objectWriteTraceId)) return raw.objectWriteTraceId
    const candidate = op === 'upsert' ? raw.properties?.[this.uniqueProperty] : raw.id
    return candidate !== null && candidate !== undefined && keys.has(candidate) ? candidate : undefined
  }

  // ----------------------------------------------------------------------------------------------
  // Read and archive
  // ----------------------------------------------------------------------------------------------

  async read(
    type: HubSpotObjectType,
    ids: string[],
    properties: string[],
    options: {idProperty?: string; archived?: boolean} = {},
  ): Promise<{found: Array<HubSpotObject & {requestedId: string}>; missing: string[]}> {
    const requested = [...new Set(ids)]
    const idProperty = options.idProperty
    // merged-away ids come back as the survivor; hs_merged_object_ids says which request it answers
    const extra = idProperty ? [idProperty] : ['hs_merged_object_ids']
    const asked = [...new Set([...properties, ...extra])]
    const parts = await mapPool(chunk(requested, BATCH), this.maxConcurrent, async (part) => {
      const body: Record<string, unknown> = {inputs: part.map((id) => ({id})), properties: asked, propertiesWithHistory: []}
      if (idProperty) body.idProperty = idProperty
      let data: CheckedBatch
      try {
        const request: HubSpotRequest = {method: 'POST', path: this.objectsPath(type, '/batch/read'), qs: {archived: options.archived ?? false}, body}
        data = (await this.send(`batch/read ${type}`, 'general', request, objectBatch)).data
      } catch (err) {
        // a whole-batch 404 means none of them exist
        if (err instanceof HubSpotApiError && err.status === 404) return {found: [], missing: part}
        throw err
      }
      const found: Array<HubSpotObject & {requestedId: string}> = []
      const missing: string[] = []
      for (const id of part) {
        const raw = data.results.find((r) => answers(r, id, idProperty))
        if (!raw) {
          missing.push(id)
          continue
        }
        found.push({...toObject(raw, properties), requestedId: id})
      }
      return {found, missing}
    })
    return {found: parts.flatMap((p) => p.found), missing: parts.flatMap((p) => p.missing)}
  }

  async archive(type: HubSpotObjectType, ids: string[]): Promise<{errors: HubSpotItemError[]}> {
    const unique = [...new Set(ids)]
    const parts = await mapPool(chunk(unique, BATCH), this.maxConcurrent, (part) => this.archiveChunk(type, part))
    return {errors: parts.flat()}
  }

  private async archiveChunk(type: HubSpotObjectType, ids: string[]): Promise<HubSpotItemError[]> {
    if (ids.length === 0) return []
    try {
      const body = {inputs: ids.map((id) => ({id}))}
      await this.send(`batch/archive ${type}`, 'general', {method: 'POST', path: this.objectsPath(type, '/batch/archive'), body}, anything)
      return []
    } catch (err) {
      if (!(err instanceof HubSpotApiError) || err.status < 400 || err.status >= 500) throw err
      if (ids.length === 1) return [itemErrorFromApi(ids[0], err)]
      const middle = Math.ceil(ids.length / 2)
      const [a, b] = await Promise.all([this.archiveChunk(type, ids.slice(0, middle)), this.archiveChunk(type, ids.slice(middle))])
      return [...a, ...b]
    }
  }

  // ----------------------------------------------------------------------------------------------
  // Search and list
  // ----------------------------------------------------------------------------------------------

  /**
   * `associations`: search answers none inline, so each page's are read with it, while the engine
   * still writes the page before (the association read is then off the pass's critical path).
   */
  async *searchModified(
    type: HubSpotObjectType,
    options: {sinceMs: number; untilMs: number; properties: string[]; associations?: HubSpotObjectType[]},
  ): AsyncIterable<SearchPage> {
    // engagements (notes, calls, …) share the gateway's paths and are modified on hs_lastmodifieddate
    const modified = MODIFIED_PROPERTY[type] ?? ENGAGEMENT_MODIFIED_PROPERTY
    const window = new ModifiedWindow(modified, options.sinceMs, options.untilMs)
    const asked = [...new Set([...options.properties, modified, 'hs_object_id'])]
    // the first search spans the whole range: its total is what the pass has ahead (for progress)
    let total: number | undefined
    let first = true
    const counted = (objects: HubSpotObject[]): SearchPage => {
      const out: SearchPage = objects
      if (total !== undefined) out.total = total
      total = undefined
      return out
    }
    const withAssociations = async (objects: HubSpotObject[]): Promise<HubSpotObject[]> => {
      const types = options.associations ?? []
      if (types.length === 0 || objects.length === 0) return objects
      const ids = objects.map((o) => o.id)
      const read = await Promise.all(types.map((to) => this.readAssociations(type, to, ids)))
      for (const o of objects) o.associations = Object.fromEntries(types.map((to, i) => [to, read[i].get(o.id) ?? []]))
      return objects
    }
    const run = async (plan: PlannedSearch): Promise<HubSpotObject[]> => withAssociations(await searchPlanned(plan))
    const searchPlanned = async (plan: PlannedSearch): Promise<HubSpotObject[]> => {
      let body = fitted(plan, modified, asked)
      // the body is capped at 3,000 characters; with many properties, search for ids and read the rest
      const slim = body === null
      if (!body) body = fitted(plan, modified, [modified, 'hs_object_id']) ?? searchBody(plan, modified, [modified, 'hs_object_id'], 0)
      // the window takes the page inside the check: a search that does not advance is a bad answer
      const page = await this.search(type, body, `search ${type}`, (p) => ({total: p.total, fresh: window.accept(p.results.map((r) => toObject(r)), p.next !== undefined)}))
      if (first && typeof page.total === 'number') total = page.total
      first = false
      return this.withProperties(type, page.fresh, options.properties, slim)
    }
    // the next search is planned from this page's answer alone: it is under way while the engine
    // writes this page (an abandoned one, at --limit, costs one search and is never handed over)
    const start = (plan: PlannedSearch | null) => {
      if (!plan) return null
      const pending = run(plan)
      pending.catch(() => undefined)
      return pending
    }
    for (let pending = start(window.next()); pending; ) {
      const objects = await pending
      pending = start(window.next())
      if (objects.length > 0) yield counted(objects)
    }
  }

  async searchRecentWithCarriers(
    type: HubSpotObjectType,
    options: {sinceMs: number; untilMs: number; properties: string[]; carrierProperty: string},
  ): Promise<RecentWithCarriers | null> {
    const search: RecentSearch = {modifiedProperty: MODIFIED_PROPERTY[type], sinceMs: options.sinceMs, untilMs: options.untilMs, carrierProperty: options.carrierProperty}
    const slimProperties = [search.modifiedProperty, 'hs_object_id', search.carrierProperty]
    let body = recentSearchBody(search, [...new Set([...options.properties, ...slimProperties])], SEARCH_PAGE)
    const slim = JSON.stringify(body).length > SEARCH_BODY_MAX
    if (slim) body = recentSearchBody(search, slimProperties, SEARCH_PAGE)
    const answer = await this.search(type, body, `search ${type}`, (p) => readRecentAnswer(search, {results: p.results.map((r) => toObject(r)), total: p.total, hasMore: p.next !== undefined}))
    if (!answer) return null
    return {objects: await this.withProperties(type, answer.objects, options.properties, slim), carriers: answer.carriers}
  }

  /** Objects a search found, with `properties`: read by id when the search could not ask for them all. */
  private async withProperties(type: HubSpotObjectType, objects: HubSpotObject[], properties: string[], slim: boolean): Promise<HubSpotObject[]> {
    if (objects.length === 0 || !slim) return objects.map((o) => strip(o, properties))
    const {found} = await this.read(type, objects.map((o) => o.id), properties)
    const byId = new Map(found.map((o) => [o.requestedId, o]))
    // archived between the search and the read: not "modified" any more, the archived list reports it
    return objects.flatMap((o) => {
      const hit = byId.get(o.id)
      if (!hit) return []
      const {requestedId: _, ...object} = hit
      return [object]
    })
  }

  /**
   * Each page is handed over only once the page after it has been read and checked: a cursor that
   * leads back round is found before anything of the listing reaches the engine or a bookmark. The
   * read of the page after that one starts as a page is handed over, so it overlaps the engine's writes.
   */
  async *list(type: HubSpotObjectType, options: ListOptions): AsyncIterable<ListPage> {
    const label = `${options.archived ? 'list archived' : 'list'} ${type}`
    const guard = new CursorGuard(MAX_LIST_PAGES, options.after)
    const associations = options.associations ?? []
    const fetch = async (after: string | undefined): Promise<CheckedPage> => {
      const qs = {limit: LIST_PAGE, after, properties: options.properties, archived: options.archived ?? false, ...(associations.length > 0 ? {associations} : {})}
      const check: AnswerCheck<CheckedPage> = (data) => {
        const page = objectPage(data)
        guard.advance(page.next)
        return page
      }
      return (await this.send(label, 'general', {method: 'GET', path: this.objectsPath(type), qs}, check)).data
    }
    // the page after the next is under way while the engine writes this one (abandoned at --limit)
    const start = (after: string | undefined) => {
      if (!after) return undefined
      const pending = fetch(after)
      pending.catch(() => undefined)
      return pending
    }
    let page: CheckedPage | undefined = await fetch(options.after)
    let ahead = start(page.next)
    while (page) {
      const following: CheckedPage | undefined = ahead ? await ahead : undefined
      ahead = start(following?.next)
      const objects: ListPage = page.results.map((r) => withInlineAssociations(toObject(r, options.properties), r, associations))
      objects.next = page.next
      if (objects.length > 0 || page.next) yield objects
      page = following
    }
  }

  async countCarriers(type: HubSpotObjectType, query: CarrierQuery): Promise<number> {
    const body = {filterGroups: [{filters: carrierFilters(query)}], properties: ['hs_object_id'], limit: 1}
    const page = await this.search(type, body, `search ${type} by ${query.property}`, (p) => p)
    return page.total ?? 0
  }

  async carrierIds(type: HubSpotObjectType, query: CarrierQuery): Promise<string[]> {
    const ids: string[] = []
    // re-anchored on the last id rather than paged by cursor: no 10,000-result cap however many match
    for (let from = query.fromId ?? 0; ;) {
      const body = {
        filterGroups: [{filters: carrierFilters({...query, fromId: from})}],
        sorts: [{propertyName: 'hs_object_id', direction: 'ASCENDING'}],
        properties: ['hs_object_id'],
        limit: SEARCH_PAGE,
      }
      const page = await this.search(type, body, `search ${type} by ${query.property}`, (p) => p)
      const results = page.results
      for (const r of results) ids.push(String(r.id))
      if (results.length < SEARCH_PAGE || page.next === undefined) return ids
      from = Number(results[results.length - 1].id) + 1
    }
  }

  async findContactsByEmail(emails: string[]): Promise<Map<string, string>> {
    const wanted = [...new Set(emails.map((e) => e.trim().toLowerCase()).filter((e) => e.includes('@')))]
    const found = new Map<string, string>()
    for (const group of chunkByBodySize(wanted, BATCH, SEARCH_BODY_MAX - 300)) {
      const body = {
        filterGroups: [{filters: [{propertyName: 'email', operator: 'IN', values: group}]}],
        properties: ['email'],
        limit: SEARCH_PAGE,
      }
      const page = await this.search('contacts', body, 'search contacts by email', (p) => p)
      for (const r of page.results) {
        const email = r.properties?.email?.toLowerCase()
        if (email && group.includes(email) && !found.has(email)) found.set(email, r.id)
      }
    }
    return found
  }

  private async search<T>(type: HubSpotObjectType, body: object, label: string, take: (page: CheckedPage) => T): Promise<T> {
    const check: AnswerCheck<T> = (data) => take(searchPage(data))
    return (await this.send(label, 'search', {method: 'POST', path: this.objectsPath(type, '/search'), body}, check)).data
  }

  // ----------------------------------------------------------------------------------------------
  // Associations: exempt from the ten-secondly limit, like search (their own bucket in the limiter)
  // ----------------------------------------------------------------------------------------------

  async readAssociations(from: HubSpotObjectType, to: HubSpotObjectType, ids: string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>()
    for (const id of ids) out.set(id, [])
    let pending: Array<{id: string; after?: string}> = [...out.keys()].map((id) => ({id}))
    const label = `associations/read ${from}->${to}`
    // each object's rows page on their own cursor: one guard per object
    const guards = new Map<string, CursorGuard>()
    const check: AnswerCheck<CheckedAssociationPage> = (data) => {
      const page = associationPage(data)
      for (const row of page.rows) {
        const known = out.get(row.fromId)
        if (!known) continue
        const guard = guards.get(row.fromId) ?? guards.set(row.fromId, new CursorGuard(MAX_ASSOCIATION_ROUNDS)).get(row.fromId)!
        guard.advance(row.after)
        // a page that says "more" must have brought something: otherwise the next one would say the same
        if (row.after && !row.toIds.some((id) => !known.includes(id))) {
          throw new BadAnswerError(`the associations of ${row.fromId} page on without a new one: the cursor does not advance`)
        }
      }
      return page
    }
    while (pending.length > 0) {
      const next: Array<{id: string; after?: string}> = []
      for (const part of chunk(pending, ASSOC_READ)) {
        let data: CheckedAssociationPage
        try {
          const request: HubSpotRequest = {method: 'POST', path: this.associationsPath(from, to, '/batch/read'), body: {inputs: part}}
          data = (await this.send(label, 'associations', request, check)).data
        } catch (err) {
          if (err instanceof HubSpotApiError && err.status === 404) continue
          throw err
        }
        for (const row of data.rows) {
          const list = out.get(row.fromId)
          if (!list) continue
          for (const toId of row.toIds) if (!list.includes(toId)) list.push(toId)
          if (row.after) next.push({id: row.fromId, after: row.after})
        }
      }
      pending = next
    }
    return out
  }

  async createAssociations(from: HubSpotObjectType, to: HubSpotObjectType, pairs: AssociationPair[]): Promise<{errors: HubSpotItemError[]}> {
    const typeId = ASSOCIATION_TYPE_IDS[`${from}->${to}`]
    if (typeId === undefined) throw new Error(`no HubSpot-defined association from ${from} to ${to}`)
    const label = `associations/create ${from}->${to}`
    const send = async (part: AssociationPair[]): Promise<HubSpotItemError[]> => {
      if (part.length === 0) return []
      const body = {
        inputs: part.map((p) => ({
          from: {id: p.fromId},
          to: {id: p.toId},
          types: [{associationCategory: 'HUBSPOT_DEFINED', associationTypeId: typeId}],
        })),
      }
      try {
        const request: HubSpotRequest = {method: 'POST', path: this.associationsPath(from, to, '/batch/create'), body}
        const data = (await this.send(label, 'associations', request, associationsCreated)).data
        const made = new Set(data.made.map((r) => pairKey(r.fromId, r.toId)))
        const keys = new Set(part.map((p) => pairKey(p.fromId, p.toId)))
        const errors: HubSpotItemError[] = []
        for (const error of data.errors) {
          const named = pairsNamedBy(error, part)
          const targets = named.length > 0 ? named : part.filter((p) => !made.has(pairKey(p.fromId, p.toId)))
          for (const p of targets) {
            const key = pairKey(p.fromId, p.toId)
            if (!keys.delete(key)) continue
            errors.push(itemErrorFromStandard(key, error))
          }
        }
        return errors
      } catch (err) {
        if (!(err instanceof HubSpotApiError) || err.status < 400 || err.status >= 500) throw err
        if (part.length === 1) return [itemErrorFromApi(pairKey(part[0].fromId, part[0].toId), err)]
        const middle = Math.ceil(part.length / 2)
        return [...(await send(part.slice(0, middle))), ...(await send(part.slice(middle)))]
      }
    }
    const errors: HubSpotItemError[] = []
    for (const part of chunk(dedupePairs(pairs), ASSOC_WRITE)) errors.push(...(await send(part)))
    return {errors}
  }

  async removeAssociations(from: HubSpotObjectType, to: HubSpotObjectType, pairs: AssociationPair[]): Promise<{errors: HubSpotItemError[]}> {
    const label = `associations/archive ${from}->${to}`
    const errors: HubSpotItemError[] = []
    for (const part of chunk(dedupePairs(pairs), ASSOC_WRITE)) {
      const byFrom = new Map<string, string[]>()
      for (const p of part) byFrom.set(p.fromId, [...(byFrom.get(p.fromId) ?? []), p.toId])
      const body = {inputs: [...byFrom].map(([fromId, toIds]) => ({from: {id: fromId}, to: toIds.map((id) => ({id}))}))}
      try {
        await this.send(label, 'associations', {method: 'POST', path: this.associationsPath(from, to, '/batch/archive'), body}, anything)
      } catch (err) {
        if (!(err instanceof HubSpotApiError) || err.status < 400 || err.status >= 500) throw err
        for (const p of part) errors.push(itemErrorFromApi(pairKey(p.fromId, p.toId), err))
      }
    }
    return {errors}
  }

  // ----------------------------------------------------------------------------------------------
  // Schema, pipelines, account
  // ----------------------------------------------------------------------------------------------

  getProperties(type: HubSpotObjectType): Promise<HubSpotPropertyDefinition[]> {
    let cached = this.propertyCache.get(type)
    if (!cached) {
      const request: HubSpotRequest = {method: 'GET', path: this.propertiesPath(type), qs: {archived: false}}
      cached = this.send(`properties ${type}`, 'general', request, propertyList).then((r) => r.data.map(toPropertyDefinition))
      // a failed fetch must not be remembered for the rest of the run
      cached.catch(() => this.propertyCache.delete(type))
      this.propertyCache.set(type, cached)
    }
    return cached
  }

  async getPropertyGroups(type: HubSpotObjectType): Promise<PropertyGroup[]> {
    const r = await this.send(`property groups ${type}`, 'general', {method: 'GET', path: this.propertiesPath(type, '/groups')}, groupList)
    return r.data
  }

  async createPropertyGroup(type: HubSpotObjectType, group: PropertyGroup): Promise<void> {
    await this.send(`create property group ${type}`, 'general', {method: 'POST', path: this.propertiesPath(type, '/groups'), body: group}, groupMade)
  }

  async createProperty(type: HubSpotObjectType, property: NewProperty): Promise<HubSpotPropertyDefinition> {
    try {
      const r = await this.send(`create property ${type}`, 'general', {method: 'POST', path: this.propertiesPath(type), body: property}, propertyMade)
      return toPropertyDefinition(r.data)
    } finally {
      this.propertyCache.delete(type)
    }
  }

  getDealPipelines(): Promise<Pipeline[]> {
    if (!this.pipelines) {
      this.pipelines = this.send('pipelines deals', 'general', {method: 'GET', path: `/crm/pipelines/${this.apiVersion}/deals`}, pipelineList)
        .then((r) =>
          r.data.map((p) => ({
            id: p.id,
            label: p.label,
            stages: p.stages
              .map((s) => {
                const probability = s.metadata?.probability
                return {
                  id: s.id,
                  label: s.label,
                  displayOrder: s.displayOrder,
                  isClosed: String(s.metadata?.isClosed) === 'true',
                  probability: probability === undefined || probability === null || probability === '' ? null : Number(probability),
                }
              })
              .sort((a, b) => a.displayOrder - b.displayOrder),
          })),
        )
      this.pipelines.catch(() => (this.pipelines = undefined))
    }
    return this.pipelines
  }

  /** GET /crm/owners/{version}, live and archived, every page: a record may still name an archived owner. */
  async getOwners(): Promise<HubSpotOwner[]> {
    const out: HubSpotOwner[] = []
    for (const archived of [false, true]) {
      const guard = new CursorGuard(MAX_LIST_PAGES)
      let after: string | undefined
      do {
        const check: AnswerCheck<CheckedOwnerPage> = (data) => {
          const page = ownerPage(data)
          guard.advance(page.next)
          return page
        }
        const r = await this.send('owners', 'general', {method: 'GET', path: `/crm/owners/${this.apiVersion}`, qs: {limit: 500, archived, after}}, check)
        out.push(...r.data.owners)
        after = r.data.next
      } while (after)
    }
    return out
  }

  async getPortalId(): Promise<string> {
    return (await this.accountDetails()).portalId
  }

  /** account-info details: portal id and time zone (the daily limit resets at its midnight). */
  accountDetails(): Promise<{portalId: string; timeZone?: string}> {
    if (!this.account) {
      this.account = this.send('account-info details', 'general', {method: 'GET', path: `/account-info/${this.apiVersion}/details`}, accountDetails).then((r) => {
        this.timeZone = r.data.timeZone || undefined
        return {portalId: r.data.portalId, timeZone: this.timeZone}
      })
      this.account.catch(() => (this.account = undefined))
    }
    return this.account
  }

  // ----------------------------------------------------------------------------------------------

  /** Every request, with the check its answer must pass before anything reads it (answers.ts). */
  private send<T>(label: string, bucket: Bucket, request: HubSpotRequest, check: AnswerCheck<T>) {
    return this.transport.call(label, bucket, `${request.method} ${request.path}`, () => this.requests.send(request), check)
  }

  private objectsPath(type: HubSpotObjectType, rest = ''): string {
    return `/crm/objects/${this.apiVersion}/${type}${rest}`
  }

  private associationsPath(from: HubSpotObjectType, to: HubSpotObjectType, rest: string): string {
    return `/crm/associations/${this.apiVersion}/${from}/${to}${rest}`
  }

  private propertiesPath(type: HubSpotObjectType, rest = ''): string {
    return `/crm/properties/${this.apiVersion}/${type}${rest}`
  }
}



interface WriteItem {
  key: string
  properties: Record<string, string>
}

function toUpsertResult(key: string, raw: CheckedObject, op: 'upsert' | 'update'): UpsertResult {
  const result: UpsertResult = {key, id: String(raw.id), isNew: op === 'upsert' ? raw.new === true : false, properties: {...raw.properties}}
  const updatedAt = iso(raw.updatedAt)
  if (updatedAt) result.updatedAt = updatedAt
  return result
}

function iso(value: string | undefined): string | undefined {
  return value === undefined || value === null || value === '' ? undefined : String(value)
}

function toObject(raw: CheckedObject, only?: string[]): HubSpotObject {
  const object: HubSpotObject = {id: String(raw.id), properties: {...raw.properties}}
  if (only) object.properties = pick(object.properties, only)
  const createdAt = iso(raw.createdAt)
  const updatedAt = iso(raw.updatedAt)
  const archivedAt = iso(raw.archivedAt)
  if (createdAt) object.createdAt = createdAt
  if (updatedAt) object.updatedAt = updatedAt
  if (raw.archived !== undefined) object.archived = raw.archived
  if (archivedAt) object.archivedAt = archivedAt
  return object
}

/**
 * The associations a list page answered, for the types asked: an object without the key has none
 * of that type; one whose ids page on gets none here, so the engine reads them in full.
 */
function withInlineAssociations(object: HubSpotObject, raw: CheckedObject, types: HubSpotObjectType[]): HubSpotObject {
  if (types.length === 0) return object
  const inline: Partial<Record<HubSpotObjectType, string[]>> = {}
  for (const type of types) {
    const answered = raw.associations?.[type]
    if (!answered) inline[type] = []
    else if (!answered.more) inline[type] = answered.ids
  }
  object.associations = inline
  return object
}

function pick(properties: Record<string, string | null>, only: string[]): Record<string, string | null> {
  const out: Record<string, string | null> = {}
  for (const name of only) if (name in properties) out[name] = properties[name] ?? null
  return out
}

function strip(object: HubSpotObject, only: string[]): HubSpotObject {
  return {...object, properties: pick(object.properties, only)}
}

function answers(raw: CheckedObject, requested: string, idProperty: string | undefined): boolean {
  if (idProperty) return raw.properties?.[idProperty] === requested || (idProperty === 'hs_object_id' && String(raw.id) === requested)
  if (String(raw.id) === requested) return true
  const merged = raw.properties?.hs_merged_object_ids
  return !!merged && merged.split(/[;,]/).map((s) => s.trim()).includes(requested)
}

function carrierFilters(query: CarrierQuery): object[] {
  const filters: object[] = [{propertyName: query.property, operator: 'HAS_PROPERTY'}]
  if (query.fromId !== undefined || query.toId !== undefined) {
    filters.push({propertyName: 'hs_object_id', operator: 'BETWEEN', value: String(query.fromId ?? 0), highValue: String(query.toId ?? Number.MAX_SAFE_INTEGER)})
  }
  return filters
}

function searchBody(plan: PlannedSearch, modifiedProperty: string, properties: string[], excluded?: number): Record<string, unknown> {
  return {
    filterGroups: filterGroups(plan, modifiedProperty, excluded).map((filters) => ({filters})),
    // typed Array<string> in the client, but HubSpot wants objects; the serializer passes them through (§2.6)
    sorts: [plan.sort],
    properties,
    limit: SEARCH_PAGE,
  }
}

/** The plan's body within the size cap, leaving out as many already-read ids as fit; null when even the plain range is too long. */
function fitted(plan: PlannedSearch, modifiedProperty: string, properties: string[]): Record<string, unknown> | null {
  const fits = (excluded: number) => JSON.stringify(searchBody(plan, modifiedProperty, properties, excluded)).length <= SEARCH_BODY_MAX
  let most = plan.exclude?.ids.length ?? 0
  if (fits(most)) return searchBody(plan, modifiedProperty, properties, most)
  if (!fits(0)) return null
  // every id left out saves a re-read: the largest count that fits, by bisection
  let least = 0
  while (most - least > 1) {
    const middle = Math.floor((least + most) / 2)
    if (fits(middle)) least = middle
    else most = middle
  }
  return searchBody(plan, modifiedProperty, properties, least)
}

/** Splits values so that each search body (values JSON-quoted) stays under the size cap. */
export function chunkByBodySize(values: string[], maxCount: number, maxChars: number): string[][] {
  const out: string[][] = []
  let current: string[] = []
  let size = 0
  for (const value of values) {
    const cost = JSON.stringify(value).length + 1
    if (current.length > 0 && (current.length >= maxCount || size + cost > maxChars)) {
      out.push(current)
      current = []
      size = 0
    }
    current.push(value)
    size += cost
  }
  if (current.length > 0) out.push(current)
  return out
}

function toPropertyDefinition(raw: CheckedProperty): HubSpotPropertyDefinition {
  const def: HubSpotPropertyDefinition = {name: raw.name, label: raw.label, type: raw.type, fieldType: raw.fieldType}
  if (raw.groupName !== undefined) def.groupName = raw.groupName
  if (raw.hasUniqueValue !== undefined) def.hasUniqueValue = raw.hasUniqueValue
  if (raw.modificationMetadata?.readOnlyValue !== undefined) def.readOnlyValue = raw.modificationMetadata.readOnlyValue
  if (raw.calculated !== undefined) def.calculated = raw.calculated
  if (raw.options && raw.options.length > 0) def.options = raw.options.map((o) => ({label: o.label, value: o.value}))
  if (raw.hubspotDefined !== undefined) def.hubspotDefined = raw.hubspotDefined
  if (raw.archived !== undefined) def.archived = raw.archived
  return def
}

function pairKey(fromId: string, toId: string): string {
  return `${fromId}->${toId}`
}

function dedupePairs(pairs: AssociationPair[]): AssociationPair[] {
  const seen = new Map<string, AssociationPair>()
  for (const p of pairs) seen.set(pairKey(p.fromId, p.toId), p)
  return [...seen.values()]
}

/** Association 207 errors name objects by id in their context, under several keys. */
function pairsNamedBy(error: StandardErrorLike, part: AssociationPair[]): AssociationPair[] {
  const ids = new Set<string>()
  for (const [, value] of Object.entries(error.context ?? {})) {
    for (const v of Array.isArray(value) ? value : [value]) ids.add(String(v))
  }
  if (ids.size === 0) return []
  const both = part.filter((p) => ids.has(p.fromId) && ids.has(p.toId))
  return both.length > 0 ? both : part.filter((p) => ids.has(p.fromId) || ids.has(p.toId))
}

/** Runs `fn` over items with at most `limit` at once, results in input order. */
export async function mapPool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  let failed: unknown
  const worker = async () => {
    while (next < items.length && failed === undefined) {
      const i = next++
      try {
        out[i] = await fn(items[i])
      } catch (err) {
        failed ??= err
      }
    }
  }
  await Promise.all(Array.from({length: Math.min(limit, items.length)}, worker))
  if (failed !== undefined) throw failed
  return out
}
