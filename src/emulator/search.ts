/**
 * CRM search (§3.2): validation of the request, filter evaluation, sorting, offset paging with the
 * 10,000 cap, and index lag. Matching result lists are cached per query until the type changes or
 * a lagging record becomes visible, so paging through one query costs O(page) after the first page.
 */
import {validationError} from './errors.js'
import {MODIFIED_PROP, QUERY_PROPERTIES, type PropertyDef} from './schema.js'
import type {StoredObject, TypeStore} from './store.js'
import {parseInstant} from './values.js'

export const SEARCH_MAX_LIMIT = 200
export const SEARCH_MAX_RESULTS = 10_000
export const SEARCH_MAX_BODY = 3_000
// the specification: "Up to 6 groups of filters"; the guide's 6 per group and 18 in all still apply
const MAX_GROUPS = 6
const MAX_FILTERS_PER_GROUP = 6
const MAX_FILTERS = 18
const CACHE_SIZE = 8

const OPERATORS = new Set([
  'EQ', 'NEQ', 'LT', 'LTE', 'GT', 'GTE', 'BETWEEN', 'IN', 'NOT_IN', 'HAS_PROPERTY', 'NOT_HAS_PROPERTY',
  'CONTAINS_TOKEN', 'NOT_CONTAINS_TOKEN',
])

type ValueOf = (ts: TypeStore, obj: StoredObject, name: string) => string | null | undefined
type Pred = (obj: StoredObject) => boolean

export interface SearchRequest {
  properties: string[] | null
  limit: number
  offset: number
  cacheKey: string
  groups: unknown[]
  sort: {propertyName: string; descending: boolean} | null
  query: string | null
}

export interface SearchOutcome {
  total: number
  results: StoredObject[]
  nextAfter: string | null
}

