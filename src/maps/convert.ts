/**
 * Value conversion between coreBOS storage form and HubSpot property values, by the types of the
 * two sides (CrmFieldMeta from vtiger_field/information_schema, PropertyDefinition from HubSpot).
 * Nothing here throws for bad data: a value converts, converts with warnings that name the field,
 * or fails with an error that names the field and the value. The round-trip contract and its
 * exceptions are LOSSY_CONVERSIONS.
 */
import type {CrmFieldMeta, PropertyDefinition} from '../sync/ports.js'
import {fitNumber, normalizeDecimal, numericColumn, parseDecimal} from './numbers.js'
import {OWNER_PROPERTY, type OwnerLookup} from './owners.js'
import {DEFAULT_LEAD_SOURCE_MAPPING} from './marketing.js'
import {buildLeadStatusMapping, lookup, type StageMapping, type ValueMapping} from './stages.js'
import {dayToMidnightIso, instantToDay, instantToNaive, isoOf, parseDay, parseInstant, parseNaive, wallClockToInstant} from './time.js'

export interface ConvertContext {
  /** IANA zone of the install's $default_timezone: coreBOS datetimes are naive in it */
  timezone: string
  /** sales_stage ↔ dealstage (buildStageMapping) */
  stageMap: StageMapping
  /** leadstatus ↔ hs_lead_status; default: buildLeadStatusMapping() with HubSpot's default options */
  leadStatusMap?: ValueMapping
  /** per coreBOS field name: explicit picklist correspondences (e.g. industry ↔ HubSpot's industry codes) */
  picklistMaps?: Record<string, {toHubSpot?: Record<string, string>; toCoreBos?: Record<string, string>}>
  /** hs_analytics_source → leadsource; default: DEFAULT_LEAD_SOURCE_MAPPING */
  leadSourceMap?: ValueMapping
  /** assigned_user_id ↔ hubspot_owner_id, by e-mail; loaded once per pass */
  owners?: OwnerLookup
  /** the coreBOS tables are utf8mb4 (default false: coreBOS creates utf8mb3 tables, 4-byte characters are replaced) */
  utf8mb4?: boolean
}

export type ToHubSpotResult = {value: string; warnings: string[]} | {error: string}
export type ToCoreBosResult = {value: string | null; warnings: string[]} | {error: string}

export type CrmKind = 'text' | 'date' | 'datetime' | 'checkbox' | 'number' | 'picklist' | 'multipicklist' | 'reference' | 'owner'
export type HubSpotKind = 'string' | 'number' | 'date' | 'datetime' | 'bool' | 'enumeration' | 'multienumeration'

/** The value family of a coreBOS field, from uitype first, typeofdata second. */
export function crmKind(field: CrmFieldMeta): CrmKind {
  const ui = field.uitype
  const dt = field.dataType.toUpperCase()
  if (ui === 5 || ui === 23 || (dt === 'D' && ui !== 70)) return 'date'
  if (ui === 70 || ui === 50 || dt === 'DT') return 'datetime'
  if (ui === 56 || dt === 'C') return 'checkbox'
  if (ui === 33 || ui === 3313 || ui === 1024) return 'multipicklist'
  if (ui === 15 || ui === 16 || ui === 1613 || ui === 1614 || ui === 1615) return 'picklist'
  if (ui === 52 || ui === 53 || ui === 77 || ui === 101) return 'owner'
  if (ui === 10 || ui === 51 || ui === 57 || ui === 58 || ui === 59 || ui === 73 || ui === 75 || ui === 76 || ui === 78 || ui === 80 || ui === 81) {
    return 'reference'
  }
  if ([7, 71, 72, 9].includes(ui) || dt === 'N' || dt === 'NN' || dt === 'I') return 'number'
  return 'text'
}

