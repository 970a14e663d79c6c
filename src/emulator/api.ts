/**
 * The HubSpot REST surface: routes and their handlers. Handlers return a Reply or throw EmuError;
 * transport concerns (auth, limits, faults, logging) live in server.ts.
 */
import {EmuError, notFound, validationError} from './errors.js'
import {
  ASSOCIATION_TYPES,
  MODIFIED_PROP,
  TYPE_ID,
  TYPE_SINGULAR,
  associationType,
  associationTypesBetween,
  defaultAssociationType,
  resolveObjectType,
  type AssociationTypeDef,
  type ObjectTypeName,
  type PipelineDef,
} from './schema.js'
import {parseSearchRequest} from './search.js'
import type {PlannedWrite, Store, StoredObject, TypeStore} from './store.js'

export interface Reply {
  status: number
  body?: unknown
}

export interface RequestContext {
  method: string
  path: string
  query: URLSearchParams
  /** parsed JSON body (undefined when none) */
  body: unknown
  rawBody: string
  baseUrl: string
}

type Handler = (ctx: RequestContext, params: Record<string, string>) => Reply

interface Route {
  method: string
  segments: string[]
  handler: Handler
  /** label for counts(); `{type}`-style params are filled per request where meaningful */
  label: string
}

export interface Matched {
  route: Route
  params: Record<string, string>
  endpoint: string
}

/** HubSpot's date-versioned API releases the emulator serves (`/crm/objects/2026-03/...`). */
export const API_VERSIONS: readonly string[] = ['2026-03', '2026-09']

export const BATCH_LIMIT = 100
const ASSOC_CREATE_LIMIT = 2_000
const ASSOC_READ_LIMIT = 1_000
const LIST_MAX = 100
const ISO = (ms: number) => new Date(ms).toISOString()

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** `properties=a&properties=b,c` ⇒ [a, b, c]; null when absent. */
export function listParam(query: URLSearchParams, name: string): string[] | null {
  const all = query.getAll(name)
  if (all.length === 0) return null
  return all.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean)
}

function boolParam(query: URLSearchParams, name: string): boolean {
  const v = query.get(name)
  if (v === null || v === '') return false
  if (v === 'true') return true
  if (v === 'false') return false
  throw validationError(`${name} must be true or false; got ${v}`)
}

function standardError(e: EmuError, context: Record<string, string[]>): Record<string, unknown> {
  const out: Record<string, unknown> = {
    status: 'error',
    category: e.category,
    message: e.message,
    context: {...(e.extra.context ?? {}), ...context},
    errors: e.extra.errors ?? [],
    links: {},
  }
  // the specification types a batch error's subCategory as an object (a top-level error's is a string)
  if (e.extra.subCategory) out.subCategory = {name: e.extra.subCategory}
  return out
}

function batchEnvelope(startedAt: number, completedAt: number, results: unknown[], errors: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {status: 'COMPLETE', results, startedAt: ISO(startedAt), completedAt: ISO(completedAt)}
  if (errors.length) {
    out.numErrors = errors.length
    out.errors = errors
  }
  return out
}

function encodeAfter(seq: number): string {
  return Buffer.from(`seq:${seq}`).toString('base64url')
}

/** A list cursor that leads back to the first page (the hostile repeatCursor mode uses it). */
export const FIRST_PAGE_CURSOR = encodeAfter(0)

function decodeAfter(token: string): number {
  const text = Buffer.from(token, 'base64url').toString('utf8')
  const m = /^seq:(\d+)$/.exec(text)
  if (!m) throw validationError(`Invalid paging cursor: ${token}`)
  return Number(m[1])
}

export class Api {
  private readonly routes: Route[] = []
  searchLagMs = 0
  /** HubSpot does not promise batch results in input order; neither do we */
  shuffleResults = true
  private shuffleCounter = 0
  private nextPipelineId = 75_000_001

  constructor(private readonly store: Store, private readonly portalId: number) {
    this.defineRoutes()
  }

  match(method: string, path: string): Matched | 'method-not-allowed' | undefined {
    const parts = path.split('/').filter(Boolean)
    let wrongMethod = false
    for (const route of this.routes) {
      if (route.segments.length !== parts.length) continue
      const params: Record<string, string> = {}
      let ok = true
      for (let i = 0; i < parts.length; i++) {
        const seg = route.segments[i]!
        if (seg.startsWith(':')) params[seg.slice(1)] = decodeURIComponent(parts[i]!)
        else if (seg !== parts[i]) {
          ok = false
          break
        }
      }
      if (!ok) continue
      if (params.version !== undefined && !API_VERSIONS.includes(params.version)) continue
      if (route.method !== method) {
        wrongMethod = true
        continue
      }
      let endpoint = route.label.replace('{version}', params.version ?? '')
      for (const key of ['type', 'fromType', 'toType']) {
        const t = params[key] && resolveObjectType(params[key]!)
        endpoint = endpoint.replace(`{${key}}`, t || params[key] || '')
      }
      return {route, params, endpoint}
    }
    return wrongMethod ? 'method-not-allowed' : undefined
  }

  private on(method: string, pattern: string, handler: Handler): void {
    const segments = pattern.split('/').filter(Boolean)
    const label = `${method} /${segments.map((s) => (s.startsWith(':') ? `{${s.slice(1)}}` : s)).join('/')}`
    this.routes.push({method, segments, handler: handler.bind(this), label})
  }

  private ts(raw: string | undefined): TypeStore {
    const type = raw ? resolveObjectType(raw) : undefined
    if (!type) throw validationError(`Unable to infer object type from: ${raw ?? ''}`)
    return this.store.types[type]
  }

  private order<T>(items: T[]): T[] {
    if (!this.shuffleResults || items.length < 2) return items
    // a cheap deterministic rotation-and-reverse: never input order, same answer every run
    const k = (this.shuffleCounter++ % (items.length - 1)) + 1
    return [...items.slice(k), ...items.slice(0, k)].reverse()
  }

