import {readFileSync, readdirSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {validateMaps} from '../../src/maps/index.js'
import {BROKEN_MAP_CASES as CASES} from '../fixtures/maps/broken-cases.js'

const dir = join(import.meta.dirname, '../fixtures/maps/broken')

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