/** The value family of a HubSpot property. */
export function hubSpotKind(prop: PropertyDefinition): HubSpotKind {
  const type = prop.type.toLowerCase()
  const fieldType = prop.fieldType.toLowerCase()
  if (type === 'number') return 'number'
  if (type === 'date') return 'date'
  if (type === 'datetime') return 'datetime'
  if (type === 'bool' || fieldType === 'booleancheckbox') return 'bool'
  if (type === 'enumeration') return fieldType === 'checkbox' ? 'multienumeration' : 'enumeration'
  return 'string'
}

/** coreBOS stores multipicklists joined by this. */
export const MULTIPICKLIST_SEPARATOR = ' |##| '
const HUBSPOT_STRING_MAX = 65_536

const ok = (value: string, warnings: string[] = []) => ({value, warnings})
const fail = (error: string) => ({error})
const show = (v: string) => `'${v.length > 80 ? `${v.slice(0, 80)}…` : v}'`
const lower = (s: string) => s.trim().toLowerCase()

const TRUE = /^(1|true|yes|on)$/i
const FALSE = /^(0|false|no|off)$/i

export function optionFor(prop: PropertyDefinition, value: string): {label: string; value: string} | undefined {
  const options = prop.options ?? []
  return options.find((o) => o.value === value) ?? options.find((o) => lower(o.value) === lower(value)) ?? options.find((o) => lower(o.label) === lower(value))
}

function allowed(prop: PropertyDefinition): string {
  const options = prop.options ?? []
  const list = options.slice(0, 30).map((o) => (o.label && o.label !== o.value ? `${o.value} (${o.label})` : o.value))
  return list.join(', ') + (options.length > 30 ? `, … ${options.length - 30} more` : '')
}

function leadStatusMap(ctx: ConvertContext): ValueMapping {
  return ctx.leadStatusMap ?? (defaultLeadStatus ??= buildLeadStatusMapping())
}
let defaultLeadStatus: ValueMapping | undefined
let defaultLeadSource: ValueMapping | undefined

/** HubSpot's Original Source → coreBOS's lead source: the default correspondence with the configured overrides on top. */
export function buildLeadSourceMapping(overrides: {toCoreBos?: Record<string, string>} = {}): ValueMapping {
  return {toHubSpot: {}, toCoreBos: {...DEFAULT_LEAD_SOURCE_MAPPING, ...(overrides.toCoreBos ?? {})}, warnings: []}
}

/** The special correspondence for this pair of fields, if any (stage, lead status, configured picklist). */
function valueMapping(field: CrmFieldMeta | undefined, prop: PropertyDefinition | undefined, ctx: ConvertContext): {map: ValueMapping; what: string} | undefined {
  if (field && ctx.picklistMaps?.[field.name]) {
    const m = ctx.picklistMaps[field.name]
    return {map: {toHubSpot: m.toHubSpot ?? {}, toCoreBos: m.toCoreBos ?? {}, warnings: []}, what: `the configured ${field.name} correspondence`}
  }
  if (prop?.name === 'dealstage') return {map: ctx.stageMap, what: `the stages of deal pipeline ${ctx.stageMap.pipelineId}`}
  if (prop?.name === 'hs_lead_status' && (!field || field.name === 'leadstatus')) return {map: leadStatusMap(ctx), what: 'the lead status correspondence'}
  if (prop?.name === 'hs_analytics_source' && field?.name === 'leadsource') return {map: ctx.leadSourceMap ?? (defaultLeadSource ??= buildLeadSourceMapping()), what: 'the lead source correspondence (sync.leadSourceMapping)'}
  return undefined
}

// ---------------------------------------------------------------------------------------------
// coreBOS → HubSpot
// ---------------------------------------------------------------------------------------------

/**
 * A coreBOS value (storage form, as read from the database) → a HubSpot property value. `field`
 * is the coreBOS field the value was copied from (undefined for composite values: CONST, TEMPLATE,
 * several Orgfields); `prop` the destination property (undefined = unknown, sent as text).
 * Empty and NULL become '' (which clears the property in HubSpot).
 */
