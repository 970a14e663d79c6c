/**
 * What a HubSpot answer must look like before the engine may believe it (DESIGN §5.15). Every
 * reader hands the transport one of these checks with its request; an answer that fails it stops
 * the pass with exit 4 naming the endpoint (transport.ts), so nothing it says reaches coreBOS or a
 * watermark. The checks are HubSpot's documented shapes, not the emulator's: ids are strings of
 * digits, a page names each object once, a cursor leads somewhere new, a total is at least what
 * the page holds.
 *
 * Loop guards live here too (CursorGuard): a listing whose cursor repeats, or that runs to an
 * absurd number of pages, is a bad answer, not a reason to keep asking.
 */
import type {HubSpotObject} from '../sync/types.js'

/** An answer that is readable JSON but not what HubSpot documents: never retried. */
export class BadAnswerError extends Error {
  constructor(readonly reason: string) {
    super(reason)
    this.name = 'BadAnswerError'
  }
}

/** Turns the parsed body into what the reader works with, or throws BadAnswerError. */
export type AnswerCheck<T> = (data: unknown) => T

type Json = Record<string, unknown>

/** HubSpot object ids are 64-bit integers sent as strings of digits. */
const ID = /^[0-9]{1,20}$/
/** HubSpot gives at most 100 objects a list page, 200 a search page, 1,000 association rows: far more is not HubSpot */
const MAX_RESULTS = 10_000
/** a million objects of 100 a page; a listing longer than that is a cursor going round */
export const MAX_LIST_PAGES = 100_000
/** association rows page per object; an object with more rounds than this is a cursor going round */
export const MAX_ASSOCIATION_ROUNDS = 1_000

function bad(reason: string): never {
  throw new BadAnswerError(reason)
}

function show(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : value === undefined ? 'nothing' : JSON.stringify(value) ?? String(value)
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}

function record(value: unknown, where: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) bad(`${where} is ${show(value)}, not an object`)
  return value as Json
}

function list(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) bad(`${where} is ${show(value)}, not a list`)
  if (value.length > MAX_RESULTS) bad(`${where} holds ${value.length} entries`)
  return value
}

function optionalList(value: unknown, where: string): unknown[] {
  return value === undefined || value === null ? [] : list(value, where)
}

function text(value: unknown, where: string): string {
  if (typeof value !== 'string' || value === '') bad(`${where} is ${show(value)}, not a non-empty string`)
  return value
}

/** An object id: digits, as a string or (in association answers) a number. */
export function objectId(value: unknown, where: string): string {
  const id = typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? String(value) : value
  if (typeof id !== 'string' || !ID.test(id)) bad(`${where} ${show(value)} is not made of digits`)
  return id
}

function properties(value: unknown, where: string): Record<string, string | null> {
  const props = record(value ?? {}, where)
  for (const [name, v] of Object.entries(props)) {
    if (v !== null && typeof v !== 'string') bad(`${where}.${name} is ${show(v)}, not a string`)
  }
  return props as Record<string, string | null>
}

function optionalString(value: unknown, where: string): string | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string') bad(`${where} is ${show(value)}, not a string`)
  return value
}

/** An object as the engine gets it, plus what batch and list answers add to it. */
export interface CheckedObject extends Omit<HubSpotObject, 'associations'> {
  objectWriteTraceId?: string
  new?: boolean
  /** a list's inline associations by the key HubSpot names them with; `more`: they page on */
  associations?: Record<string, {ids: string[]; more: boolean}>
}

/** `associations` of SimplePublicObjectWithAssociations: per type a CollectionResponseAssociatedId. */
function inlineAssociations(value: unknown, where: string): Record<string, {ids: string[]; more: boolean}> {
  const out: Record<string, {ids: string[]; more: boolean}> = {}
  for (const [type, raw] of Object.entries(record(value, where))) {
    const collection = record(raw, `${where}.${type}`)
    const ids = list(collection.results, `${where}.${type}.results`).map((r, i) => objectId(record(r, `${where}.${type}.results[${i}]`).id, `${where}.${type}.results[${i}].id`))
    // one id shows once per association type (primary and unlabelled): the set is what counts
    out[type] = {ids: [...new Set(ids)], more: nextCursor(collection.paging) !== undefined}
  }
  return out
}

function crmObject(value: unknown, where: string): CheckedObject {
  const raw = record(value, where)
  const out: CheckedObject = {id: objectId(raw.id, `${where}.id`), properties: properties(raw.properties, `${where}.properties`)}
  for (const key of ['createdAt', 'updatedAt', 'archivedAt', 'objectWriteTraceId'] as const) {
    const v = optionalString(raw[key], `${where}.${key}`)
    if (v !== undefined) out[key] = v
  }
  if (raw.archived !== undefined) out.archived = raw.archived === true
  if (raw.new !== undefined) out.new = raw.new === true
  if (raw.associations !== undefined && raw.associations !== null) out.associations = inlineAssociations(raw.associations, `${where}.associations`)
  return out
}

