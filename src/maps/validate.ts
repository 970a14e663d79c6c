/**
 * `map:validate`: every issue of every map at once, never a throw on the first one. Offline:
 * well-formed XML, grammar, names and direction, duplicates, what cbhs cannot run (EXPRESSION,
 * RULE, relation templates, json postProcess), hostile names, creation requirements. Online, in
 * addition: coreBOS fields (vtiger_field) and HubSpot properties exist and are usable, type
 * compatibility, picklist options.
 */
import type {CrmFieldMeta, PropertyDefinition} from '../sync/ports.js'
import {CRM_MODULES, type CrmModule, type HubSpotObjectType} from '../sync/types.js'
import {SUPPORTED_POST_PROCESS, UNSUPPORTED_POST_PROCESS, templatePlaceholders} from './apply.js'
import {crmKind, hubSpotKind, optionFor, type CrmKind, type HubSpotKind} from './convert.js'
import {buildLeadStatusMapping, lookup} from './stages.js'
import {OWNER_FIELD, OWNER_PROPERTY} from './owners.js'
import {MARKETING_FIELD_NAMES} from './marketing.js'
import {
  CRM_CREATE_REQUIREMENTS,
  CRM_FIELDS_SET_BY_CBHS,
  DEFAULT_MAP_NAMES,
  HUBSPOT_CREATE_REQUIREMENTS,
  HUBSPOT_PROPERTIES_SET_BY_CBHS,
  isHubSpotSideName,
  roleOfMapName,
  type MapRole,
} from './names.js'
import {parseMapXml} from './parse.js'
import type {FieldMap, MapIssue, MappedField} from './types.js'

export interface MapInput {
  /** shown in issues; its base name is the map name unless mapName is given */
  file: string
  /** XML (maps read from vtiger_cbmap: decodeCbMapContent first) */
  xml: string
  mapName?: string
}

export interface ValidateOptions {
  /** report which of the eight maps are missing (default true; off when validating single files) */
  requireAll?: boolean
}

/** A safe field or property name: it ends up in SQL column lists and HubSpot requests. */
export const SAFE_NAME = /^[A-Za-z0-9_.]+$/

/** Only the last `<field>` of each destination counts (coreBOS keys fields by destination). */
export function effectiveFields(map: FieldMap): MappedField[] {
  const last = new Map<string, MappedField>()
  for (const f of map.fields) last.set(f.target, f)
  return map.fields.filter((f) => last.get(f.target) === f)
}

function issueFor(map: FieldMap) {
  return (severity: MapIssue['severity'], code: string, message: string, line?: number): MapIssue => ({
    severity,
    code,
    message,
    ...(map.file === undefined ? {} : {file: map.file}),
    map: map.name,
    ...(line === undefined ? {} : {line}),
  })
}

/** The role of a parsed map: from its name, else from its content. */
export function roleOfMap(map: FieldMap): MapRole | null {
  const byName = roleOfMapName(map.name)
  if (byName) return byName
  if (isHubSpotSideName(map.target) && (CRM_MODULES as readonly string[]).includes(map.origin)) return roleOfMapName(`${map.origin}2HubSpot`)
  if (isHubSpotSideName(map.origin) && (CRM_MODULES as readonly string[]).includes(map.target)) return roleOfMapName(`HubSpot2${map.target}`)
  return null
}