interface CacheEntry {
  version: number
  visibleUntilMs: number
  matches: StoredObject[]
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Validates the raw body; throws the 400 HubSpot would send. */
export function parseSearchRequest(ts: TypeStore, body: unknown): SearchRequest {
  if (!isRecord(body)) throw validationError('Invalid input JSON: the search request must be an object')
  const groups = body.filterGroups ?? []
  if (!Array.isArray(groups)) throw validationError('filterGroups must be an array')
  if (groups.length > MAX_GROUPS) {
    throw validationError(`Too many filter groups: ${groups.length}. The maximum is ${MAX_GROUPS}.`, {subCategory: 'PublicSearchValidation.TOO_MANY_FILTER_GROUPS'})
  }
  let total = 0
  for (const g of groups) {
    if (!isRecord(g) || !Array.isArray(g.filters)) throw validationError('Each filter group needs a "filters" array')
    if (g.filters.length > MAX_FILTERS_PER_GROUP) {
      throw validationError(`Too many filters in a group: ${g.filters.length}. The maximum is ${MAX_FILTERS_PER_GROUP}.`, {subCategory: 'PublicSearchValidation.TOO_MANY_FILTERS'})
    }
    total += g.filters.length
    for (const f of g.filters) checkFilter(ts, f)
  }
  if (total > MAX_FILTERS) {
    throw validationError(`Too many filters: ${total}. The maximum is ${MAX_FILTERS} across all groups.`, {subCategory: 'PublicSearchValidation.TOO_MANY_FILTERS'})
  }

  let sort: SearchRequest['sort'] = null
  if (body.sorts !== undefined && body.sorts !== null) {
    if (!Array.isArray(body.sorts)) throw validationError('sorts must be an array')
    if (body.sorts.length > 1) throw validationError('Only one sort is supported per search request', {subCategory: 'PublicSearchValidation.TOO_MANY_SORTS'})
    const s = body.sorts[0]
    if (typeof s === 'string') {
      const descending = s.startsWith('-')
      sort = {propertyName: descending ? s.slice(1) : s, descending}
    } else if (isRecord(s) && typeof s.propertyName === 'string') {
      const dir = s.direction ?? 'ASCENDING'
      if (dir !== 'ASCENDING' && dir !== 'DESCENDING') throw validationError(`Invalid sort direction ${String(dir)}; use ASCENDING or DESCENDING`)
      sort = {propertyName: s.propertyName, descending: dir === 'DESCENDING'}
    } else if (s !== undefined) {
      throw validationError('A sort is {propertyName, direction} or a property name')
    }
    if (sort && !knownProperty(ts, sort.propertyName)) throw validationError(`Cannot sort by unknown property ${sort.propertyName}`)
  }

  let limit = 10
  if (body.limit !== undefined && body.limit !== null) {
    if (typeof body.limit !== 'number' || !Number.isInteger(body.limit) || body.limit < 0) throw validationError('limit must be a non-negative integer')
    if (body.limit > SEARCH_MAX_LIMIT) throw validationError(`limit must be at most ${SEARCH_MAX_LIMIT}; got ${body.limit}`)
    limit = body.limit
  }
  let offset = 0
  if (body.after !== undefined && body.after !== null && body.after !== '') {
    const a = String(body.after)
    if (!/^\d+$/.test(a)) throw validationError(`after must be an integer offset; got ${a}`)
    offset = Number(a)
  }
  if (offset + limit > SEARCH_MAX_RESULTS) {
    throw validationError(`Search results are limited to ${SEARCH_MAX_RESULTS}: after (${offset}) + limit (${limit}) is beyond it`)
  }
  let properties: string[] | null = null
  if (body.properties !== undefined && body.properties !== null) {
    if (!Array.isArray(body.properties) || body.properties.some((p) => typeof p !== 'string')) throw validationError('properties must be an array of names')
    properties = body.properties as string[]
  }
  const query = typeof body.query === 'string' && body.query.trim() !== '' ? body.query.trim() : null
  const cacheKey = JSON.stringify([groups, sort, query])
  return {properties, limit, offset, cacheKey, groups, sort, query}
}

function knownProperty(ts: TypeStore, name: string): boolean {
  return ts.props.has(name) || name === 'hs_object_id' || name === 'createdate' || name === MODIFIED_PROP[ts.type]
}

function checkFilter(ts: TypeStore, f: unknown): void {
  if (!isRecord(f) || typeof f.propertyName !== 'string') throw validationError('Each filter needs a propertyName')
  const op = typeof f.operator === 'string' ? f.operator : 'EQ'
  if (!OPERATORS.has(op)) throw validationError(`Unknown filter operator ${String(f.operator)}`)
  if (!knownProperty(ts, f.propertyName)) {
    throw validationError(`There was a problem with the request: property ${f.propertyName} does not exist`, {
      errors: [{message: `Property "${f.propertyName}" does not exist`, code: 'PROPERTY_DOESNT_EXIST', context: {propertyName: [f.propertyName]}}],
    })
  }
  const needsValue = ['EQ', 'NEQ', 'LT', 'LTE', 'GT', 'GTE', 'BETWEEN', 'CONTAINS_TOKEN', 'NOT_CONTAINS_TOKEN']
  if (needsValue.includes(op) && (f.value === undefined || f.value === null)) throw validationError(`Operator ${op} needs a value`)
  if (op === 'BETWEEN' && (f.highValue === undefined || f.highValue === null)) throw validationError('Operator BETWEEN needs a value and a highValue')
  if ((op === 'IN' || op === 'NOT_IN') && !Array.isArray(f.values)) throw validationError(`Operator ${op} needs a values array`)
  const def = ts.props.get(f.propertyName)
  if (numericDef(def, f.propertyName, ts)) {
    for (const v of [f.value, f.highValue, ...(Array.isArray(f.values) ? f.values : [])]) {
      if (v === undefined || v === null || ['CONTAINS_TOKEN', 'NOT_CONTAINS_TOKEN'].includes(op)) continue
      if (!Number.isFinite(toNumber(def, String(v)))) {
        throw validationError(`${String(v)} is not a valid value for ${f.propertyName}`)
      }
    }
  }
}

function numericDef(def: PropertyDef | undefined, name: string, ts: TypeStore): boolean {
  if (name === 'hs_object_id' || name === 'createdate' || name === MODIFIED_PROP[ts.type]) return true
  return !!def && (def.type === 'number' || def.type === 'date' || def.type === 'datetime')
}

/**
 * The system dates and the id are kept as numbers on every object: comparing them needs no
 * parsing, which matters when a search walks 100,000 objects per query.
 */
function systemNumber(ts: TypeStore, name: string): ((o: StoredObject) => number) | null {
  if (name === MODIFIED_PROP[ts.type]) return (o) => o.updatedAtMs
  if (name === 'createdate') return (o) => o.createdAtMs
  if (name === 'hs_object_id') return (o) => Number(o.id)
  return null
}

function toNumber(def: PropertyDef | undefined, value: string): number {
  if (def && def.type === 'number') return Number(value)
  if (def && (def.type === 'date' || def.type === 'datetime')) return parseInstant(value)
  return /^\d+$/.test(value) ? Number(value) : parseInstant(value)
}

function globToRegExp(token: string): RegExp {
  const escaped = token.toLowerCase().replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')
  return new RegExp(`^${escaped}$`)
}

function compileFilter(ts: TypeStore, f: Record<string, unknown>, valueOf: ValueOf): Pred {
  const name = f.propertyName as string
  const op = typeof f.operator === 'string' ? f.operator : 'EQ'
  const def = ts.props.get(name)
  const numeric = numericDef(def, name, ts)
  const caseSensitive = def?.type === 'enumeration'
  const get = (o: StoredObject) => valueOf(ts, o, name) ?? null
  const norm = (v: string) => (caseSensitive ? v : v.toLowerCase())
  const num = (v: string) => toNumber(def, v)

  switch (op) {
    case 'HAS_PROPERTY':
      return (o) => get(o) !== null
    case 'NOT_HAS_PROPERTY':
      return (o) => get(o) === null
    case 'IN':
    case 'NOT_IN': {
      // HubSpot lower-cases stored strings but not the values of IN: upper-case values never match
      const values = (f.values as unknown[]).map(String)
      const set = numeric ? new Set(values.map(num)) : new Set(values)
      const hit = (o: StoredObject) => {
        const v = get(o)
        if (v === null) return false
        if (def?.fieldType === 'checkbox') return v.split(';').some((p) => set.has(norm(p) as never))
        return set.has((numeric ? num(v) : norm(v)) as never)
      }
      return op === 'IN' ? hit : (o) => !hit(o)
    }
    case 'CONTAINS_TOKEN':
    case 'NOT_CONTAINS_TOKEN': {
      const re = globToRegExp(String(f.value))
      const hit = (o: StoredObject) => {
        const v = get(o)
        if (v === null) return false
        const lower = v.toLowerCase()
        if (re.test(lower)) return true
        return lower.split(/[\s,;@]+/).some((t) => t !== '' && re.test(t))
      }
      return op === 'CONTAINS_TOKEN' ? hit : (o) => !hit(o)
    }
  }

  const raw = String(f.value)
  if (numeric) {
    const target = num(raw)
    const high = op === 'BETWEEN' ? num(String(f.highValue)) : 0
    const cmp = compareBy(op, target, high)
    const system = systemNumber(ts, name)
    if (system) return (o) => cmp(system(o))
    return (o) => {
      const v = get(o)
      if (v === null) return op === 'NEQ'
      return cmp(num(v))
    }
  }
  const target = norm(raw)
  const high = op === 'BETWEEN' ? norm(String(f.highValue)) : ''
  const cmp = compareBy(op, target, high)
  const multi = def?.fieldType === 'checkbox'
  return (o) => {
    const v = get(o)
    if (v === null) return op === 'NEQ'
    if (multi && (op === 'EQ' || op === 'NEQ')) {
      const has = v.split(';').some((p) => norm(p) === target)
      return op === 'EQ' ? has : !has
    }
    return cmp(norm(v))
  }
}

function compareBy<T extends number | string>(op: string, target: T, high: T): (v: T) => boolean {
  switch (op) {
    case 'EQ': return (v) => v === target
    case 'NEQ': return (v) => v !== target
    case 'LT': return (v) => v < target
    case 'LTE': return (v) => v <= target
    case 'GT': return (v) => v > target
    case 'GTE': return (v) => v >= target
    case 'BETWEEN': return (v) => v >= target && v <= high
    default: return () => false
  }
}

function compileQuery(ts: TypeStore, query: string, valueOf: ValueOf): Pred {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean).map((w) => globToRegExp(w.endsWith('*') ? w : `${w}*`))
  const props = QUERY_PROPERTIES[ts.type]
  return (o) => words.every((re) => props.some((p) => {
    const v = valueOf(ts, o, p)
    if (!v) return false
    const lower = v.toLowerCase()
    return re.test(lower) || lower.split(/[\s,;@.]+/).some((t) => re.test(t))
  }))
}

