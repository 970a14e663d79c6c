/**
 * Business Map XML → FieldMap. Well-formedness first (XMLValidator, with line and column), then
 * fast-xml-parser with every element an array (so a repeated element is seen, never merged), then
 * the typed model with the line of every `<field>` and `<Orgfield>` (positions come from xml-scan).
 * Grammar problems become issues; only semantic checks live in validate.ts.
 */
import {XMLParser, XMLValidator} from 'fast-xml-parser'
import {basename, extname} from 'node:path'
import type {FieldMap, MapIssue, MapPiece, MappedField, PieceKind} from './types.js'
import {linesByPath, scanXml, type TagPosition} from './xml-scan.js'

export interface MapSource {
  file?: string
  mapName?: string
}

export interface ParseResult {
  map?: FieldMap
  issues: MapIssue[]
}

type XNode = string | {[key: string]: unknown}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  // delimiters such as " - " and CONST values keep their spaces, as in SimpleXML
  trimValues: false,
  parseTagValue: false,
  parseAttributeValue: false,
  // decodes numeric character references too (the default handles only the five named ones)
  htmlEntities: true,
  commentPropName: '#comment',
  isArray: (_name, _jpath, _leaf, isAttribute) => !isAttribute,
})

const KNOWN_IDS: Record<string, PieceKind> = {
  CONST: 'const',
  EXPRESSION: 'expression',
  FIELD: 'field-template',
  TEMPLATE: 'template',
  RULE: 'rule',
}

/** The map's name as cbhs looks it up: explicit, else the file name without `.xml`. */
export function mapNameOf(source: MapSource): string {
  if (source.mapName) return source.mapName
  if (source.file) return basename(source.file, extname(source.file))
  return ''
}

function childrenOf(node: XNode | undefined, name: string): XNode[] {
  if (node === undefined || typeof node === 'string') return []
  const value = node[name]
  return Array.isArray(value) ? (value as XNode[]) : []
}

function textOf(node: XNode | undefined): string {
  if (node === undefined) return ''
  if (typeof node === 'string') return node
  const text = node['#text']
  if (Array.isArray(text)) return text.join('')
  return typeof text === 'string' ? text : ''
}

function elementNames(node: XNode): string[] {
  if (typeof node === 'string') return []
  return Object.keys(node).filter((k) => !k.startsWith('@_') && k !== '#text' && k !== '#comment')
}

/**
 * Parses one map. Never throws: malformed XML and grammar problems come back as issues with the
 * file and line, and `map` is absent when nothing usable could be read.
 */