/** Offline semantic checks of one parsed map. */
export function checkMap(map: FieldMap): MapIssue[] {
  const issues: MapIssue[] = []
  const add = (...args: Parameters<ReturnType<typeof issueFor>>) => issues.push(issueFor(map)(...args))
  const lines = map.lines ?? {}
  const isModule = (name: string) => (CRM_MODULES as readonly string[]).includes(name)
  const modules = CRM_MODULES.join(', ')

  for (const [side, value, line] of [
    ['origin', map.origin, lines.origin],
    ['target', map.target, lines.target],
  ] as const) {
    if (value && !isModule(value) && !isHubSpotSideName(value)) {
      const hint = CRM_MODULES.find((m) => m.toLowerCase() === value.toLowerCase() || m.toLowerCase() === `${value.toLowerCase()}s`)
      add('error', 'UNKNOWN_MODULE', `${side} '${value}' is neither a module cbhs syncs (${modules}) nor HubSpot${hint ? `; did you mean ${hint}?` : ''}`, line)
    }
  }
  if (map.origin && map.target) {
    const hsOrigin = isHubSpotSideName(map.origin)
    const hsTarget = isHubSpotSideName(map.target)
    if (hsOrigin === hsTarget && (hsOrigin || (isModule(map.origin) && isModule(map.target)))) {
      add('error', 'BAD_DIRECTION', `origin '${map.origin}' and target '${map.target}': exactly one side must be HubSpot`, lines.origin)
    }
  }

  const role = roleOfMapName(map.name)
  if (!role) {
    add('warning', 'UNKNOWN_MAP_NAME', `'${map.name}' is not one of the names cbhs uses (${DEFAULT_MAP_NAMES.join(', ')}): cbhs will not use this map`, lines.map ?? 1)
  } else if (role.direction === 'push') {
    if (map.origin && map.origin !== role.module) {
      add('error', 'NAME_MISMATCH', `map ${map.name} must read ${role.module} but its originname is '${map.origin}'`, lines.origin)
    }
    if (map.target && !isHubSpotSideName(map.target)) {
      add('error', 'NAME_MISMATCH', `map ${map.name} writes HubSpot, but its targetname is '${map.target}' (use HubSpot)`, lines.target)
    }
  } else {
    if (map.origin && !isHubSpotSideName(map.origin)) {
      add('error', 'NAME_MISMATCH', `map ${map.name} reads HubSpot, but its originname is '${map.origin}' (use HubSpot)`, lines.origin)
    }
    if (map.target && map.target !== role.module) {
      add('error', 'NAME_MISMATCH', `map ${map.name} must write ${role.module} but its targetname is '${map.target}'`, lines.target)
    }
  }

  const seen = new Map<string, MappedField>()
  for (const field of map.fields) {
    const earlier = seen.get(field.target)
    if (earlier) {
      add('warning', 'DUPLICATE_TARGET', `'${field.target}' is mapped again (first at line ${earlier.line}); this later <field> replaces it`, field.line)
    }
    seen.set(field.target, field)
    if (!SAFE_NAME.test(field.target)) {
      add('error', 'HOSTILE_NAME', `destination ${JSON.stringify(field.target)} is not a field or property name (only letters, digits, '_' and '.')`, field.line)
    } else if (field.target.includes('.')) {
      add('warning', 'NESTED_NAME', `'${field.target}': coreBOS builds nested arrays from dotted names; cbhs uses it as one flat name`, field.line)
    }
    if (role?.direction === 'pull' && CRM_FIELDS_SET_BY_CBHS.has(field.target) && !isOwnerCopy(field)) {
      add('error', 'RESERVED_FIELD', `'${field.target}' is set by cbhs (references, owner, numbering, timestamps, control fields); a map must not write it`, field.line)
    }
    if (role?.direction === 'push' && HUBSPOT_PROPERTIES_SET_BY_CBHS.has(field.target)) {
      add('error', 'RESERVED_PROPERTY', `'${field.target}' is set by cbhs or by HubSpot; a map must not write it`, field.line)
    }
    for (const piece of field.pieces) {
      switch (piece.kind) {
        case 'expression':
          add('error', 'UNSUPPORTED_EXPRESSION', `${field.target}: EXPRESSION '${piece.value.trim()}' needs coreBOS's workflow expression engine; cbhs cannot evaluate it (the field would be left out)`, piece.line)
          break
        case 'rule':
          add('error', 'UNSUPPORTED_RULE', `${field.target}: RULE ${piece.rule ? `'${piece.rule}' ` : ''}needs coreBOS's business rule engine; cbhs cannot evaluate it (the field would be left out)`, piece.line)
          break
        case 'field':
          if (piece.value && !SAFE_NAME.test(piece.value)) {
            add('error', 'HOSTILE_NAME', `${field.target}: source ${JSON.stringify(piece.value)} is not a field or property name`, piece.line)
          }
          break
        case 'field-template':
          if (/^\(/.test(piece.value)) {
            add('error', 'UNSUPPORTED_TEMPLATE_REFERENCE', `${field.target}: FIELD '${piece.value}' follows a relation, which needs coreBOS; map the related record's own field instead`, piece.line)
          } else if (piece.value && !SAFE_NAME.test(piece.value)) {
            add('error', 'HOSTILE_NAME', `${field.target}: FIELD ${JSON.stringify(piece.value)} is not a field or property name`, piece.line)
          }
          break
        case 'template': {
          const {relations} = templatePlaceholders(piece.value)
          if (relations.length > 0) {
            add('error', 'UNSUPPORTED_TEMPLATE_REFERENCE', `${field.target}: TEMPLATE uses ${relations.join(', ')}, which needs coreBOS`, piece.line)
          }
          break
        }
        case 'const':
          if (piece.value === '') add('warning', 'EMPTY_CONST', `${field.target}: an empty CONST adds nothing but the delimiter`, piece.line)
          break
      }
      if (piece.postProcess) {
        if (UNSUPPORTED_POST_PROCESS.has(piece.postProcess)) {
          add('error', 'UNSUPPORTED_POSTPROCESS', `${field.target}: postProcess ${piece.postProcess} returns a structure, not text; cbhs cannot pass it on`, piece.line)
        } else if (!SUPPORTED_POST_PROCESS[piece.postProcess]) {
          add('error', 'UNKNOWN_POSTPROCESS', `${field.target}: postProcess '${piece.postProcess}' is not one coreBOS allows (${[...Object.keys(SUPPORTED_POST_PROCESS), ...UNSUPPORTED_POST_PROCESS].join(', ')}); coreBOS would silently ignore it`, piece.line)
        }
      }
    }
  }

  if (role) {
    const usable = new Set(effectiveFields(map).filter((f) => f.pieces.every((p) => p.kind !== 'expression' && p.kind !== 'rule')).map((f) => f.target))
    if (role.direction === 'pull') {
      for (const required of CRM_CREATE_REQUIREMENTS[role.module]) {
        if (!usable.has(required)) {
          add('error', 'MISSING_REQUIRED', `${role.module} records need '${required}' to be created, and ${map.name} does not map it`, lines.map ?? 1)
        }
      }
    } else {
      for (const alternatives of HUBSPOT_CREATE_REQUIREMENTS[role.objectType]) {
        if (!alternatives.some((a) => usable.has(a))) {
          add('error', 'MISSING_REQUIRED', `HubSpot ${role.objectType} need ${alternatives.map((a) => `'${a}'`).join(' or ')} to be created, and ${map.name} does not map it`, lines.map ?? 1)
        }
      }
      if (role.module === 'Leads') {
        const lc = effectiveFields(map).find((f) => f.target === 'lifecyclestage')
        if (!lc || lc.pieces.length !== 1 || lc.pieces[0].kind !== 'const' || lc.pieces[0].value.trim().toLowerCase() !== 'lead') {
          add('error', 'LEAD_LIFECYCLESTAGE', `${map.name} must set lifecyclestage to CONST 'lead', or HubSpot cannot tell coreBOS leads from contacts`, lc?.line ?? lines.map ?? 1)
        }
      }
    }
  }
  return issues
}

/** Offline validation of a set of maps (a maps directory, or the rows of vtiger_cbmap). */
export function validateMaps(maps: MapInput[], options: ValidateOptions = {}): MapIssue[] {
  return validateParsed(maps, options).issues
}

interface Parsed {
  input: MapInput
  map?: FieldMap
}

/** validateMaps that also returns the parsed maps (what the loaders need). */
export function validateParsedMaps(maps: MapInput[], options: ValidateOptions = {}): {maps: FieldMap[]; issues: MapIssue[]} {
  const {issues, parsed} = validateParsed(maps, options)
  return {maps: parsed.flatMap((p) => (p.map ? [p.map] : [])), issues}
}

function validateParsed(maps: MapInput[], options: ValidateOptions): {issues: MapIssue[]; parsed: Parsed[]} {
  const issues: MapIssue[] = []
  const parsed: Parsed[] = []
  const byName = new Map<string, string>()
  for (const input of maps) {
    const result = parseMapXml(input.xml, {file: input.file, mapName: input.mapName})
    issues.push(...result.issues)
    parsed.push({input, map: result.map})
    if (!result.map) continue
    issues.push(...checkMap(result.map))
    const name = result.map.name
    const other = byName.get(name.toLowerCase())
    if (other !== undefined) {
      issues.push({severity: 'error', code: 'DUPLICATE_MAP', message: `map ${name} is defined twice (also in ${other})`, file: input.file, map: name, line: 1})
    } else byName.set(name.toLowerCase(), input.file)
  }
  if (options.requireAll ?? true) {
    for (const name of DEFAULT_MAP_NAMES) {
      if (!byName.has(name.toLowerCase())) {
        const role = roleOfMapName(name)!
        issues.push({
          severity: 'warning',
          code: 'MISSING_MAP',
          message: `no map ${name}: ${role.module} ${role.direction === 'push' ? 'changes are not pushed to' : 'changes are not pulled from'} HubSpot (cbhs refuses that module and direction)`,
          map: name,
        })
      }
    }
  }
  return {issues, parsed}
}

// ---------------------------------------------------------------------------------------------
// online
// ---------------------------------------------------------------------------------------------

/** What online validation needs of a module: its fields, and optionally its tables (to spot pseudo-fields). */
export interface CrmModuleLike {
  fields: Map<string, CrmFieldMeta>
  tables?: Array<{name: string}>
  entityTable?: string
  numberField?: string
}

export interface OnlineSchemas {
  crm: (module: CrmModule) => CrmModuleLike | Promise<CrmModuleLike>
  hubspot: (objectType: HubSpotObjectType) => PropertyDefinition[] | Promise<PropertyDefinition[]>
}

type Compat = {severity: 'error' | 'warning'; why: string} | null

/** Whether values of a coreBOS kind and a HubSpot kind convert (either direction). */
/** `assigned_user_id ← hubspot_owner_id`: the one way a pull map may set the owner. */
function isOwnerCopy(field: MappedField): boolean {
  const only = field.pieces.length === 1 ? field.pieces[0] : undefined
  return field.target === OWNER_FIELD && only !== undefined && (only.kind === 'field' || only.kind === 'field-template') && only.value === OWNER_PROPERTY && !only.postProcess
}

export function compatibility(crm: CrmKind, hs: HubSpotKind, direction: 'push' | 'pull'): Compat {
  const err = (why: string): Compat => ({severity: 'error', why})
  const warn = (why: string): Compat => ({severity: 'warning', why})
  if (crm === 'reference' || crm === 'owner') {
    return direction === 'pull' ? err('a record/user reference is set by cbhs, not from a HubSpot value') : warn('the value is a coreBOS id, meaningless in HubSpot')
  }
  // a text field stores whatever HubSpot holds, as text
  if (crm === 'text' && direction === 'pull') return null
  if (hs === 'string') {
    if (direction === 'pull' && (crm === 'date' || crm === 'datetime' || crm === 'number' || crm === 'checkbox')) {
      return warn(`HubSpot text must hold a valid ${crm} for every record, or those records fail`)
    }
    if (direction === 'pull' && (crm === 'picklist' || crm === 'multipicklist')) return warn('HubSpot text must be one of the picklist values, or those records fail')
    return null
  }
  const table: Record<CrmKind, Partial<Record<HubSpotKind, Compat>>> = {
    text: {number: warn('text must be numeric for every record'), enumeration: warn('text must match an option'), multienumeration: warn('text must match options'), date: err('free text is not a date'), datetime: err('free text is not a date and time'), bool: err('free text is not a yes/no value')},
    date: {date: null, datetime: null, number: err('a date is not a number'), bool: err('a date is not a yes/no value'), enumeration: err('a date is not an option'), multienumeration: err('a date is not an option')},
    datetime: {datetime: null, date: warn('the time of day is lost'), number: err('a date and time is not a number'), bool: err('a date and time is not a yes/no value'), enumeration: err('a date and time is not an option'), multienumeration: err('a date and time is not an option')},
    checkbox: {bool: null, enumeration: warn('the options must be true/false'), number: err('a checkbox is not a number'), date: err('a checkbox is not a date'), datetime: err('a checkbox is not a date'), multienumeration: err('a checkbox is not a list of options')},
    number: {number: null, date: err('a number is not a date'), datetime: err('a number is not a date'), bool: err('a number is not a yes/no value'), enumeration: err('a number is not an option'), multienumeration: err('a number is not an option')},
    picklist: {enumeration: null, multienumeration: warn('HubSpot allows several values, coreBOS one'), number: err('a picklist is not a number'), date: err('a picklist is not a date'), datetime: err('a picklist is not a date'), bool: err('a picklist is not a yes/no value')},
    multipicklist: {multienumeration: null, enumeration: warn('coreBOS allows several values, HubSpot one'), number: err('a multi-select picklist is not a number'), date: err('a multi-select picklist is not a date'), datetime: err('a multi-select picklist is not a date'), bool: err('a multi-select picklist is not a yes/no value')},
    reference: {},
    owner: {},
  }
  const found = table[crm][hs]
  return found === undefined ? null : found
}

/**
 * Offline validation plus the checks against the live schemas. Schemas are asked once per module
 * and object type; a schema that cannot be read becomes an issue for the maps that need it.
 */
/**
 * Values the lead status correspondence cannot carry, as toHubSpot/toCoreBos convert them: push,
 * this install's lead statuses without an option; pull, options without a status of this install.
 */
function leadStatusGaps(field: CrmFieldMeta, prop: PropertyDefinition): {push: string[]; pull: string[]} {
  const map = buildLeadStatusMapping(prop.options)
  const values = (field.picklistValues ?? []).filter((v) => v !== '--None--')
  const has = (v: string) => values.some((x) => x.toLowerCase() === v.toLowerCase())
  const push = values.filter((v) => lookup(map.toHubSpot, v) === undefined && optionFor(prop, v) === undefined)
  const pull = (prop.options ?? [])
    .filter((o) => {
      const mapped = lookup(map.toCoreBos, o.value)
      return mapped !== undefined ? !has(mapped) : !has(o.value)
    })
    .map((o) => o.value)
  return {push, pull}
}

export async function validateMapsOnline(maps: MapInput[], schemas: OnlineSchemas, options: ValidateOptions = {}): Promise<MapIssue[]> {
  const {issues, parsed} = validateParsed(maps, options)
  const crmCache = new Map<CrmModule, Promise<CrmModuleLike>>()
  const hsCache = new Map<HubSpotObjectType, Promise<PropertyDefinition[]>>()
  for (const {map} of parsed) {
    if (!map) continue
    const role = roleOfMap(map)
    if (!role) continue
    const add = (...args: Parameters<ReturnType<typeof issueFor>>) => issues.push(issueFor(map)(...args))
    let crm: CrmModuleLike
    let props: PropertyDefinition[]
    try {
      if (!crmCache.has(role.module)) crmCache.set(role.module, Promise.resolve(schemas.crm(role.module)))
      crm = await crmCache.get(role.module)!
    } catch (error) {
      add('error', 'SCHEMA_UNAVAILABLE', `cannot read the coreBOS fields of ${role.module}: ${error instanceof Error ? error.message : String(error)}`)
      continue
    }
    try {
      if (!hsCache.has(role.objectType)) hsCache.set(role.objectType, Promise.resolve(schemas.hubspot(role.objectType)))
      props = await hsCache.get(role.objectType)!
    } catch (error) {
      add('error', 'SCHEMA_UNAVAILABLE', `cannot read the HubSpot ${role.objectType} properties: ${error instanceof Error ? error.message : String(error)}`)
      continue
    }
    issues.push(...checkMapOnline(map, role, crm, props))
  }
  return issues
}

/** The online checks of one map against one module's fields and one object type's properties. */
export function checkMapOnline(map: FieldMap, role: MapRole, crm: CrmModuleLike, props: PropertyDefinition[]): MapIssue[] {
  const issues: MapIssue[] = []
  const add = (...args: Parameters<ReturnType<typeof issueFor>>) => issues.push(issueFor(map)(...args))
  const propByName = new Map(props.map((p) => [p.name, p]))
  const tableNames = crm.tables ? new Set([...crm.tables.map((t) => t.name), crm.entityTable ?? 'vtiger_crmentity']) : undefined
  const side = role.objectType

  const crmField = (name: string, line: number, what: string): CrmFieldMeta | undefined => {
    const field = crm.fields.get(name)
    if (!field) {
      add('error', 'UNKNOWN_CRM_FIELD', `${what} '${name}' is not a field of ${role.module} in this coreBOS (vtiger_field)`, line)
      return undefined
    }
    if (field.presence !== 0 && field.presence !== 2) {
      add('error', 'INACTIVE_CRM_FIELD', `${what} '${name}' is inactive in ${role.module} (presence ${field.presence})`, line)
    }
    if (tableNames && !tableNames.has(field.table)) {
      add('error', 'PSEUDO_FIELD', `${what} '${name}' is stored in ${field.table}, not in a ${role.module} table`, line)
    }
    return field
  }
  const hsProp = (name: string, line: number, what: string): PropertyDefinition | undefined => {
    const prop = propByName.get(name)
    if (!prop) add('error', 'UNKNOWN_HUBSPOT_PROPERTY', `${what} '${name}' is not a HubSpot ${side} property in this portal`, line)
    return prop
  }
  const sourceNames = (field: MappedField): Array<{name: string; line: number}> => {
    const out: Array<{name: string; line: number}> = []
    for (const piece of field.pieces) {
      if (piece.kind === 'field' && piece.value) out.push({name: piece.value, line: piece.line})
      else if (piece.kind === 'field-template' && /^\w+$/.test(piece.value)) out.push({name: piece.value, line: piece.line})
      else if (piece.kind === 'template') for (const name of templatePlaceholders(piece.value).names) out.push({name, line: piece.line})
    }
    return out
  }

  for (const field of effectiveFields(map)) {
    if (!SAFE_NAME.test(field.target)) continue
    const sources = sourceNames(field)
    const direct = field.pieces.length === 1 && (field.pieces[0].kind === 'field' || field.pieces[0].kind === 'field-template') && !field.pieces[0].postProcess
    const constOnly = field.pieces.length > 0 && field.pieces.every((p) => p.kind === 'const') && field.pieces.length === 1
    if (role.direction === 'push') {
      const prop = hsProp(field.target, field.line, 'destination')
      if (prop && (prop.readOnlyValue || prop.calculated)) {
        add('error', 'READ_ONLY_HUBSPOT_PROPERTY', `'${prop.name}' is ${prop.calculated ? 'calculated' : 'read-only'} in HubSpot; it cannot be written`, field.line)
      }
      const fields = sources.map((s) => (SAFE_NAME.test(s.name) ? crmField(s.name, s.line, 'source') : undefined))
      if (!prop) continue
      const hk = hubSpotKind(prop)
      if (direct && fields[0]) {
        const fk = crmKind(fields[0])
        // the owner travels as the HubSpot owner with the same e-mail (maps/owners.ts)
        if (prop.name === OWNER_PROPERTY && fk === 'owner') continue
        if (prop.name === 'dealstage' || prop.name === 'hs_lead_status') {
          if (fk !== 'picklist') add('warning', 'TYPE_MISMATCH', `${prop.name} takes ${prop.name === 'dealstage' ? 'stage ids' : 'lead statuses'}; '${fields[0].name}' is not a picklist`, field.line)
          else if (prop.name === 'hs_lead_status') {
            const gaps = leadStatusGaps(fields[0], prop).push
            if (gaps.length > 0) add('warning', 'PICKLIST_OPTION_MISSING', `${fields[0].name} values without an ${prop.name} counterpart (records holding them will fail): ${gaps.join(', ')}`, field.line)
          }
          continue
        }
        const c = compatibility(fk, hk, 'push')
        if (c) add(c.severity, 'TYPE_MISMATCH', `${fields[0].name} (${fk}) → ${prop.name} (${prop.type}/${prop.fieldType}): ${c.why}`, field.line)
        if ((fk === 'picklist' || fk === 'multipicklist') && (hk === 'enumeration' || hk === 'multienumeration')) {
          const missing = (fields[0].picklistValues ?? []).filter((v) => v !== '--None--' && !(prop.options ?? []).some((o) => o.value.toLowerCase() === v.toLowerCase() || o.label.toLowerCase() === v.toLowerCase()))
          if (missing.length > 0) add('warning', 'PICKLIST_OPTION_MISSING', `${fields[0].name} values without a ${prop.name} option (records holding them will fail): ${missing.join(', ')}`, field.line)
        }
      } else if (constOnly && (hk === 'enumeration' || hk === 'multienumeration')) {
        const v = field.pieces[0].value
        if (!(prop.options ?? []).some((o) => o.value.toLowerCase() === v.toLowerCase() || o.label.toLowerCase() === v.toLowerCase())) {
          add('error', 'BAD_OPTION', `CONST '${v}' is not an option of ${prop.name} (${(prop.options ?? []).map((o) => o.value).join(', ')})`, field.line)
        }
      } else if (!direct && !constOnly && hk !== 'string') {
        add('warning', 'TYPE_MISMATCH', `${prop.name} is a ${prop.type} property and receives text built from several pieces`, field.line)
      }
    } else {
      const target = crmField(field.target, field.line, 'destination')
      if (target) {
        if (target.uitype === 4) add('error', 'READ_ONLY_CRM_FIELD', `'${target.name}' is the record number, assigned by coreBOS numbering`, field.line)
        else if ((target.displaytype === 2 || target.displaytype === 3) && !MARKETING_FIELD_NAMES.has(target.name)) {
          add('warning', 'READ_ONLY_CRM_FIELD', `'${target.name}' is read-only in coreBOS (displaytype ${target.displaytype})`, field.line)
        }
      }
      const sourceProps = sources.map((s) => (SAFE_NAME.test(s.name) ? hsProp(s.name, s.line, 'source') : undefined))
      if (!target) continue
      const fk = crmKind(target)
      if (direct && sourceProps[0]) {
        const prop = sourceProps[0]
        if (prop.name === OWNER_PROPERTY && fk === 'owner') continue
        // read through the lead source correspondence, not by option
        if (prop.name === 'hs_analytics_source' && target.name === 'leadsource') continue
        if (prop.name === 'dealstage' || prop.name === 'hs_lead_status') {
          if (fk !== 'picklist') add('warning', 'TYPE_MISMATCH', `${prop.name} holds ${prop.name === 'dealstage' ? 'stage ids' : 'lead statuses'}; '${target.name}' is not a picklist`, field.line)
          else if (prop.name === 'hs_lead_status' && target.picklistValues?.length) {
            const gaps = leadStatusGaps(target, prop).pull
            if (gaps.length > 0) add('warning', 'PICKLIST_OPTION_MISSING', `${prop.name} options without a ${target.name} value of this install (records holding them fail, or get a status the picklist lacks): ${gaps.join(', ')}`, field.line)
          }
          continue
        }
        const hk = hubSpotKind(prop)
        const c = compatibility(fk, hk, 'pull')
        if (c) add(c.severity, 'TYPE_MISMATCH', `${prop.name} (${prop.type}/${prop.fieldType}) → ${target.name} (${fk}): ${c.why}`, field.line)
        if ((fk === 'picklist' || fk === 'multipicklist') && (hk === 'enumeration' || hk === 'multienumeration') && target.picklistValues?.length) {
          const values = target.picklistValues.map((v) => v.toLowerCase())
          const missing = (prop.options ?? []).filter((o) => !values.includes(o.value.toLowerCase()) && !values.includes(o.label.toLowerCase()))
          if (missing.length > 0) add('warning', 'PICKLIST_OPTION_MISSING', `${prop.name} options without a ${target.name} value (records holding them will fail): ${missing.map((o) => o.value).join(', ')}`, field.line)
        }
      } else if (!direct && (fk === 'reference' || fk === 'owner')) {
        add('error', 'TYPE_MISMATCH', `'${target.name}' is a reference, set by cbhs`, field.line)
      } else if (!direct && !['text', 'picklist'].includes(fk)) {
        add('warning', 'TYPE_MISMATCH', `'${target.name}' is a ${fk} field and receives text built from several pieces`, field.line)
      }
    }
  }

  // mandatory coreBOS fields of this install (custom ones included) a pull map leaves empty
  if (role.direction === 'pull') {
    const mapped = new Set(effectiveFields(map).map((f) => f.target))
    for (const field of crm.fields.values()) {
      if (!field.mandatory || (field.presence !== 0 && field.presence !== 2) || field.displaytype !== 1) continue
      if (mapped.has(field.name) || CRM_FIELDS_SET_BY_CBHS.has(field.name) || field.name === crm.numberField || field.uitype === 4) continue
      if (CRM_CREATE_REQUIREMENTS[role.module].includes(field.name)) continue // reported offline
      add('error', 'MISSING_REQUIRED', `'${field.name}' is mandatory in this coreBOS and ${map.name} does not map it`, map.lines?.map ?? 1)
    }
  }
  return issues
}