export class SearchIndex {
  private readonly cache = new Map<string, CacheEntry>()

  constructor(private readonly ts: TypeStore, private readonly nowMs: () => number) {}

  run(req: SearchRequest, lagMs: number, valueOf: ValueOf): SearchOutcome {
    const now = this.nowMs()
    let entry = this.cache.get(req.cacheKey)
    if (!entry || entry.version !== this.ts.version || now >= entry.visibleUntilMs) {
      entry = this.compute(req, lagMs, now, valueOf)
      this.cache.delete(req.cacheKey)
      if (this.cache.size >= CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!)
    } else {
      this.cache.delete(req.cacheKey) // re-insert: most recently used last
    }
    this.cache.set(req.cacheKey, entry)
    const results = entry.matches.slice(req.offset, req.offset + req.limit)
    const end = req.offset + req.limit
    return {total: entry.matches.length, results, nextAfter: end < entry.matches.length ? String(end) : null}
  }

  /** Forgets cached results (lag changed: visibility rules changed). */
  clear(): void {
    this.cache.clear()
  }

  private compute(req: SearchRequest, lagMs: number, now: number, valueOf: ValueOf): CacheEntry {
    const ts = this.ts
    const groupPreds: Pred[] = (req.groups as Array<{filters: Array<Record<string, unknown>>}>).map((g) => {
      const preds = g.filters.map((f) => compileFilter(ts, f, valueOf))
      return (o) => preds.every((p) => p(o))
    })
    const queryPred = req.query ? compileQuery(ts, req.query, valueOf) : null
    const matches: StoredObject[] = []
    let visibleUntilMs = Number.POSITIVE_INFINITY
    const cutoff = now - lagMs
    for (const o of ts.objects.values()) {
      if (o.archived) continue
      if (groupPreds.length && !groupPreds.some((p) => p(o))) continue
      if (queryPred && !queryPred(o)) continue
      if (lagMs > 0 && o.updatedAtMs > cutoff) {
        visibleUntilMs = Math.min(visibleUntilMs, o.updatedAtMs + lagMs)
        continue
      }
      matches.push(o)
    }
    sortMatches(ts, matches, req.sort, valueOf)
    return {version: ts.version, visibleUntilMs, matches}
  }
}