  private inputs(body: unknown, limit: number): Array<Record<string, unknown>> {
    if (!isRecord(body) || !Array.isArray(body.inputs)) throw validationError('Invalid input JSON: expected {"inputs": [...]}')
    if (body.inputs.length > limit) {
      throw validationError(`Batch input limit exceeded: ${body.inputs.length} inputs; the maximum is ${limit}`, {context: {maxInputs: [String(limit)]}})
    }
    for (const i of body.inputs) if (!isRecord(i)) throw validationError('Invalid input JSON: every input must be an object')
    return body.inputs as Array<Record<string, unknown>>
  }

  private defineRoutes(): void {
    // The date-versioned APIs (`:version` is one of API_VERSIONS), then the legacy v3/v4 paths: the
    // client's generated calls in the emulator-* tests still use those; cbhs itself never does.
    const details = (): Reply => ({status: 200, body: {
      portalId: this.portalId, accountType: 'STANDARD', timeZone: 'US/Eastern', companyCurrency: 'USD',
      additionalCurrencies: [], utcOffset: '-05:00', utcOffsetMilliseconds: -18_000_000, uiDomain: 'app.hubspot.com',
      dataHostingLocation: 'na1',
    }})
    for (const version of [':version', 'v3']) {
      this.on('GET', `/account-info/${version}/details`, details)
      this.on('GET', `/account-info/${version}/api-usage/daily/private-apps`, () => this.dailyUsage())
    }

    for (const version of [':version', 'v3']) this.on('GET', `/crm/owners/${version}`, this.listOwners)

    const families = [
      {objects: '/crm/objects/:version', properties: '/crm/properties/:version', pipelines: '/crm/pipelines/:version', associations: '/crm/associations/:version', objectAssociations: '/crm/objects/:version'},
      {objects: '/crm/v3/objects', properties: '/crm/v3/properties', pipelines: '/crm/v3/pipelines', associations: '/crm/v4/associations', objectAssociations: '/crm/v4/objects'},
    ]
    for (const f of families) {
      // objects: literal paths before `:id`
      this.on('POST', `${f.objects}/:type/search`, this.search)
      this.on('POST', `${f.objects}/:type/merge`, this.merge)
      this.on('POST', `${f.objects}/:type/gdpr-delete`, this.gdprDelete)
      this.on('POST', `${f.objects}/:type/batch/create`, this.batchCreate)
      this.on('POST', `${f.objects}/:type/batch/read`, this.batchRead)
      this.on('POST', `${f.objects}/:type/batch/update`, this.batchUpdate)
      this.on('POST', `${f.objects}/:type/batch/upsert`, this.batchUpsert)
      this.on('POST', `${f.objects}/:type/batch/archive`, this.batchArchive)
      this.on('GET', `${f.objects}/:type`, this.list)
      this.on('POST', `${f.objects}/:type`, this.create)
      this.on('GET', `${f.objects}/:type/:id`, this.getById)
      this.on('PATCH', `${f.objects}/:type/:id`, this.update)
      this.on('DELETE', `${f.objects}/:type/:id`, this.archive)

      this.on('GET', `${f.properties}/:type/groups`, this.listGroups)
      this.on('POST', `${f.properties}/:type/groups`, this.createGroup)
      this.on('POST', `${f.properties}/:type/batch/read`, this.batchReadProperties)
      this.on('GET', `${f.properties}/:type`, this.listProperties)
      this.on('POST', `${f.properties}/:type`, this.createProperty)
      this.on('GET', `${f.properties}/:type/:name`, this.getProperty)

      this.on('GET', `${f.pipelines}/:type`, this.listPipelines)
      this.on('POST', `${f.pipelines}/:type`, this.createPipeline)
      this.on('GET', `${f.pipelines}/:type/:pipelineId`, this.getPipeline)
      this.on('GET', `${f.pipelines}/:type/:pipelineId/stages`, this.listStages)

      this.on('POST', `${f.associations}/:fromType/:toType/batch/create`, this.assocBatchCreate)
      this.on('POST', `${f.associations}/:fromType/:toType/batch/read`, this.assocBatchRead)
      this.on('POST', `${f.associations}/:fromType/:toType/batch/archive`, this.assocBatchArchive)
      this.on('POST', `${f.associations}/:fromType/:toType/batch/labels/archive`, this.assocBatchArchiveLabels)
      this.on('POST', `${f.associations}/:fromType/:toType/batch/associate/default`, this.assocBatchDefault)
      this.on('GET', `${f.associations}/:fromType/:toType/labels`, this.assocLabels)
      this.on('GET', `${f.objectAssociations}/:type/:id/associations/:toType`, this.assocList)
      this.on('PUT', `${f.objectAssociations}/:type/:id/associations/default/:toType/:toId`, this.assocPutDefault)
      this.on('PUT', `${f.objectAssociations}/:type/:id/associations/:toType/:toId`, this.assocPut)
      this.on('DELETE', `${f.objectAssociations}/:type/:id/associations/:toType/:toId`, this.assocDelete)
    }
  }

  private dailyUsage(): Reply {
    return {status: 200, body: {results: [{
      name: 'private-apps-api-calls-daily',
      usageLimit: this.limitsInfo().limit,
      currentUsage: this.limitsInfo().usage,
      collectedAt: ISO(this.store.now()),
      fetchStatus: 'SUCCESS',
      resetsAt: ISO(this.store.now() + 86_400_000),
    }]}}
  }

  /** Set by the server so the usage endpoint can report the limiter's numbers. */
  limitsInfo: () => {limit: number; usage: number} = () => ({limit: 250_000, usage: 0})

  // -------------------------------------------------------------------------------------------
  // Objects, single
  // -------------------------------------------------------------------------------------------

  private getById(ctx: RequestContext, p: Record<string, string>): Reply {
    const ts = this.ts(p.type)
    const idProperty = ctx.query.get('idProperty') ?? undefined
    this.store.checkLookupProperty(ts, idProperty)
    const archived = boolParam(ctx.query, 'archived')
    const obj = this.store.findBy(ts, p.id!, idProperty, true)
    if (!obj || obj.archived !== archived) throw notFound()
    const body = this.store.toJson(ts, obj, listParam(ctx.query, 'properties'), listParam(ctx.query, 'propertiesWithHistory'))
    const assocTypes = listParam(ctx.query, 'associations')
    if (assocTypes) body.associations = this.v3Associations(ts, obj, assocTypes)
    return {status: 200, body}
  }