function objects(value: unknown, where: string, {unique}: {unique: boolean}): CheckedObject[] {
  const out = list(value, where).map((o, i) => crmObject(o, `${where}[${i}]`))
  if (unique) {
    const seen = new Set<string>()
    for (const o of out) {
      if (seen.has(o.id)) bad(`the page lists object ${o.id} twice`)
      seen.add(o.id)
    }
  }
  return out
}

function nextCursor(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined
  const paging = record(value, 'paging')
  if (paging.next === undefined || paging.next === null) return undefined
  const next = record(paging.next, 'paging.next')
  return text(next.after, 'paging.next.after')
}

export interface CheckedPage {
  results: CheckedObject[]
  next?: string
  total?: number
}

/** GET /crm/objects/{version}/{type}: a page of distinct objects and perhaps a cursor. */
export const objectPage: AnswerCheck<CheckedPage> = (data) => {
  const body = record(data, 'the answer')
  return {results: objects(body.results, 'results', {unique: true}), next: nextCursor(body.paging)}
}

/** POST …/search: a list page plus a total no smaller than the page. */
export const searchPage: AnswerCheck<CheckedPage> = (data) => {
  const page = objectPage(data)
  const total = (data as Json).total
  if (total !== undefined) {
    if (typeof total !== 'number' || !Number.isInteger(total) || total < 0) bad(`total is ${show(total)}, not a count`)
    if (total < page.results.length) bad(`total ${total} is smaller than the ${page.results.length} results listed`)
    page.total = total
  }
  return page
}

export interface StandardError {
  status?: string | number
  category?: string
  message?: string
  context?: Record<string, unknown>
  errors?: Array<{message?: string; code?: string; context?: Record<string, unknown>}>
}

function standardErrors(value: unknown): StandardError[] {
  return optionalList(value, 'errors').map((e, i) => record(e, `errors[${i}]`) as StandardError)
}

export interface CheckedBatch {
  results: CheckedObject[]
  errors: StandardError[]
}

/**
 * Batch read, update and upsert: objects with digit ids. An id may come back twice (two requested
 * ids merged into one survivor), so only the shape is checked; the gateway maps results to inputs.
 */
export const objectBatch: AnswerCheck<CheckedBatch> = (data) => {
  const body = record(data, 'the answer')
  return {results: objects(body.results, 'results', {unique: false}), errors: standardErrors(body.errors)}
}

/** A 204 or any body: archive calls answer nothing the engine uses. */
export const anything: AnswerCheck<unknown> = (data) => data

export interface CheckedAssociationRow {
  fromId: string
  toIds: string[]
  after?: string
}

export interface CheckedAssociationPage {
  rows: CheckedAssociationRow[]
}

/** POST /crm/associations/{version}/{from}/{to}/batch/read: one row per object, each id once. */
export const associationPage: AnswerCheck<CheckedAssociationPage> = (data) => {
  const body = record(data, 'the answer')
  const seen = new Set<string>()
  const rows = optionalList(body.results, 'results').map((r, i) => {
    const row = record(r, `results[${i}]`)
    const fromId = objectId(record(row.from, `results[${i}].from`).id, `results[${i}].from.id`)
    if (seen.has(fromId)) bad(`the page lists object ${fromId} twice`)
    seen.add(fromId)
    const toIds = optionalList(row.to, `results[${i}].to`).map((t, j) => objectId(record(t, `results[${i}].to[${j}]`).toObjectId, `results[${i}].to[${j}].toObjectId`))
    return {fromId, toIds, after: nextCursor(row.paging)}
  })
  standardErrors(body.errors)
  return {rows}
}

/** POST …/batch/create of associations: the pairs made, by digit ids. */
export const associationsCreated: AnswerCheck<{made: Array<{fromId: string; toId: string}>; errors: StandardError[]}> = (data) => {
  const body = record(data, 'the answer')
  const made = optionalList(body.results, 'results').map((r, i) => {
    const row = record(r, `results[${i}]`)
    return {fromId: objectId(row.fromObjectId, `results[${i}].fromObjectId`), toId: objectId(row.toObjectId, `results[${i}].toObjectId`)}
  })
  return {made, errors: standardErrors(body.errors)}
}

export interface CheckedProperty {
  name: string
  label: string
  type: string
  fieldType: string
  groupName?: string
  hasUniqueValue?: boolean
  hubspotDefined?: boolean
  calculated?: boolean
  archived?: boolean
  modificationMetadata?: {readOnlyValue?: boolean}
  options?: Array<{label: string; value: string}>
}

function property(value: unknown, where: string): CheckedProperty {
  const raw = record(value, where)
  const out = raw as unknown as CheckedProperty
  for (const key of ['name', 'type', 'fieldType'] as const) text(raw[key], `${where}.${key}`)
  if (typeof raw.label !== 'string') bad(`${where}.label is ${show(raw.label)}, not a string`)
  out.options = optionalList(raw.options, `${where}.options`).map((o, i) => {
    const option = record(o, `${where}.options[${i}]`)
    if (typeof option.value !== 'string' || typeof option.label !== 'string') bad(`${where}.options[${i}] has no label and value`)
    return {label: option.label, value: option.value}
  })
  return out
}