export function toHubSpot(value: string | null, field: CrmFieldMeta | undefined, prop: PropertyDefinition | undefined, ctx: ConvertContext): ToHubSpotResult {
  const name = prop?.name ?? field?.name ?? 'value'
  if (value === null || value === '') return ok('')
  const warnings: string[] = []
  const fk = field ? crmKind(field) : 'text'
  const hk = prop ? hubSpotKind(prop) : 'string'

  const special = valueMapping(field, prop, ctx)
  if (special) {
    if (value === '--None--') return ok('')
    const mapped = lookup(special.map.toHubSpot, value)
    if (mapped !== undefined) return ok(mapped)
    // a value outside the correspondence may still be spelled like an option (custom stages)
    const direct = prop?.name === 'dealstage' ? ctx.stageMap.stages.find((s) => s.id === value || lower(s.label) === lower(value))?.id : prop && optionFor(prop, value)?.value
    if (direct !== undefined) return ok(direct)
    return fail(`${name}: ${show(value)} has no counterpart in ${special.what} (known: ${Object.keys(special.map.toHubSpot).join(', ') || 'none'})`)
  }

  let text = value
  switch (fk) {
    case 'date': {
      if (/^0000-00-00/.test(value)) return ok('', [`${field!.name}: '${value}' is coreBOS's empty date; sent as empty`])
      const day = parseDay(value.slice(0, 10))
      if (!day || (value.length > 10 && !/^\d{4}-\d{2}-\d{2} 00:00:00$/.test(value))) return fail(`${field!.name}: ${show(value)} is not a valid date`)
      const d = value.slice(0, 10)
      if (hk === 'date') return ok(d)
      if (hk === 'datetime') return ok(dayToMidnightIso(d))
      if (hk === 'string' || hk === 'enumeration') break
      return fail(`${name}: a date cannot be written to a ${prop!.type} property`)
    }
    case 'datetime': {
      if (/^0000-00-00/.test(value)) return ok('', [`${field!.name}: '${value}' is coreBOS's empty datetime; sent as empty`])
      const w = parseNaive(value)
      if (!w) return fail(`${field!.name}: ${show(value)} is not a valid date and time`)
      const resolved = wallClockToInstant(w, ctx.timezone)
      if (resolved.skipped) warnings.push(`${field!.name}: ${value} does not exist in ${ctx.timezone} (daylight-saving gap); read as ${instantToNaive(resolved.ms, ctx.timezone)}`)
      if (hk === 'datetime') return ok(isoOf(resolved.ms), warnings)
      if (hk === 'date') return ok(value.slice(0, 10), [...warnings, `${name}: the time of day of ${field!.name} is dropped (date property)`])
      if (hk === 'string') break
      return fail(`${name}: a date and time cannot be written to a ${prop!.type} property`)
    }
    case 'checkbox': {
      const b = TRUE.test(value.trim()) ? true : FALSE.test(value.trim()) ? false : undefined
      if (b === undefined) return fail(`${field!.name}: ${show(value)} is not a checkbox value (1 or 0)`)
      if (hk === 'bool' || hk === 'enumeration') return ok(b ? 'true' : 'false')
      if (hk === 'string') return ok(b ? '1' : '0')
      return fail(`${name}: a checkbox cannot be written to a ${prop!.type} property`)
    }
    case 'number': {
      const n = normalizeDecimal(value)
      if (n === null) return fail(`${field!.name}: ${show(value)} is not a number`)
      if (hk === 'number' || hk === 'string') return ok(n)
      return fail(`${name}: a number cannot be written to a ${prop!.type} property`)
    }
    case 'multipicklist': {
      const parts = splitMulti(value)
      if (hk === 'multienumeration' || hk === 'enumeration') {
        const out: string[] = []
        for (const part of parts) {
          const o = optionFor(prop!, part)
          if (!o) return fail(`${name}: ${show(part)} (from ${field!.name}) is not an option; allowed: ${allowed(prop!)}`)
          out.push(o.value)
        }
        if (hk === 'enumeration' && out.length > 1) return fail(`${name}: ${field!.name} holds several values but ${name} takes one`)
        return ok(out.join(';'))
      }
      if (hk === 'string') return ok(parts.join(';'))
      return fail(`${name}: a multi-select picklist cannot be written to a ${prop!.type} property`)
    }
    case 'picklist':
      if (value === '--None--') return ok('')
      break
    case 'owner':
    case 'reference':
      if (fk === 'owner' && prop?.name === OWNER_PROPERTY) return ownerToHubSpot(value, ctx)
      // the raw value is a crmid or user id, meaningless in HubSpot; associations and owners are cbhs's job
      if (hk !== 'string' && hk !== 'number') return fail(`${name}: ${field!.name} holds a coreBOS record or user id`)
      return ok(value)
    case 'text':
      break
  }

  // text-like values into whatever the property is
  switch (hk) {
    case 'string': {
      if (text.includes('\0')) {
        text = text.replace(/\0/g, '')
        warnings.push(`${name}: NUL characters removed`)
      }
      if (text.length > HUBSPOT_STRING_MAX) {
        text = truncateChars(text, HUBSPOT_STRING_MAX)
        warnings.push(`${name}: truncated to ${HUBSPOT_STRING_MAX} characters (HubSpot's limit for text)`)
      }
      return ok(text, warnings)
    }
    case 'number': {
      const n = normalizeDecimal(text)
      return n === null ? fail(`${name}: ${show(text)} is not a number`) : ok(n)
    }
    case 'bool': {
      if (TRUE.test(text.trim())) return ok('true')
      if (FALSE.test(text.trim())) return ok('false')
      return fail(`${name}: ${show(text)} is not a yes/no value`)
    }
    case 'date': {
      if (parseDay(text)) return ok(text)
      return fail(`${name}: ${show(text)} is not a date (YYYY-MM-DD)`)
    }
    case 'datetime': {
      const ms = parseInstant(text)
      return ms === null ? fail(`${name}: ${show(text)} is not an ISO 8601 date and time`) : ok(isoOf(ms))
    }
    case 'enumeration':
    case 'multienumeration': {
      const parts = hk === 'multienumeration' ? text.split(';').filter((p) => p.trim() !== '') : [text]
      const out: string[] = []
      for (const part of parts) {
        const o = optionFor(prop!, part)
        if (!o) return fail(`${name}: ${show(part)}${field ? ` (from ${field.name})` : ''} is not an option; allowed: ${allowed(prop!)}`)
        out.push(o.value)
      }
      return ok(out.join(';'))
    }
  }
}