  private v3Associations(ts: TypeStore, obj: StoredObject, toTypes: string[]): Record<string, unknown> {
    const out: Record<string, unknown> = {}
    for (const raw of toTypes) {
      const to = resolveObjectType(raw)
      if (!to) continue
      const results = this.store.associationsOf(ts.type, obj.id, to).flatMap((a) => a.typeIds.map((typeId) => {
        const def = associationType(ts.type, to, typeId)
        const name = `${TYPE_SINGULAR[ts.type].toLowerCase()}_to_${TYPE_SINGULAR[to].toLowerCase()}`
        return {id: a.toId, type: def?.primary ? `${name}_primary` : name}
      }))
      if (results.length) out[to] = {results}
    }
    return out
  }

  private list(ctx: RequestContext, p: Record<string, string>): Reply {
    const ts = this.ts(p.type)
    const rawLimit = ctx.query.get('limit')
    let limit = 10
    if (rawLimit !== null) {
      if (!/^\d+$/.test(rawLimit)) throw validationError(`limit must be an integer; got ${rawLimit}`)
      limit = Number(rawLimit)
      if (limit < 1 || limit > LIST_MAX) throw validationError(`limit must be between 1 and ${LIST_MAX}; got ${limit}`)
    }
    const after = ctx.query.get('after')
    const afterSeq = after ? decodeAfter(after) : 0
    const archived = boolParam(ctx.query, 'archived')
    const {objects, nextSeq} = this.store.list(ts, limit, afterSeq, archived)
    const props = listParam(ctx.query, 'properties')
    const history = listParam(ctx.query, 'propertiesWithHistory')
    const assocTypes = listParam(ctx.query, 'associations')
    const body: Record<string, unknown> = {
      results: objects.map((o) => {
        const json = this.store.toJson(ts, o, props, history)
        // HubSpot leaves `associations` out of an object that has none of the types asked
        const associations = assocTypes ? this.v3Associations(ts, o, assocTypes) : {}
        if (Object.keys(associations).length > 0) json.associations = associations
        return json
      }),
    }
    if (nextSeq !== null) {
      const token = encodeAfter(nextSeq)
      const link = new URL(`${ctx.baseUrl}${ctx.path}`)
      for (const [k, v] of ctx.query) if (k !== 'after') link.searchParams.append(k, v)
      link.searchParams.set('after', token)
      body.paging = {next: {after: token, link: link.toString()}}
    }
    return {status: 200, body}
  }

  private create(ctx: RequestContext, p: Record<string, string>): Reply {
    const ts = this.ts(p.type)
    if (!isRecord(ctx.body)) throw validationError('Invalid input JSON: expected {"properties": {...}}')
    const planned = this.store.plan(ts, ctx.body.properties, undefined, 'api')
    const links = this.planCreateAssociations(ts.type, ctx.body.associations)
    const obj = this.store.create(ts, planned)
    for (const l of links) this.store.associate(l.def, obj.id, l.toId)
    return {status: 201, body: this.store.writtenJson(ts, obj)}
  }

  /** Validates `associations` of a create input up front so a bad one writes nothing. */
  private planCreateAssociations(from: ObjectTypeName, raw: unknown): Array<{def: AssociationTypeDef; toId: string}> {
    if (raw === undefined || raw === null) return []
    if (!Array.isArray(raw)) throw validationError('associations must be an array')
    const out: Array<{def: AssociationTypeDef; toId: string}> = []
    for (const a of raw) {
      const toId = isRecord(a) && isRecord(a.to) && a.to.id !== undefined ? String(a.to.id) : undefined
      if (!toId || !Array.isArray(a.types) || a.types.length === 0) throw validationError('Each association needs to.id and types')
      for (const t of a.types as unknown[]) {
        const typeId = isRecord(t) ? Number(t.associationTypeId) : Number.NaN
        const def = isRecord(t) && t.associationCategory === 'HUBSPOT_DEFINED'
          ? ASSOCIATION_TYPES.find((d) => d.from === from && d.typeId === typeId) : undefined
        if (!def) throw validationError(`Invalid association type ${isRecord(t) ? String(t.associationCategory) : ''}/${typeId} from ${TYPE_ID[from]}`)
        const target = this.store.types[def.to].objects.get(toId)
        if (!target || target.archived) throw validationError(`Cannot associate with ${def.to} ${toId}: it does not exist`, {context: {ids: [toId]}})
        out.push({def, toId})
      }
    }
    return out
  }

  private update(ctx: RequestContext, p: Record<string, string>): Reply {
    const ts = this.ts(p.type)
    const idProperty = ctx.query.get('idProperty') ?? undefined
    this.store.checkLookupProperty(ts, idProperty)
    if (!isRecord(ctx.body)) throw validationError('Invalid input JSON: expected {"properties": {...}}')
    // a single update follows merges; batch update does not (§3.6)
    const obj = this.store.findBy(ts, p.id!, idProperty, true)
    if (!obj || obj.archived) throw notFound()
    const planned = this.store.plan(ts, ctx.body.properties, obj, 'api')
    this.store.apply(ts, obj, planned)
    return {status: 200, body: this.store.writtenJson(ts, obj)}
  }

  private archive(_ctx: RequestContext, p: Record<string, string>): Reply {
    const ts = this.ts(p.type)
    const obj = this.store.resolve(ts, p.id!)
    if (obj) this.store.archive(ts, obj)
    return {status: 204}
  }

  private merge(ctx: RequestContext, p: Record<string, string>): Reply {
    const ts = this.ts(p.type)
    const b = ctx.body
    if (!isRecord(b) || b.primaryObjectId === undefined || b.objectIdToMerge === undefined) {
      throw validationError('Invalid input JSON: expected {"primaryObjectId", "objectIdToMerge"}')
    }
    const survivor = this.store.merge(ts, String(b.primaryObjectId), String(b.objectIdToMerge))
    return {status: 200, body: this.store.writtenJson(ts, survivor)}
  }