function sortMatches(ts: TypeStore, matches: StoredObject[], sort: SearchRequest['sort'], valueOf: ValueOf): void {
  if (!sort) {
    matches.sort((a, b) => a.createdAtMs - b.createdAtMs || Number(a.id) - Number(b.id))
    return
  }
  const def = ts.props.get(sort.propertyName)
  const numeric = numericDef(def, sort.propertyName, ts)
  const dir = sort.descending ? -1 : 1
  const system = systemNumber(ts, sort.propertyName)
  const keyed = matches.map((o) => {
    if (system) return {o, key: system(o) as number | string | null, id: Number(o.id)}
    const v = valueOf(ts, o, sort.propertyName) ?? null
    const key: number | string | null = v === null ? null : numeric ? toNumber(def, v) : def?.type === 'enumeration' ? v : v.toLowerCase()
    return {o, key, id: Number(o.id)}
  })
  keyed.sort((a, b) => {
    // missing values sort last in both directions; equal keys fall back to id ascending
    if (a.key === null || b.key === null) {
      if (a.key === b.key) return a.id - b.id
      return a.key === null ? 1 : -1
    }
    if (a.key < b.key) return -dir
    if (a.key > b.key) return dir
    return a.id - b.id
  })
  for (let i = 0; i < keyed.length; i++) matches[i] = keyed[i]!.o
}