// ---------------------------------------------------------------------------------------------
// HubSpot → coreBOS
// ---------------------------------------------------------------------------------------------

/**
 * A HubSpot property value → coreBOS storage form for `field` (what CreateInput/update take).
 * Empty becomes NULL for dates, datetimes and numbers, '0' for checkboxes, '' otherwise.
 * `current` is the record's present value of the field: where several coreBOS values share one
 * HubSpot value (sales stages, lead statuses), a current value that already corresponds is kept,
 * so an unchanged HubSpot stage never rewinds a coreBOS stage. Text is made storable: NUL removed,
 * 4-byte characters replaced by U+FFFD on utf8mb3, cut to the column; each with a warning.
 */
export function toCoreBos(
  value: string | null,
  prop: PropertyDefinition | undefined,
  field: CrmFieldMeta | undefined,
  ctx: ConvertContext,
  current?: string | null,
): ToCoreBosResult {
  const name = field?.name ?? prop?.name ?? 'value'
  const fk = field ? crmKind(field) : 'text'
  const hk = prop ? hubSpotKind(prop) : 'string'
  // coreBOS always has an owner: a HubSpot object without one keeps the record's (a new record gets the default user)
  if (fk === 'owner' && prop?.name === OWNER_PROPERTY) return value || !current ? ownerToCoreBos(value ?? '', ctx) : ok(current)
  if (value === null || value === '') {
    if (fk === 'date' || fk === 'datetime' || fk === 'number' || fk === 'reference') return {value: null, warnings: []}
    if (fk === 'checkbox') return ok('0')
    return ok('')
  }
  const warnings: string[] = []

  const special = valueMapping(field, prop, ctx)
  if (special) {
    const mapped = lookup(special.map.toCoreBos, value)
    if (mapped !== undefined) {
      if (current && current !== mapped && lookup(special.map.toHubSpot, current) === lookup(special.map.toHubSpot, mapped)) return ok(current)
      return ok(mapped)
    }
    const label = prop?.name === 'dealstage' ? ctx.stageMap.stages.find((s) => s.id === value)?.label : undefined
    const viaPicklist = field?.picklistValues?.find((v) => lower(v) === lower(value) || (label !== undefined && lower(v) === lower(label)))
    if (viaPicklist !== undefined) return ok(viaPicklist)
    // a source HubSpot added after this correspondence is no reason to refuse the record
    if (prop?.name === 'hs_analytics_source') return ok('', [`HubSpot source ${show(value)} has no counterpart in ${special.what}; left empty`])
    return fail(`${name}: HubSpot value ${show(value)}${label ? ` ("${label}")` : ''} has no counterpart in ${special.what}`)
  }

  switch (fk) {
    case 'date': {
      if (hk === 'date' || hk === 'string' || hk === 'enumeration') {
        const d = value.length > 10 && /^\d{4}-\d{2}-\d{2}T00:00:00(\.0+)?Z$/.test(value) ? value.slice(0, 10) : value
        if (parseDay(d)) return inDateRange(name, d) ?? ok(d)
        if (hk !== 'date' && parseInstant(value) === null) return fail(`${name}: ${show(value)} is not a valid date`)
      }
      const ms = parseInstant(value)
      if (ms === null) return fail(`${name}: ${show(value)} is not a valid date`)
      // midnight UTC is how cbhs (and most API writers) send a day: keep that day, so date → datetime
      // → date round-trips in every zone; any other instant was entered by a person: take the day in
      // the install's timezone, where the business lives
      const day = ms % 86_400_000 === 0 ? isoOf(ms).slice(0, 10) : instantToDay(ms, ctx.timezone)
      if (ms % 86_400_000 !== 0) warnings.push(`${name}: the time of day of ${show(value)} is dropped (date field; day taken in ${ctx.timezone})`)
      return inDateRange(name, day) ?? ok(day, warnings)
    }
    case 'datetime': {
      const naive = parseNaive(value)
      if (naive && hk === 'string') return ok(value.length === 16 ? `${value}:00` : value)
      const ms = parseInstant(value)
      if (ms === null) return fail(`${name}: ${show(value)} is not a valid date and time`)
      if (ms % 1000 !== 0) warnings.push(`${name}: sub-second part of ${show(value)} dropped`)
      const local = instantToNaive(ms, ctx.timezone)
      return inDateRange(name, local.slice(0, 10)) ?? ok(local, warnings)
    }
    case 'checkbox': {
      if (TRUE.test(value.trim())) return ok('1')
      if (FALSE.test(value.trim())) return ok('0')
      return fail(`${name}: ${show(value)} is not a yes/no value`)
    }
    case 'number': {
      const d = parseDecimal(value)
      if (!d) return fail(`${name}: ${show(value)} is not a number`)
      const fitted = fitNumber(d, numericColumn(field!.sqlType, field!.table, field!.column))
      if ('error' in fitted) return fail(`${name}: ${show(value)} ${fitted.error}`)
      if (fitted.rounded) warnings.push(`${name}: ${show(value)} ${fitted.rounded}`)
      return ok(fitted.value, warnings)
    }
    case 'multipicklist': {
      const parts = hk === 'string' && value.includes(MULTIPICKLIST_SEPARATOR.trim()) ? splitMulti(value) : value.split(';').map((p) => p.trim()).filter((p) => p !== '')
      const out: string[] = []
      for (const part of parts) {
        const r = picklistValue(part, prop, field!)
        if ('error' in r) return r
        if (!out.includes(r.value)) out.push(r.value)
      }
      return storable(out.join(MULTIPICKLIST_SEPARATOR), field, ctx)
    }
    case 'picklist': {
      const r = picklistValue(value, prop, field!)
      if ('error' in r) return r
      return storable(r.value, field, ctx)
    }
    case 'reference':
    case 'owner':
      return fail(`${name}: a HubSpot value cannot be stored in a ${fk === 'owner' ? 'user' : 'record'} reference (cbhs sets ${name} itself)`)
    case 'text': {
      let text = value
      if (hk === 'bool') text = TRUE.test(value) ? '1' : FALSE.test(value) ? '0' : value
      return storable(text, field, ctx)
    }
  }
}