  private gdprDelete(ctx: RequestContext, p: Record<string, string>): Reply {
    const ts = this.ts(p.type)
    if (ts.type !== 'contacts') throw notFound()
    const b = ctx.body
    if (!isRecord(b) || b.objectId === undefined) throw validationError('Invalid input JSON: expected {"objectId"}')
    const idProperty = typeof b.idProperty === 'string' ? b.idProperty : undefined
    this.store.checkLookupProperty(ts, idProperty)
    const obj = this.store.findBy(ts, String(b.objectId), idProperty, true)
    if (!obj) {
      if (idProperty === 'email') {
        this.store.gdprBlocklist.add(String(b.objectId).toLowerCase())
        return {status: 204}
      }
      throw notFound()
    }
    this.store.purge(ts, obj)
    return {status: 204}
  }

  // -------------------------------------------------------------------------------------------
  // Objects, batch
  // -------------------------------------------------------------------------------------------

  /** Every input has a distinct objectWriteTraceId ⇒ partial success allowed (207). */
  private traceMode(inputs: Array<Record<string, unknown>>): boolean {
    if (inputs.length === 0) return false
    const ids = inputs.map((i) => i.objectWriteTraceId)
    if (!ids.every((t) => typeof t === 'string' && t !== '')) return false
    if (new Set(ids).size !== ids.length) throw validationError('objectWriteTraceId values must be unique within a batch')
    return true
  }

  private batchCreate(ctx: RequestContext, p: Record<string, string>): Reply {
    const started = this.store.now()
    const ts = this.ts(p.type)
    const inputs = this.inputs(ctx.body, BATCH_LIMIT)
    const trace = this.traceMode(inputs)
    const claimed = new Map<string, number>()
    const plans: Array<{planned: PlannedWrite; links: Array<{def: AssociationTypeDef; toId: string}>} | EmuError> = inputs.map((input, i) => {
      return orInputError(() => ({
        planned: this.store.plan(ts, input.properties, undefined, 'api', claimed, i),
        links: this.planCreateAssociations(ts.type, input.associations),
      }))
    })
    failWholeBatch(plans, trace)
    const results: unknown[] = []
    const errors: unknown[] = []
    plans.forEach((plan, i) => {
      const traceId = inputs[i]!.objectWriteTraceId as string | undefined
      if (plan instanceof EmuError) {
        errors.push(standardError(plan, {objectWriteTraceId: [traceId!]}))
        return
      }
      const obj = this.store.create(ts, plan.planned)
      for (const l of plan.links) this.store.associate(l.def, obj.id, l.toId)
      const json = this.store.writtenJson(ts, obj)
      if (traceId) json.objectWriteTraceId = traceId
      results.push(json)
    })
    return {status: errors.length ? 207 : 201, body: batchEnvelope(started, this.store.now(), this.order(results), errors)}
  }

  private batchRead(ctx: RequestContext, p: Record<string, string>): Reply {
    const started = this.store.now()
    const ts = this.ts(p.type)
    const inputs = this.inputs(ctx.body, BATCH_LIMIT)
    const b = ctx.body as Record<string, unknown>
    const props = Array.isArray(b.properties) ? (b.properties as unknown[]).map(String) : null
    const history = Array.isArray(b.propertiesWithHistory) ? (b.propertiesWithHistory as unknown[]).map(String) : null
    if (history && history.length && inputs.length > 50) {
      throw validationError(`Batch input limit exceeded: ${inputs.length} inputs; the maximum with propertiesWithHistory is 50`)
    }
    const idProperty = typeof b.idProperty === 'string' ? b.idProperty : undefined
    this.store.checkLookupProperty(ts, idProperty)
    const archived = boolParam(ctx.query, 'archived')
    const seen = new Set<string>()
    const results: unknown[] = []
    const missing: string[] = []
    for (const input of inputs) {
      if (input.id === undefined || input.id === null) throw validationError('Every input needs an id')
      const id = String(input.id)
      const obj = this.store.findBy(ts, id, idProperty, true)
      if (!obj || obj.archived !== archived) {
        missing.push(id)
        continue
      }
      if (seen.has(obj.id)) continue
      seen.add(obj.id)
      results.push(this.store.toJson(ts, obj, props, history))
    }
    const errors = missing.length ? [{
      status: 'error',
      category: 'OBJECT_NOT_FOUND',
      message: `Could not get some ${TYPE_SINGULAR[ts.type]} objects, they may be deleted or not exist. Check that ids are valid.`,
      context: {ids: missing},
      errors: [],
      links: {},
    }] : []
    return {status: missing.length ? 207 : 200, body: batchEnvelope(started, this.store.now(), this.order(results), errors)}
  }

  private checkDuplicateIds(keys: string[]): void {
    const seen = new Set<string>()
    const dups = new Set<string>()
    for (const k of keys) (seen.has(k) ? dups : seen).add(k)
    if (dups.size) {
      throw validationError(`Duplicate IDs found in batch input: [${[...dups].join(', ')}]. IDs must be unique`, {context: {ids: [...dups]}})
    }
  }

