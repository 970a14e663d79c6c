import type {PropertyProblem} from './errors.js'
import type {PropertyDef} from './schema.js'

export const MAX_STRING_LENGTH = 65_536
const DAY_MS = 86_400_000

export type Normalized = {ok: true; value: string | null} | {ok: false; problem: PropertyProblem}

const EMAIL = /^[^\s@"(),:;<>[\\\]]+@[^\s@"(),:;<>[\\\]]+\.[a-z]{2,}$/i
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/
const YMD = /^(\d{4})-(\d{2})-(\d{2})$/
const DIGITS = /^-?\d+$/

export function isValidEmail(value: string): boolean {
  return EMAIL.test(value) && !value.includes('..')
}

function bad(def: PropertyDef, error: string, message: string): Normalized {
  return {ok: false, problem: {name: def.name, error, message}}
}

/** Parses epoch ms or ISO 8601 into epoch ms; NaN when neither. */
export function parseInstant(value: string): number {
  if (DIGITS.test(value)) return Number(value)
  const ymd = YMD.exec(value)
  if (ymd) return Date.UTC(Number(ymd[1]), Number(ymd[2]) - 1, Number(ymd[3]))
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value)) return Number.NaN
  return Date.parse(value)
}

function validYmd(value: string): boolean {
  const m = YMD.exec(value)
  if (!m) return false
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])))
  return d.getUTCFullYear() === Number(m[1]) && d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3])
}

/**
 * Validates one written value and returns the form HubSpot stores and later returns: every value a
 * string, dates as YYYY-MM-DD, datetimes as ISO with milliseconds, e-mails lower-cased, null for "clear".
 */
export function normalizeValue(def: PropertyDef, raw: unknown): Normalized {
  if (raw === null || raw === undefined) return {ok: true, value: null}
  if (typeof raw === 'object') return bad(def, 'INVALID_TYPE', `Property "${def.name}" must be a string, not ${Array.isArray(raw) ? 'an array' : 'an object'}`)
  const value = String(raw)
  if (value === '') return {ok: true, value: null}
  if (value.length > MAX_STRING_LENGTH) {
    return bad(def, 'VALUE_TOO_LONG', `Property value for ${def.name} is too long: ${value.length} characters, the limit is ${MAX_STRING_LENGTH}`)
  }
  switch (def.type) {
    case 'number': {
      const v = value.trim()
      if (!NUMBER.test(v) || !Number.isFinite(Number(v))) return bad(def, 'INVALID_NUMBER', `${value} is not a valid number.`)
      return {ok: true, value: v}
    }
    case 'bool': {
      const v = value.trim().toLowerCase()
      if (v !== 'true' && v !== 'false') return bad(def, 'INVALID_BOOLEAN', `${value} is not a valid boolean; use true or false.`)
      return {ok: true, value: v}
    }
    case 'date': {
      if (YMD.test(value)) {
        return validYmd(value) ? {ok: true, value} : bad(def, 'INVALID_DATE', `${value} is not a valid date.`)
      }
      const ms = parseInstant(value)
      if (!Number.isFinite(ms)) return bad(def, 'INVALID_DATE', `${value} is not a valid date; use YYYY-MM-DD or epoch milliseconds at midnight UTC.`)
      const rest = ((ms % DAY_MS) + DAY_MS) % DAY_MS
      if (rest !== 0) {
        const d = new Date(ms)
        return bad(def, 'INVALID_DATE',
          `${value} is at ${d.getUTCHours()}:${d.getUTCMinutes()}:${d.getUTCSeconds()}.${d.getUTCMilliseconds()} UTC, not midnight!`)
      }
      return {ok: true, value: new Date(ms).toISOString().slice(0, 10)}
    }
    case 'datetime': {
      const ms = parseInstant(value)
      if (!Number.isFinite(ms)) return bad(def, 'INVALID_DATETIME', `${value} is not a valid datetime; use ISO 8601 or epoch milliseconds.`)
      return {ok: true, value: new Date(ms).toISOString()}
    }
    case 'enumeration': {
      if (def.externalOptions) {
        if (def.name === 'hubspot_owner_id' && !DIGITS.test(value)) {
          return bad(def, 'INVALID_OPTION', `${value} is not a valid owner id.`)
        }
        return {ok: true, value}
      }
      const allowed = def.options.map((o) => o.value)
      const parts = def.fieldType === 'checkbox' ? value.split(';').filter((p) => p !== '') : [value]
      for (const p of parts) {
        if (!allowed.includes(p)) {
          return bad(def, 'INVALID_OPTION', `${p} was not one of the allowed options: [${allowed.join(', ')}]`)
        }
      }
      return {ok: true, value: parts.join(';')}
    }
    default: {
      if (def.name === 'email' || def.name === 'hs_additional_emails') {
        const v = value.trim().toLowerCase()
        if (!isValidEmail(v)) return bad(def, 'INVALID_EMAIL', `Email address ${value} is invalid`)
        return {ok: true, value: v}
      }
      return {ok: true, value}
    }
  }
}

/** Search comparisons: numbers and instants compare numerically, everything else as lower-case text. */
export function sortKey(def: PropertyDef | undefined, value: string): number | string {
  if (!def) return value.toLowerCase()
  if (def.type === 'number') return Number(value)
  if (def.type === 'date' || def.type === 'datetime') return parseInstant(value)
  return def.type === 'enumeration' ? value : value.toLowerCase()
}