function ownerToHubSpot(crmOwnerId: string, ctx: ConvertContext): ToHubSpotResult {
  if (!ctx.owners) return fail(`${OWNER_PROPERTY}: the owners were not loaded`)
  const r = ctx.owners.toHubSpot(crmOwnerId)
  return ok(r.value, r.warning ? [r.warning] : [])
}

function ownerToCoreBos(ownerId: string, ctx: ConvertContext): ToCoreBosResult {
  if (!ctx.owners) return fail(`assigned_user_id: the owners were not loaded`)
  const r = ctx.owners.toCoreBos(ownerId)
  return ok(r.value, r.warning ? [r.warning] : [])
}

// MySQL and MariaDB document 1000-01-01 as the first "supported" date but store every year from 1 on
// (strict mode too), and coreBOS data holds such dates: a value cbhs pushed must be able to come back
function inDateRange(name: string, day: string): {error: string} | undefined {
  const y = Number(day.slice(0, 4))
  return y < 1 || y > 9999 ? fail(`${name}: ${day} is outside the dates MySQL stores (0001-01-01 … 9999-12-31)`) : undefined
}

function splitMulti(value: string): string[] {
  return value
    .split('|##|')
    .map((p) => p.trim())
    .filter((p) => p !== '')
}

/** A HubSpot option (or free text) → the coreBOS picklist value, as coreBOS spells it. */
function picklistValue(value: string, prop: PropertyDefinition | undefined, field: CrmFieldMeta): {value: string} | {error: string} {
  const option = prop ? optionFor(prop, value) : undefined
  const candidates = [value, option?.label, option?.value].filter((c): c is string => c !== undefined && c !== '')
  const list = field.picklistValues
  if (!list || list.length === 0) return {value: option?.label ?? value}
  for (const c of candidates) {
    const hit = list.find((v) => v === c) ?? list.find((v) => lower(v) === lower(c))
    if (hit !== undefined) return {value: hit}
  }
  const shown = list.filter((v) => v !== '--None--')
  return fail(`${field.name}: ${show(value)}${option && option.label !== value ? ` ("${option.label}")` : ''} is not a value of the picklist; allowed: ${shown.slice(0, 30).join(', ')}${shown.length > 30 ? ', …' : ''}`)
}