  private batchUpdate(ctx: RequestContext, p: Record<string, string>): Reply {
    const started = this.store.now()
    const ts = this.ts(p.type)
    const inputs = this.inputs(ctx.body, BATCH_LIMIT)
    for (const input of inputs) {
      if (input.id === undefined || input.id === null || input.id === '') throw validationError('Every input needs an id')
      if (input.idProperty !== undefined) this.store.checkUniqueCustom(ts, String(input.idProperty))
    }
    this.checkDuplicateIds(inputs.map((i) => `${String(i.idProperty ?? '')}\u0000${String(i.id)}`))
    const trace = this.traceMode(inputs)
    const claimed = new Map<string, number>()
    type Outcome = {obj: StoredObject; planned: PlannedWrite} | {missing: true} | EmuError
    const outcomes: Outcome[] = inputs.map((input, i) => {
      const idProperty = input.idProperty === undefined ? undefined : String(input.idProperty)
      // merged-away ids are not followed here: HubSpot's batch update rejects them
      const obj = this.store.findBy(ts, String(input.id), idProperty, false)
      if (!obj || obj.archived) return {missing: true}
      return orInputError(() => ({obj, planned: this.store.plan(ts, input.properties, obj, 'api', claimed, i)}))
    })
    failWholeBatch(outcomes, trace)
    const results: unknown[] = []
    const errors: unknown[] = []
    const missingIds: string[] = []
    outcomes.forEach((o, i) => {
      const input = inputs[i]!
      const id = String(input.id)
      const traceId = input.objectWriteTraceId as string | undefined
      if (o instanceof EmuError) {
        errors.push(standardError(o, {ids: [id], ...(trace ? {objectWriteTraceId: [traceId!]} : {})}))
      } else if ('missing' in o) {
        if (trace) {
          errors.push(standardError(notFound(`Object ${id} not found`), {ids: [id], objectWriteTraceId: [traceId!]}))
        } else missingIds.push(id)
      } else {
        this.store.apply(ts, o.obj, o.planned)
        const json = this.store.writtenJson(ts, o.obj)
        if (traceId) json.objectWriteTraceId = traceId
        results.push(json)
      }
    })
    if (missingIds.length) {
      errors.push(standardError(notFound(`Could not update some ${TYPE_SINGULAR[ts.type]} objects, they may be deleted, merged or not exist. Check that ids are valid.`), {ids: missingIds}))
    }
    return {status: errors.length ? 207 : 200, body: batchEnvelope(started, this.store.now(), this.order(results), errors)}
  }

  private batchUpsert(ctx: RequestContext, p: Record<string, string>): Reply {
    const started = this.store.now()
    const ts = this.ts(p.type)
    const inputs = this.inputs(ctx.body, BATCH_LIMIT)
    for (const input of inputs) {
      if (input.id === undefined || input.id === null || input.id === '') throw validationError('Every input needs an id')
      if (typeof input.idProperty !== 'string' || input.idProperty === '') {
        throw validationError('Every upsert input needs an idProperty naming a unique property')
      }
      if (!(ts.type === 'contacts' && input.idProperty === 'email')) this.store.checkUniqueCustom(ts, input.idProperty)
    }
    this.checkDuplicateIds(inputs.map((i) => `${i.idProperty as string}\u0000${i.idProperty === 'email' ? String(i.id).toLowerCase() : String(i.id)}`))
    const trace = this.traceMode(inputs)
    const claimed = new Map<string, number>()
    type Outcome = {obj: StoredObject | undefined; planned: PlannedWrite} | EmuError
    const outcomes: Outcome[] = inputs.map((input, i) => {
      const idProperty = input.idProperty as string
      const id = String(input.id)
      const obj = this.store.findBy(ts, id, idProperty, false)
      const properties = isRecord(input.properties) ? {...input.properties} : input.properties
      return orInputError(() => {
        if (isRecord(properties)) properties[idProperty] = id
        else if (properties === undefined || properties === null) return {obj, planned: this.store.plan(ts, {[idProperty]: id}, obj, 'api', claimed, i)}
        return {obj, planned: this.store.plan(ts, properties, obj && !obj.archived ? obj : undefined, 'api', claimed, i)}
      })
    })
    failWholeBatch(outcomes, trace)
    const results: unknown[] = []
    const errors: unknown[] = []
    outcomes.forEach((o, i) => {
      const input = inputs[i]!
      const traceId = input.objectWriteTraceId as string | undefined
      if (o instanceof EmuError) {
        errors.push(standardError(o, {ids: [String(input.id)], ...(trace ? {objectWriteTraceId: [traceId!]} : {})}))
        return
      }
      let obj = o.obj
      const isNew = !obj
      if (obj) this.store.apply(ts, obj, o.planned)
      else obj = this.store.create(ts, o.planned)
      const json = this.store.writtenJson(ts, obj)
      json.new = isNew
      if (traceId) json.objectWriteTraceId = traceId
      results.push(json)
    })
    return {status: errors.length ? 207 : 200, body: batchEnvelope(started, this.store.now(), this.order(results), errors)}
  }

  private batchArchive(ctx: RequestContext, p: Record<string, string>): Reply {
    const ts = this.ts(p.type)
    const inputs = this.inputs(ctx.body, BATCH_LIMIT)
    for (const input of inputs) if (input.id === undefined || input.id === null) throw validationError('Every input needs an id')
    for (const input of inputs) {
      const obj = this.store.resolve(ts, String(input.id))
      if (obj) this.store.archive(ts, obj)
    }
    return {status: 204}
  }

  private search(ctx: RequestContext, p: Record<string, string>): Reply {
    const ts = this.ts(p.type)
    const req = parseSearchRequest(ts, ctx.body ?? {})
    const outcome = ts.search.run(req, this.searchLagMs, (t, o, n) => this.store.valueOf(t, o, n))
    const body: Record<string, unknown> = {
      total: outcome.total,
      results: outcome.results.map((o) => this.store.toJson(ts, o, req.properties)),
    }
    if (outcome.nextAfter !== null) body.paging = {next: {after: outcome.nextAfter}}
    return {status: 200, body}
  }

  // -------------------------------------------------------------------------------------------
  // Properties
  // -------------------------------------------------------------------------------------------

  private listProperties(_ctx: RequestContext, p: Record<string, string>): Reply {
    const ts = this.ts(p.type)
    return {status: 200, body: {results: [...ts.props.values()].map((d) => this.store.propertyJson(d))}}
  }

  private getProperty(_ctx: RequestContext, p: Record<string, string>): Reply {
    const ts = this.ts(p.type)
    const def = ts.props.get(p.name!)
    if (!def) throw notFound(`Unable to find property ${p.name} for object type ${TYPE_ID[ts.type]}`)
    return {status: 200, body: this.store.propertyJson(def)}
  }

  private createProperty(ctx: RequestContext, p: Record<string, string>): Reply {
    const ts = this.ts(p.type)
    if (!isRecord(ctx.body)) throw validationError('Invalid input JSON: expected a property definition')
    return {status: 201, body: this.store.propertyJson(this.store.createProperty(ts, ctx.body))}
  }