/** GET /crm/properties/{version}/{type}: named properties, each once. */
export const propertyList: AnswerCheck<CheckedProperty[]> = (data) => {
  const body = record(data, 'the answer')
  const out = list(body.results, 'results').map((p, i) => property(p, `results[${i}]`))
  const names = new Set<string>()
  for (const p of out) {
    if (names.has(p.name)) bad(`property ${p.name} is listed twice`)
    names.add(p.name)
  }
  return out
}

/** POST /crm/properties/{version}/{type}: the property made. */
export const propertyMade: AnswerCheck<CheckedProperty> = (data) => property(data, 'the answer')

export interface CheckedGroup {
  name: string
  label: string
  displayOrder?: number
}

function group(value: unknown, where: string): CheckedGroup {
  const raw = record(value, where)
  const out: CheckedGroup = {name: text(raw.name, `${where}.name`), label: typeof raw.label === 'string' ? raw.label : ''}
  if (typeof raw.displayOrder === 'number') out.displayOrder = raw.displayOrder
  return out
}

export const groupList: AnswerCheck<CheckedGroup[]> = (data) => list(record(data, 'the answer').results, 'results').map((g, i) => group(g, `results[${i}]`))

export const groupMade: AnswerCheck<CheckedGroup> = (data) => group(data, 'the answer')

export interface CheckedPipeline {
  id: string
  label: string
  stages: Array<{id: string; label: string; displayOrder: number; metadata: Record<string, unknown>}>
}

/** GET /crm/pipelines/{version}/deals: pipelines and stages with ids (not digits: 'default', 'closedwon'). */
export const pipelineList: AnswerCheck<CheckedPipeline[]> = (data) => {
  const body = record(data, 'the answer')
  const ids = new Set<string>()
  return list(body.results, 'results').map((p, i) => {
    const raw = record(p, `results[${i}]`)
    const id = text(raw.id, `results[${i}].id`)
    if (ids.has(id)) bad(`pipeline ${id} is listed twice`)
    ids.add(id)
    const stageIds = new Set<string>()
    const stages = list(raw.stages, `results[${i}].stages`).map((s, j) => {
      const where = `results[${i}].stages[${j}]`
      const stage = record(s, where)
      const stageId = text(stage.id, `${where}.id`)
      if (stageIds.has(stageId)) bad(`stage ${stageId} of pipeline ${id} is listed twice`)
      stageIds.add(stageId)
      const displayOrder = stage.displayOrder
      if (typeof displayOrder !== 'number' || !Number.isFinite(displayOrder)) bad(`${where}.displayOrder is ${show(displayOrder)}, not a number`)
      return {id: stageId, label: typeof stage.label === 'string' ? stage.label : stageId, displayOrder, metadata: record(stage.metadata ?? {}, `${where}.metadata`)}
    })
    return {id, label: typeof raw.label === 'string' ? raw.label : id, stages}
  })
}

/** GET /account-info/{version}/details: the portal id (digits) and perhaps its zone. */
export const accountDetails: AnswerCheck<{portalId: string; timeZone?: string}> = (data) => {
  const body = record(data, 'the answer')
  const portalId = objectId(body.portalId, 'portalId')
  const timeZone = optionalString(body.timeZone, 'timeZone')
  return timeZone ? {portalId, timeZone} : {portalId}
}

export interface CheckedOwnerPage {
  owners: Array<{id: string; email: string; archived: boolean}>
  next?: string
}

/** GET /crm/owners/{version}: owners with digit ids, each once, and perhaps a cursor. */
export const ownerPage: AnswerCheck<CheckedOwnerPage> = (data) => {
  const body = record(data, 'the answer')
  const seen = new Set<string>()
  const owners = list(body.results, 'results').map((o, i) => {
    const raw = record(o, `results[${i}]`)
    const id = objectId(raw.id, `results[${i}].id`)
    if (seen.has(id)) bad(`the page lists owner ${id} twice`)
    seen.add(id)
    return {id, email: (optionalString(raw.email, `results[${i}].email`) ?? '').toLowerCase(), archived: raw.archived === true}
  })
  const next = nextCursor(body.paging)
  return next === undefined ? {owners} : {owners, next}
}

/**
 * One listing's cursors: each must be new (a cursor seen before, or the one just sent, leads round
 * in a circle) and the listing must end within `maxPages`.
 */
export class CursorGuard {
  private readonly seen = new Set<string>()
  private pages = 0

  constructor(
    private readonly maxPages: number,
    start?: string,
  ) {
    if (start) this.seen.add(start)
  }

  /** Takes the cursor a page hands out; throws when it does not advance. */
  advance(next: string | undefined): void {
    this.pages++
    if (this.pages > this.maxPages) bad(`the listing did not end after ${this.maxPages} pages`)
    if (next === undefined) return
    if (this.seen.has(next)) bad(`the paging cursor ${show(next)} repeats: the listing would go round forever`)
    this.seen.add(next)
  }
}