export function parseMapXml(xml: string, source: MapSource = {}): ParseResult {
  const name = mapNameOf(source)
  const issues: MapIssue[] = []
  const issue = (severity: MapIssue['severity'], code: string, message: string, line?: number, column?: number) => {
    issues.push({
      severity,
      code,
      message,
      ...(source.file === undefined ? {} : {file: source.file}),
      ...(name ? {map: name} : {}),
      ...(line === undefined ? {} : {line}),
      ...(column === undefined ? {} : {column}),
    })
  }

  if (xml.trim() === '') {
    issue('error', 'XML_MALFORMED', 'the map is empty', 1, 1)
    return {issues}
  }
  const valid = XMLValidator.validate(xml)
  if (valid !== true) {
    issue('error', 'XML_MALFORMED', `${valid.err.msg} (${valid.err.code})`, valid.err.line, valid.err.col)
    return {issues}
  }
  const scan = scanXml(xml)
  for (const problem of scan.problems) {
    issue('error', problem.code === 'UNDEFINED_ENTITY' ? 'XML_UNDEFINED_ENTITY' : 'XML_MALFORMED', problem.message, problem.line, problem.column)
  }
  if (scan.problems.length > 0) return {issues}

  let doc: Record<string, unknown>
  try {
    doc = parser.parse(xml) as Record<string, unknown>
  } catch (error) {
    issue('error', 'XML_MALFORMED', error instanceof Error ? error.message : String(error), 1, 1)
    return {issues}
  }
  const positions = linesByPath(scan.tags)
  const lineAt = (path: string, n = 0): number | undefined => positions.get(path)?.[n]?.line
  const rootTag: TagPosition | undefined = scan.tags[0]

  const rootName = Object.keys(doc).find((k) => !k.startsWith('?') && k !== '#comment' && k !== '#text')
  if (rootName !== 'map') {
    issue('error', 'NOT_A_MAP', `the root element is <${rootName ?? ''}>, a Business Map's root is <map>`, rootTag?.line ?? 1, rootTag?.column)
    return {issues}
  }
  const root = (doc.map as XNode[])[0]
  const rootLine = lineAt('map') ?? 1

  for (const child of elementNames(root)) {
    if (!['originmodule', 'targetmodule', 'fields'].includes(child)) {
      issue('warning', 'UNKNOWN_ELEMENT', `<${child}> is not part of the Mapping grammar and is ignored`, lineAt(`map/${child}`))
    }
  }
  const single = (parent: XNode, child: string, path: string): XNode | undefined => {
    const list = childrenOf(parent, child)
    if (list.length > 1) {
      issue('error', 'DUPLICATE_ELEMENT', `<${child}> appears ${list.length} times; coreBOS reads only the first`, lineAt(path, 1))
    }
    return list[0]
  }

  const originModule = single(root, 'originmodule', 'map/originmodule')
  const origin = textOf(originModule === undefined ? undefined : single(originModule, 'originname', 'map/originmodule/originname')).trim()
  if (!origin) {
    issue('error', 'MISSING_ORIGIN', 'no <originmodule><originname>: the map does not say which side it reads', lineAt('map/originmodule') ?? rootLine)
  }
  const targetModule = single(root, 'targetmodule', 'map/targetmodule')
  const target = textOf(targetModule === undefined ? undefined : single(targetModule, 'targetname', 'map/targetmodule/targetname')).trim()
  if (!target) {
    issue('error', 'MISSING_TARGET', 'no <targetmodule><targetname>: the map does not say which side it writes', lineAt('map/targetmodule') ?? rootLine)
  }

  const fieldsLists = childrenOf(root, 'fields')
  if (fieldsLists.length === 0) {
    issue('error', 'MISSING_FIELDS', 'no <fields> element', rootLine)
  } else if (fieldsLists.length > 1) {
    issue('error', 'DUPLICATE_ELEMENT', `<fields> appears ${fieldsLists.length} times; coreBOS reads only the first`, lineAt('map/fields', 1))
  }

  const fields: MappedField[] = []
  let fieldIndex = 0
  let orgIndex = 0
  fieldsLists.forEach((fieldsNode, listIndex) => {
    for (const child of elementNames(fieldsNode)) {
      if (child !== 'field') issue('warning', 'UNKNOWN_ELEMENT', `<${child}> inside <fields> is ignored`, lineAt(`map/fields/${child}`))
    }
    for (const fieldNode of childrenOf(fieldsNode, 'field')) {
      const line = lineAt('map/fields/field', fieldIndex++) ?? rootLine
      const parsed = parseField(fieldNode, line)
      // positions of ignored Orgfields still advance, so later lines stay aligned
      if (listIndex === 0 && parsed) fields.push(parsed)
    }
  })

  function parseField(node: XNode, line: number): MappedField | undefined {
    for (const child of elementNames(node)) {
      if (child === 'value') {
        issue('warning', 'VALUE_IGNORED', '<value> is ignored by coreBOS (it is not a constant); use an Orgfield with OrgfieldID CONST', line)
      } else if (!['fieldname', 'fieldID', 'Orgfields', 'master'].includes(child)) {
        issue('warning', 'UNKNOWN_ELEMENT', `<${child}> is not part of <field> and is ignored (element names are case-sensitive)`, line)
      }
    }
    const fieldnames = childrenOf(node, 'fieldname')
    if (fieldnames.length > 1) issue('error', 'DUPLICATE_ELEMENT', '<fieldname> appears more than once in one <field>', line)
    const targetName = textOf(fieldnames[0]).trim()

    const orgfieldsLists = childrenOf(node, 'Orgfields')
    if (orgfieldsLists.length > 1) issue('error', 'DUPLICATE_ELEMENT', '<Orgfields> appears more than once in one <field>; coreBOS reads only the first', line)
    const pieces: MapPiece[] = []
    let delimiter = ''
    orgfieldsLists.forEach((orgfields, k) => {
      for (const child of elementNames(orgfields)) {
        if (!['Orgfield', 'delimiter'].includes(child)) issue('warning', 'UNKNOWN_ELEMENT', `<${child}> inside <Orgfields> is ignored`, line)
      }
      const delimiters = childrenOf(orgfields, 'delimiter')
      if (k === 0 && delimiters.length > 0) {
        delimiter = textOf(delimiters[0])
        if (delimiters.length > 1) issue('warning', 'DUPLICATE_ELEMENT', '<delimiter> appears more than once; the first one is used', line)
      }
      for (const org of childrenOf(orgfields, 'Orgfield')) {
        const orgLine = lineAt('map/fields/field/Orgfields/Orgfield', orgIndex++) ?? line
        const piece = parsePiece(org, orgLine)
        if (k === 0) pieces.push(piece)
      }
    })
    if (!targetName) {
      issue('error', 'EMPTY_FIELDNAME', '<field> without a <fieldname>: it has no destination', line)
    }
    if (orgfieldsLists.length === 0 || pieces.length === 0) {
      issue('error', 'MISSING_ORGFIELDS', `<field> '${targetName}' has no <Orgfields><Orgfield>: coreBOS would write an empty value`, line)
    }
    if (!targetName) return undefined
    const masters = childrenOf(node, 'master')
    const field: MappedField = {target: targetName, line, pieces, delimiter}
    if (masters.length > 0) field.master = /^(1|true|on|yes)$/i.test(textOf(masters[0]).trim())
    return field
  }

  function parsePiece(node: XNode, line: number): MapPiece {
    for (const child of elementNames(node)) {
      if (!['OrgfieldName', 'OrgfieldID', 'Rule', 'postProcess'].includes(child)) {
        issue('warning', 'UNKNOWN_ELEMENT', `<${child}> is not part of <Orgfield> and is ignored (element names are case-sensitive)`, line)
      }
    }
    const rawId = textOf(childrenOf(node, 'OrgfieldID')[0]).trim()
    const upper = rawId.toUpperCase()
    let kind: PieceKind = 'field'
    if (KNOWN_IDS[upper]) kind = KNOWN_IDS[upper]
    else if (rawId !== '' && !/^\d+$/.test(rawId)) {
      issue('error', 'UNKNOWN_ORGFIELD_ID', `OrgfieldID '${rawId}' is none of CONST, EXPRESSION, FIELD, TEMPLATE, RULE (or a numeric field id); coreBOS would read it as a plain field`, line)
    }
    const nameNodes = childrenOf(node, 'OrgfieldName')
    const raw = textOf(nameNodes[0])
    let value = kind === 'const' || kind === 'template' || kind === 'expression' ? raw : raw.trim()
    if (kind === 'field-template' && value.startsWith('$')) value = value.slice(1)
    if (nameNodes.length === 0 || (value.trim() === '' && kind !== 'const')) {
      issue('error', 'EMPTY_ORGFIELDNAME', '<Orgfield> without an <OrgfieldName>', line)
    }
    const piece: MapPiece = {kind, value, line}
    if (rawId) piece.id = rawId
    const rule = textOf(childrenOf(node, 'Rule')[0]).trim()
    if (rule) piece.rule = rule
    const post = textOf(childrenOf(node, 'postProcess')[0]).trim()
    if (post) piece.postProcess = post
    return piece
  }

  const map: FieldMap = {name, origin, target, fields}
  map.lines = {
    map: rootLine,
    origin: lineAt('map/originmodule/originname') ?? lineAt('map/originmodule') ?? rootLine,
    target: lineAt('map/targetmodule/targetname') ?? lineAt('map/targetmodule') ?? rootLine,
  }
  if (source.file !== undefined) map.file = source.file
  return {map, issues}
}