  private batchReadProperties(ctx: RequestContext, p: Record<string, string>): Reply {
    const started = this.store.now()
    const ts = this.ts(p.type)
    const inputs = this.inputs(ctx.body, Number.MAX_SAFE_INTEGER)
    const results: unknown[] = []
    const missing: string[] = []
    for (const i of inputs) {
      const def = ts.props.get(String(i.name))
      if (def) results.push(this.store.propertyJson(def))
      else missing.push(String(i.name))
    }
    const errors = missing.length
      ? [{status: 'error', category: 'OBJECT_NOT_FOUND', message: 'Some properties were not found', context: {names: missing}, errors: [], links: {}}]
      : []
    return {status: missing.length ? 207 : 200, body: batchEnvelope(started, this.store.now(), results, errors)}
  }

  private listGroups(_ctx: RequestContext, p: Record<string, string>): Reply {
    const ts = this.ts(p.type)
    return {status: 200, body: {results: [...ts.groups.values()].map((g) => ({...g, archived: false}))}}
  }

  private createGroup(ctx: RequestContext, p: Record<string, string>): Reply {
    const ts = this.ts(p.type)
    if (!isRecord(ctx.body)) throw validationError('Invalid input JSON: expected {name, label}')
    return {status: 201, body: {...this.store.createGroup(ts, ctx.body), archived: false}}
  }

  // -------------------------------------------------------------------------------------------
  // Pipelines
  // -------------------------------------------------------------------------------------------

  private pipelineType(raw: string | undefined): void {
    const t = raw ? resolveObjectType(raw) : undefined
    if (t !== 'deals') throw validationError(`Pipelines are not supported for object type ${raw ?? ''}`)
  }

  private pipelineJson(pl: PipelineDef): Record<string, unknown> {
    return {
      id: pl.id,
      label: pl.label,
      displayOrder: pl.displayOrder,
      stages: pl.stages.map((s, i) => ({
        id: s.id,
        label: s.label,
        displayOrder: i,
        metadata: {isClosed: String(s.isClosed), probability: s.probability},
        archived: false,
        writePermissions: 'CRM_PERMISSIONS_ENFORCEMENT',
        createdAt: ISO(pl.createdAtMs),
        updatedAt: ISO(pl.updatedAtMs),
      })),
      archived: false,
      createdAt: ISO(pl.createdAtMs),
      updatedAt: ISO(pl.updatedAtMs),
    }
  }

  /** GET /crm/owners/{version}: offset paging as the spec's `after`, `email` and `archived` filters. */
  private listOwners(ctx: RequestContext): Reply {
    const archived = ctx.query.get('archived') === 'true'
    const email = ctx.query.get('email')?.toLowerCase()
    const limit = Math.min(Math.max(Number(ctx.query.get('limit') ?? 100) || 100, 1), 500)
    const after = ctx.query.get('after')
    const offset = after ? Number(after) : 0
    if (!Number.isInteger(offset) || offset < 0) throw validationError(`Invalid after: ${after}`)
    const all = this.store.owners.filter((o) => o.archived === archived && (email === undefined || o.email.toLowerCase() === email))
    const body: Record<string, unknown> = {
      results: all.slice(offset, offset + limit).map((o) => ({
        id: o.id, email: o.email, firstName: o.firstName, lastName: o.lastName, userId: o.userId, type: 'PERSON',
        createdAt: new Date(o.createdAtMs).toISOString(), updatedAt: new Date(o.updatedAtMs).toISOString(), archived: o.archived, teams: [],
      })),
    }
    if (offset + limit < all.length) body.paging = {next: {after: String(offset + limit)}}
    return {status: 200, body}
  }

  private listPipelines(_ctx: RequestContext, p: Record<string, string>): Reply {
    this.pipelineType(p.type)
    return {status: 200, body: {results: this.store.pipelines.map((pl) => this.pipelineJson(pl))}}
  }

  private getPipeline(_ctx: RequestContext, p: Record<string, string>): Reply {
    this.pipelineType(p.type)
    const pl = this.store.pipelines.find((x) => x.id === p.pipelineId)
    if (!pl) throw notFound(`Unable to find pipeline ${p.pipelineId}`)
    return {status: 200, body: this.pipelineJson(pl)}
  }

  private listStages(ctx: RequestContext, p: Record<string, string>): Reply {
    const pipeline = this.getPipeline(ctx, p).body as {stages: unknown[]}
    return {status: 200, body: {results: pipeline.stages}}
  }

  private createPipeline(ctx: RequestContext, p: Record<string, string>): Reply {
    this.pipelineType(p.type)
    const b = ctx.body
    if (!isRecord(b) || typeof b.label !== 'string' || !Array.isArray(b.stages) || b.stages.length === 0) {
      throw validationError('A pipeline needs a label and at least one stage')
    }
    if (this.store.pipelines.some((x) => x.label === b.label)) throw new EmuError(409, 'CONFLICT', `A pipeline labelled ${b.label} already exists`)
    const stages = (b.stages as unknown[]).map((s) => {
      const meta = isRecord(s) && isRecord(s.metadata) ? s.metadata : {}
      const probability = meta.probability === undefined ? undefined : Number(meta.probability)
      if (!isRecord(s) || typeof s.label !== 'string' || probability === undefined || !(probability >= 0 && probability <= 1)) {
        throw validationError('Every deal stage needs a label and metadata.probability between 0.0 and 1.0')
      }
      return {id: String(this.nextPipelineId++), label: s.label, probability: String(meta.probability), isClosed: meta.isClosed === 'true' || meta.isClosed === true}
    })
    const now = this.store.now()
    const pl: PipelineDef = {id: String(this.nextPipelineId++), label: b.label, displayOrder: typeof b.displayOrder === 'number' ? b.displayOrder : this.store.pipelines.length, stages, createdAtMs: now, updatedAtMs: now}
    this.store.pipelines.push(pl)
    this.store.refreshPipelineOptions()
    return {status: 201, body: this.pipelineJson(pl)}
  }

