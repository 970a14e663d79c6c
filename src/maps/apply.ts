/**
 * Applying a map to one record, with coreBOS's processMap semantics (reference/corebos.md §5.4)
 * except where coreBOS is wrong: the final trim removes one trailing delimiter string, not every
 * trailing character that occurs in the delimiter.
 */
import {decodeHtmlEntities} from './entities.js'
import type {FieldMap, MapPiece, MappedField} from './types.js'

export type Origin = Record<string, string | null | undefined>

export interface ApplyResult {
  /** destination key → value (before type conversion) */
  values: Record<string, string>
  /** targets whose every source field was missing (null/undefined) and that had no CONST/TEMPLATE */
  unset: string[]
  /** pieces that cannot run outside coreBOS (EXPRESSION, RULE, relation templates): their field is left out */
  warnings: string[]
}

/** `$name` placeholders; `$(ref : (Module) field)` is the relation form, which needs coreBOS. */
const PLACEHOLDER = /\$(\w+|\([^)]*\)[^)]*\))/g
const RELATION = /^\(/

/** postProcess functions cbhs can reproduce; coreBOS also allows json_decode/json_encode (non-string results). */
export const SUPPORTED_POST_PROCESS: Readonly<Record<string, (value: string) => string>> = {
  intval: (v) => {
    const m = /^\s*([+-]?\d+)/.exec(v)
    if (!m) return '0'
    const n = BigInt(m[1])
    // PHP clamps to the 64-bit range
    const max = 9223372036854775807n
    const min = -9223372036854775808n
    return String(n > max ? max : n < min ? min : n)
  },
  floatval: (v) => {
    const m = /^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)/.exec(v)
    return m ? String(Number(m[1])) : '0'
  },
  boolval: (v) => (v === '' || v === '0' ? '' : '1'),
  addslashes: (v) => v.replace(/([\\'"])/g, '\\$1').replace(/\0/g, '\\0'),
  stripslashes: (v) => v.replace(/\\(.?)/g, (_m, c: string) => (c === '0' ? '\0' : c)),
  quotemeta: (v) => v.replace(/([.\\+*?[^\]$()])/g, '\\$1'),
  htmlspecialchars: (v) => v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#039;'),
  htmlentities: (v) => v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#039;'),
  html_entity_decode: (v) => decodeHtmlEntities(v),
}

/** Functions coreBOS accepts in postProcess that return non-strings, which cbhs cannot pass on. */
export const UNSUPPORTED_POST_PROCESS: ReadonlySet<string> = new Set(['json_decode', 'json_encode'])

function renderTemplate(text: string, origin: Origin): string | null {
  let unsupported = false
  const out = text.replace(PLACEHOLDER, (_m, name: string) => {
    if (RELATION.test(name)) {
      unsupported = true
      return ''
    }
    return origin[name] ?? ''
  })
  return unsupported ? null : out
}

/** The placeholders `$name` of a TEMPLATE text, and whether it uses the relation form. */
export function templatePlaceholders(text: string): {names: string[]; relations: string[]} {
  const names: string[] = []
  const relations: string[] = []
  for (const m of text.matchAll(PLACEHOLDER)) {
    if (RELATION.test(m[1])) relations.push(`$${m[1]}`)
    else names.push(m[1])
  }
  return {names, relations}
}

/** One trailing delimiter string, not a character set (coreBOS's rtrim would also eat real data). */
export function trimTrailingDelimiter(value: string, delimiter: string): string {
  return delimiter !== '' && value.endsWith(delimiter) ? value.slice(0, value.length - delimiter.length) : value
}

function applyField(field: MappedField, origin: Origin): {value?: string; unset: boolean; warning?: string} {
  let value = ''
  let anySource = false
  let anyValue = false
  for (const piece of field.pieces) {
    let contributed = true
    switch (piece.kind) {
      case 'field': {
        const v = origin[piece.value]
        // PHP isset: missing and null add nothing, not even the delimiter
        if (v === null || v === undefined) contributed = false
        else value += v + field.delimiter
        anySource = true
        if (contributed) anyValue = true
        break
      }
      case 'const':
        value += piece.value + field.delimiter
        anyValue = true
        break
      case 'field-template':
      case 'template': {
        const text = piece.kind === 'field-template' ? `$${piece.value}` : piece.value
        const rendered = renderTemplate(text, origin)
        if (rendered === null) return {unset: false, warning: unsupportedWarning(field, piece)}
        value += rendered + field.delimiter
        anyValue = true
        break
      }
      case 'expression':
      case 'rule':
        return {unset: false, warning: unsupportedWarning(field, piece)}
    }
    if (contributed && piece.postProcess) {
      const fn = SUPPORTED_POST_PROCESS[piece.postProcess]
      if (fn) value = fn(value)
      else if (UNSUPPORTED_POST_PROCESS.has(piece.postProcess)) {
        return {unset: false, warning: `${field.target}: postProcess ${piece.postProcess} (line ${piece.line}) returns no string; the field is left out`}
      }
      // any other name: coreBOS ignores it too (map:validate reports it)
    }
  }
  return {value: trimTrailingDelimiter(value, field.delimiter), unset: anySource && !anyValue}
}

function unsupportedWarning(field: MappedField, piece: MapPiece): string {
  const what = piece.kind === 'expression' ? 'an EXPRESSION' : piece.kind === 'rule' ? 'a RULE' : 'a relation placeholder'
  return `${field.target}: ${what} (line ${piece.line}) needs coreBOS's workflow engine; the field is left out`
}

/**
 * Applies a map to one origin record (field name or property name → raw value). Every field
 * yields a value ('' when nothing contributed, as in coreBOS), except fields using EXPRESSION,
 * RULE, relation templates or json postProcess: those are left out with a warning, never guessed.
 * A later `<field>` with the same destination replaces an earlier one, as in coreBOS.
 */
export function applyMap(map: FieldMap, origin: Origin): ApplyResult {
  const last = new Map<string, MappedField>()
  for (const field of map.fields) {
    last.delete(field.target)
    last.set(field.target, field)
  }
  const values: Record<string, string> = {}
  const unset: string[] = []
  const warnings: string[] = []
  for (const field of last.values()) {
    const result = applyField(field, origin)
    if (result.warning) warnings.push(result.warning)
    if (result.value !== undefined) values[field.target] = result.value
    if (result.unset) unset.push(field.target)
  }
  return {values, unset, warnings}
}

/**
 * The origin field (or property) names a map reads, in first-use order: what to SELECT from
 * coreBOS or to request as HubSpot `properties`. Only the fields that survive duplicates count.
 */
export function mapSources(map: FieldMap): string[] {
  return [...new Set([...sourcesByTarget(map).values()].flat())]
}

/**
 * Each destination with the origin names it is built from (first-use order). The engine tells
 * which side changed a destination by whether one of its origins changed since the last sync.
 */
export function sourcesByTarget(map: FieldMap): Map<string, string[]> {
  const last = new Map<string, MappedField>()
  for (const field of map.fields) last.set(field.target, field)
  const out = new Map<string, string[]>()
  for (const field of map.fields) {
    if (last.get(field.target) !== field) continue
    const names = new Set<string>()
    for (const piece of field.pieces) {
      if (piece.kind === 'field' && piece.value) names.add(piece.value)
      else if (piece.kind === 'field-template') {
        for (const name of templatePlaceholders(`$${piece.value}`).names) names.add(name)
      } else if (piece.kind === 'template') {
        for (const name of templatePlaceholders(piece.value).names) names.add(name)
      }
    }
    out.set(field.target, [...names])
  }
  return out
}

/** Destination → the single origin field it copies, for fields that are a plain one-piece copy (used for type conversion and round-trip checks). */
export function directCopies(map: FieldMap): Map<string, string> {
  const last = new Map<string, MappedField>()
  for (const field of map.fields) last.set(field.target, field)
  const out = new Map<string, string>()
  for (const [target, field] of last) {
    if (field.pieces.length !== 1) continue
    const piece = field.pieces[0]
    if (piece.postProcess) continue
    if (piece.kind === 'field' || (piece.kind === 'field-template' && /^\w+$/.test(piece.value))) out.set(target, piece.value)
  }
  return out
}