function truncateChars(text: string, max: number): string {
  const chars = Array.from(text)
  return chars.length <= max ? text : chars.slice(0, max).join('')
}

function truncateBytes(text: string, maxBytes: number): string {
  let bytes = 0
  let out = ''
  for (const ch of text) {
    const size = Buffer.byteLength(ch, 'utf8')
    if (bytes + size > maxBytes) break
    bytes += size
    out += ch
  }
  return out
}

const TEXT_BYTES: Record<string, number> = {tinytext: 255, text: 65_535, mediumtext: 16_777_215}

/** Makes a string storable in the field's column, with a warning for every change. */
export function storable(value: string, field: CrmFieldMeta | undefined, ctx: Pick<ConvertContext, 'utf8mb4'>): {value: string; warnings: string[]} {
  const name = field?.name ?? 'value'
  const warnings: string[] = []
  let text = value
  if (text.includes('\0')) {
    text = text.replace(/\0/g, '')
    warnings.push(`${name}: NUL characters removed`)
  }
  if (!ctx.utf8mb4 && /[\u{10000}-\u{10FFFF}]/u.test(text)) {
    const count = (text.match(/[\u{10000}-\u{10FFFF}]/gu) ?? []).length
    text = text.replace(/[\u{10000}-\u{10FFFF}]/gu, '\uFFFD')
    warnings.push(`${name}: ${count} character(s) outside the Basic Multilingual Plane (emoji…) replaced by U+FFFD: the column is utf8mb3`)
  }
  // a lone surrogate cannot be encoded at all
  if (/[\uD800-\uDFFF]/.test(text.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ''))) {
    text = text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')
    warnings.push(`${name}: invalid UTF-16 replaced by U+FFFD`)
  }
  if (field?.maxLength && field.maxLength > 0) {
    const length = Array.from(text).length
    if (length > field.maxLength) {
      text = truncateChars(text, field.maxLength)
      warnings.push(`${name}: truncated to ${field.maxLength} characters (was ${length}), the length of ${field.table}.${field.column}`)
    }
  } else if (field && TEXT_BYTES[field.sqlType.toLowerCase()]) {
    const max = TEXT_BYTES[field.sqlType.toLowerCase()]
    const bytes = Buffer.byteLength(text, 'utf8')
    if (bytes > max) {
      text = truncateBytes(text, max)
      warnings.push(`${name}: truncated to ${max} bytes (was ${bytes}), the size of ${field.sqlType} column ${field.table}.${field.column}`)
    }
  }
  return {value: text, warnings}
}