  // -------------------------------------------------------------------------------------------
  // Associations v4
  // -------------------------------------------------------------------------------------------

  private pair(p: Record<string, string>): {from: ObjectTypeName; to: ObjectTypeName} {
    return {from: this.ts(p.fromType ?? p.type).type, to: this.ts(p.toType).type}
  }

  private live(type: ObjectTypeName, id: string): boolean {
    const o = this.store.types[type].objects.get(id)
    return !!o && !o.archived
  }

  /** `label` is a string in the specification: an unlabelled type leaves it out rather than sending null. */
  private typeSpecJson(from: ObjectTypeName, to: ObjectTypeName, typeId: number): Record<string, unknown> {
    const label = associationType(from, to, typeId)?.label
    return label ? {category: 'HUBSPOT_DEFINED', typeId, label} : {category: 'HUBSPOT_DEFINED', typeId}
  }

  private labelsOf(from: ObjectTypeName, to: ObjectTypeName, typeIds: Iterable<number>): string[] {
    const out: string[] = []
    for (const t of typeIds) {
      const label = associationType(from, to, t)?.label
      if (label) out.push(label)
    }
    return out
  }

  /** Resolves `types` of one input; throws the per-input error. */
  private specDefs(from: ObjectTypeName, to: ObjectTypeName, types: unknown): AssociationTypeDef[] {
    if (!Array.isArray(types) || types.length === 0) throw validationError('types must be a non-empty array of {associationCategory, associationTypeId}')
    return types.map((t) => {
      const category = isRecord(t) ? t.associationCategory : undefined
      const typeId = isRecord(t) ? Number(t.associationTypeId) : Number.NaN
      if (!['HUBSPOT_DEFINED', 'USER_DEFINED', 'INTEGRATOR_DEFINED'].includes(String(category))) {
        throw validationError(`Invalid associationCategory ${String(category)}`)
      }
      const def = category === 'HUBSPOT_DEFINED' ? associationType(from, to, typeId) : undefined
      if (!def) {
        throw validationError(`${String(category)} association type ${String(isRecord(t) ? t.associationTypeId : '')} does not exist between ${TYPE_ID[from]} and ${TYPE_ID[to]}`, {
          subCategory: 'crm.associations.INVALID_ASSOCIATION_TYPE',
          context: {typeId: [String(isRecord(t) ? t.associationTypeId : '')]},
        })
      }
      return def
    })
  }

  private assocBatchCreate(ctx: RequestContext, p: Record<string, string>): Reply {
    const started = this.store.now()
    const {from, to} = this.pair(p)
    const inputs = this.inputs(ctx.body, ASSOC_CREATE_LIMIT)
    const results: unknown[] = []
    const errors: unknown[] = []
    for (const input of inputs) {
      const fromId = isRecord(input.from) && input.from.id !== undefined ? String(input.from.id) : undefined
      const toId = isRecord(input.to) && input.to.id !== undefined ? String(input.to.id) : undefined
      if (!fromId || !toId) throw validationError('Every input needs from.id and to.id')
      try {
        const defs = this.specDefs(from, to, input.types)
        if (!this.live(from, fromId)) throw notFound(`No ${TYPE_SINGULAR[from].toLowerCase()} with id ${fromId} exists`, {fromObjectId: [fromId]})
        if (!this.live(to, toId)) throw notFound(`No ${TYPE_SINGULAR[to].toLowerCase()} with id ${toId} exists`, {toObjectId: [toId]})
        for (const def of defs) this.store.associate(def, fromId, toId)
        results.push({
          fromObjectTypeId: TYPE_ID[from],
          fromObjectId: fromId,
          toObjectTypeId: TYPE_ID[to],
          toObjectId: toId,
          labels: this.labelsOf(from, to, defs.map((d) => d.typeId)),
        })
      } catch (e) {
        if (!(e instanceof EmuError)) throw e
        errors.push(standardError(e, {fromObjectId: [fromId], toObjectId: [toId]}))
      }
    }
    return {status: errors.length ? 207 : 201, body: batchEnvelope(started, this.store.now(), results, errors)}
  }

  private assocBatchRead(ctx: RequestContext, p: Record<string, string>): Reply {
    const started = this.store.now()
    const {from, to} = this.pair(p)
    const inputs = this.inputs(ctx.body, ASSOC_READ_LIMIT)
    const results: unknown[] = []
    const errors: unknown[] = []
    for (const input of inputs) {
      if (input.id === undefined || input.id === null) throw validationError('Every input needs an id')
      const id = String(input.id)
      const found = this.live(from, id) ? this.store.associationsOf(from, id, to) : []
      if (found.length === 0) {
        errors.push({
          status: 'error',
          category: 'OBJECT_NOT_FOUND',
          subCategory: {name: 'crm.associations.NO_ASSOCIATIONS_FOUND'},
          message: `No ${TYPE_SINGULAR[to].toLowerCase()} is associated with ${TYPE_SINGULAR[from].toLowerCase()} ${id}.`,
          context: {fromObjectId: [id]},
          errors: [],
          links: {},
        })
        continue
      }
      results.push({
        from: {id},
        to: found.map((a) => ({toObjectId: a.toId, associationTypes: a.typeIds.map((t) => this.typeSpecJson(from, to, t))})),
      })
    }
    return {status: errors.length ? 207 : 200, body: batchEnvelope(started, this.store.now(), results, errors)}
  }

  private assocBatchArchive(ctx: RequestContext, p: Record<string, string>): Reply {
    const started = this.store.now()
    const {from, to} = this.pair(p)
    const inputs = this.inputs(ctx.body, ASSOC_CREATE_LIMIT)
    for (const input of inputs) {
      const fromId = isRecord(input.from) && input.from.id !== undefined ? String(input.from.id) : undefined
      if (!fromId || !Array.isArray(input.to)) throw validationError('Every input needs from.id and a to array')
      for (const t of input.to as unknown[]) {
        if (isRecord(t) && t.id !== undefined) this.store.dissociate(from, fromId, to, String(t.id))
      }
    }
    return archivedReply(p, started, this.store.now())
  }

