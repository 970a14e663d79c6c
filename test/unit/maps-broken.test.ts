import {readFileSync, readdirSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {validateMaps} from '../../src/maps/index.js'

const dir = join(import.meta.dirname, '../fixtures/maps/broken')

// file → the map name it is validated under (default Contacts2HubSpot), the code it must produce, where
const CASES: Array<{file: string; mapName?: string | null; code: string; severity?: 'error' | 'warning'; line: number; column?: number}> = [
  {file: 'malformed-mismatched-tag', code: 'XML_MALFORMED', line: 10, column: 26},
  {file: 'malformed-unquoted-attribute', code: 'XML_MALFORMED', line: 9, column: 12},
  {file: 'malformed-bare-ampersand', code: 'XML_MALFORMED', line: 21, column: 31},
  {file: 'undefined-entity', code: 'XML_UNDEFINED_ENTITY', line: 21, column: 28},
  {file: 'multiple-roots', code: 'XML_MALFORMED', line: 19, column: 1},
  {file: 'empty', code: 'XML_MALFORMED', line: 1, column: 1},
  {file: 'wrong-root', code: 'NOT_A_MAP', line: 1, column: 1},
  {file: 'missing-originname', code: 'MISSING_ORIGIN', line: 2},
  {file: 'missing-targetname', code: 'MISSING_TARGET', line: 5},
  {file: 'missing-fields', code: 'MISSING_FIELDS', line: 1},
  {file: 'unknown-module', code: 'UNKNOWN_MODULE', line: 3},
  {file: 'direction-mismatch', code: 'NAME_MISMATCH', line: 3},
  {file: 'module-mismatch', code: 'NAME_MISMATCH', line: 3},
  {file: 'both-sides-hubspot', code: 'BAD_DIRECTION', line: 3},
  {file: 'expression', code: 'UNSUPPORTED_EXPRESSION', line: 20},
  {file: 'rule', code: 'UNSUPPORTED_RULE', line: 20},
  {file: 'duplicate-target', code: 'DUPLICATE_TARGET', severity: 'warning', line: 25},
  {file: 'empty-fieldname', code: 'EMPTY_FIELDNAME', line: 17},
  {file: 'empty-orgfieldname', code: 'EMPTY_ORGFIELDNAME', line: 20},
  {file: 'no-orgfield', code: 'MISSING_ORGFIELDS', line: 17},
  {file: 'hostile-target', code: 'HOSTILE_NAME', line: 17},
  {file: 'hostile-source', code: 'HOSTILE_NAME', line: 20},
  {file: 'unknown-postprocess', code: 'UNKNOWN_POSTPROCESS', line: 20},
  {file: 'json-postprocess', code: 'UNSUPPORTED_POSTPROCESS', line: 20},
  {file: 'unknown-orgfieldid', code: 'UNKNOWN_ORGFIELD_ID', line: 20},
  {file: 'template-relation', code: 'UNSUPPORTED_TEMPLATE_REFERENCE', line: 20},
  {file: 'duplicate-fields-element', code: 'DUPLICATE_ELEMENT', line: 18},
  {file: 'reserved-property', code: 'RESERVED_PROPERTY', line: 17},
  {file: 'reserved-field-pull', mapName: 'HubSpot2Contacts', code: 'RESERVED_FIELD', line: 17},
  {file: 'missing-required-pull', mapName: 'HubSpot2Potentials', code: 'MISSING_REQUIRED', line: 1},
  {file: 'leads-without-lifecyclestage', mapName: 'Leads2HubSpot', code: 'LEAD_LIFECYCLESTAGE', line: 1},
  {file: 'value-element', code: 'VALUE_IGNORED', severity: 'warning', line: 17},
  {file: 'misspelled-element', code: 'UNKNOWN_ELEMENT', severity: 'warning', line: 20},
  {file: 'unknown-map-name', mapName: null, code: 'UNKNOWN_MAP_NAME', severity: 'warning', line: 1},
]

describe('broken maps corpus', () => {
  it('has one case per fixture file, and at least 25', () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.xml')).map((f) => f.replace(/\.xml$/, '')).sort()
    expect(files).toEqual(CASES.map((c) => c.file).sort())
    expect(files.length).toBeGreaterThanOrEqual(25)
  })

  it.each(CASES)('$file → $code at line $line', ({file, mapName, code, severity, line, column}) => {
    const path = join(dir, `${file}.xml`)
    const issues = validateMaps([{file: path, xml: readFileSync(path, 'utf8'), mapName: mapName === null ? undefined : (mapName ?? 'Contacts2HubSpot')}], {requireAll: false})
    const hit = issues.find((i) => i.code === code)
    expect(hit, JSON.stringify(issues)).toBeDefined()
    expect(hit!.severity).toBe(severity ?? 'error')
    expect(hit!.line).toBe(line)
    if (column !== undefined) expect(hit!.column).toBe(column)
    expect(hit!.file).toBe(path)
    expect(hit!.message.length).toBeGreaterThan(10)
    // every issue carries a line, so map:validate can print file:line for all of them
    for (const issue of issues) expect(issue.line, JSON.stringify(issue)).toBeTypeOf('number')
  })
})