// ---------------------------------------------------------------------------------------------
// comparison forms
// ---------------------------------------------------------------------------------------------

/**
 * The comparison form of a coreBOS value: what the three-way merge and round-trip checks compare,
 * so that '1500.000000' equals '1500', NULL equals '', '0000-00-00' is empty and a NULL checkbox is '0'.
 */
export function normalizeCrmValue(value: string | null | undefined, field: CrmFieldMeta | undefined): string {
  if (value === null || value === undefined) return field && crmKind(field) === 'checkbox' ? '0' : ''
  if (!field) return value
  switch (crmKind(field)) {
    case 'date':
      return /^0000-00-00/.test(value) ? '' : value.slice(0, 10)
    case 'datetime':
      return /^0000-00-00/.test(value) ? '' : value.length === 16 ? `${value}:00` : value
    case 'number':
      return value === '' ? '' : (normalizeDecimal(value) ?? value)
    case 'checkbox':
      return TRUE.test(value.trim()) ? '1' : '0'
    case 'multipicklist':
      return splitMulti(value).join(MULTIPICKLIST_SEPARATOR)
    case 'picklist':
      return value === '--None--' ? '' : value
    default:
      return value
  }
}

/** The comparison form of a HubSpot value (ISO instants with milliseconds, canonical numbers, '' for null). */
export function normalizeHubSpotValue(value: string | null | undefined, prop: PropertyDefinition | undefined): string {
  if (value === null || value === undefined || value === '') return ''
  if (!prop) return value
  switch (hubSpotKind(prop)) {
    case 'number':
      return normalizeDecimal(value) ?? value
    case 'datetime': {
      const ms = parseInstant(value)
      return ms === null ? value : isoOf(ms)
    }
    case 'date': {
      const ms = parseDay(value) ? null : parseInstant(value)
      return ms === null ? value : isoOf(ms).slice(0, 10)
    }
    case 'bool':
      return TRUE.test(value) ? 'true' : FALSE.test(value) ? 'false' : value
    default:
      return value
  }
}