  private assocBatchArchiveLabels(ctx: RequestContext, p: Record<string, string>): Reply {
    const started = this.store.now()
    const {from, to} = this.pair(p)
    const inputs = this.inputs(ctx.body, ASSOC_CREATE_LIMIT)
    for (const input of inputs) {
      const fromId = isRecord(input.from) ? String(input.from.id) : ''
      const toId = isRecord(input.to) ? String(input.to.id) : ''
      const defs = this.specDefs(from, to, input.types)
      const fwd = this.store.assoc.get(`${from}:${fromId}`)?.get(`${to}:${toId}`)
      const back = this.store.assoc.get(`${to}:${toId}`)?.get(`${from}:${fromId}`)
      for (const d of defs) {
        fwd?.delete(d.typeId)
        back?.delete(d.inverse)
      }
    }
    return archivedReply(p, started, this.store.now())
  }

  private assocBatchDefault(ctx: RequestContext, p: Record<string, string>): Reply {
    const started = this.store.now()
    const {from, to} = this.pair(p)
    const def = defaultAssociationType(from, to)
    if (!def) throw validationError(`No default association between ${TYPE_ID[from]} and ${TYPE_ID[to]}`)
    const inputs = this.inputs(ctx.body, ASSOC_CREATE_LIMIT)
    const results: unknown[] = []
    const errors: unknown[] = []
    for (const input of inputs) {
      const fromId = isRecord(input.from) && input.from.id !== undefined ? String(input.from.id) : undefined
      const toId = isRecord(input.to) && input.to.id !== undefined ? String(input.to.id) : undefined
      if (!fromId || !toId) throw validationError('Every input needs from.id and to.id')
      if (!this.live(from, fromId) || !this.live(to, toId)) {
        errors.push(standardError(notFound(`Cannot associate ${fromId} with ${toId}: an object does not exist`), {fromObjectId: [fromId], toObjectId: [toId]}))
        continue
      }
      this.store.associate(def, fromId, toId)
      results.push({from: {id: fromId}, to: {id: toId}, associationSpec: {associationCategory: 'HUBSPOT_DEFINED', associationTypeId: def.typeId}})
    }
    return {status: 200, body: batchEnvelope(started, this.store.now(), results, errors)}
  }

  private assocLabels(_ctx: RequestContext, p: Record<string, string>): Reply {
    const {from, to} = this.pair(p)
    return {status: 200, body: {results: associationTypesBetween(from, to).map((d) => ({category: 'HUBSPOT_DEFINED', typeId: d.typeId, label: d.label}))}}
  }

  private assocList(ctx: RequestContext, p: Record<string, string>): Reply {
    const from = this.ts(p.type).type
    const to = this.ts(p.toType).type
    const limitRaw = ctx.query.get('limit')
    const limit = limitRaw === null ? 500 : Number(limitRaw)
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw validationError('limit must be between 1 and 500')
    const after = ctx.query.get('after')
    const offset = after ? Number(after) : 0
    if (!Number.isInteger(offset) || offset < 0) throw validationError(`Invalid after: ${after}`)
    if (!this.live(from, p.id!)) throw notFound()
    const all = this.store.associationsOf(from, p.id!, to)
    const page = all.slice(offset, offset + limit)
    const body: Record<string, unknown> = {
      results: page.map((a) => ({toObjectId: a.toId, associationTypes: a.typeIds.map((t) => this.typeSpecJson(from, to, t))})),
    }
    if (offset + limit < all.length) body.paging = {next: {after: String(offset + limit)}}
    return {status: 200, body}
  }

  private assocPut(ctx: RequestContext, p: Record<string, string>): Reply {
    const from = this.ts(p.type).type
    const to = this.ts(p.toType).type
    const defs = this.specDefs(from, to, ctx.body)
    if (!this.live(from, p.id!) || !this.live(to, p.toId!)) throw notFound()
    for (const d of defs) this.store.associate(d, p.id!, p.toId!)
    return {status: 201, body: {
      fromObjectTypeId: TYPE_ID[from], fromObjectId: p.id, toObjectTypeId: TYPE_ID[to], toObjectId: p.toId,
      labels: this.labelsOf(from, to, defs.map((d) => d.typeId)),
    }}
  }

  private assocPutDefault(_ctx: RequestContext, p: Record<string, string>): Reply {
    const started = this.store.now()
    const from = this.ts(p.type).type
    const to = this.ts(p.toType).type
    const def = defaultAssociationType(from, to)
    if (!def) throw validationError(`No default association between ${TYPE_ID[from]} and ${TYPE_ID[to]}`)
    if (!this.live(from, p.id!) || !this.live(to, p.toId!)) throw notFound()
    this.store.associate(def, p.id!, p.toId!)
    return {status: 200, body: batchEnvelope(started, this.store.now(), [
      {from: {id: p.id}, to: {id: p.toId}, associationSpec: {associationCategory: 'HUBSPOT_DEFINED', associationTypeId: def.typeId}},
    ], [])}
  }

  private assocDelete(_ctx: RequestContext, p: Record<string, string>): Reply {
    const from = this.ts(p.type).type
    const to = this.ts(p.toType).type
    this.store.dissociate(from, p.id!, to, p.toId!)
    return {status: 204}
  }
}

export {MODIFIED_PROP}

/** Association archives: v4 answers 204; the date-versioned APIs answer 200 with a batch response. */
function archivedReply(p: Record<string, string>, startedAt: number, completedAt: number): Reply {
  return p.version === undefined ? {status: 204} : {status: 200, body: batchEnvelope(startedAt, completedAt, [], [])}
}

/** Plans one batch input; a validation error becomes that input's outcome, not the request's. */
function orInputError<T>(plan: () => T): T | EmuError {
  try {
    return plan()
  } catch (e) {
    if (e instanceof EmuError) return e
    throw e
  }
}

/** Without an objectWriteTraceId on every input a batch is all-or-nothing: its first error fails it whole. */
function failWholeBatch(outcomes: readonly unknown[], trace: boolean): void {
  const first = outcomes.find((x): x is EmuError => x instanceof EmuError)
  if (first && !trace) throw first
}
