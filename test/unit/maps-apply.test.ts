import {describe, expect, it} from 'vitest'
import {applyMap, mapSources, parseMapXml, type FieldMap} from '../../src/maps/index.js'

function map(fields: string, name = 'Accounts2HubSpot'): FieldMap {
  const xml = `<map><originmodule><originname>Accounts</originname></originmodule><targetmodule><targetname>HubSpot</targetname></targetmodule><fields>${fields}</fields></map>`
  const {map: m, issues} = parseMapXml(xml, {mapName: name})
  if (!m) throw new Error(JSON.stringify(issues))
  return m
}
const org = (name: string, id?: string, extra = '') => `<Orgfield><OrgfieldName>${name}</OrgfieldName>${id ? `<OrgfieldID>${id}</OrgfieldID>` : ''}${extra}</Orgfield>`
const field = (target: string, pieces: string, delimiter?: string) =>
  `<field><fieldname>${target}</fieldname><Orgfields>${pieces}${delimiter === undefined ? '' : `<delimiter>${delimiter}</delimiter>`}</Orgfields></field>`

describe('applyMap (coreBOS processMap semantics)', () => {
  it('copies a plain field', () => {
    expect(applyMap(map(field('name', org('accountname'))), {accountname: 'ACME'}).values).toEqual({name: 'ACME'})
  })

  it('joins pieces with the delimiter appended after each, then removes one trailing delimiter', () => {
    const m = map(field('description', org('email1') + org('phone'), ' - '))
    expect(applyMap(m, {email1: 'a@b.c', phone: '555'}).values.description).toBe('a@b.c - 555')
  })

  it('a missing or null source adds nothing, not even the delimiter', () => {
    const m = map(field('description', org('email1') + org('phone') + org('fax'), ' - '))
    expect(applyMap(m, {email1: null, phone: '555', fax: '777'}).values.description).toBe('555 - 777')
    expect(applyMap(m, {phone: '555'}).values.description).toBe('555')
  })

  it("an empty-string source is set (PHP isset), so it leaves a doubled delimiter as coreBOS does", () => {
    const m = map(field('description', org('email1') + org('phone') + org('fax'), ' - '))
    expect(applyMap(m, {email1: 'a', phone: '', fax: 'f'}).values.description).toBe('a -  - f')
  })

  it('a field whose sources are all missing yields an empty value and is listed as unset', () => {
    const r = applyMap(map(field('phone', org('phone'))), {})
    expect(r.values).toEqual({phone: ''})
    expect(r.unset).toEqual(['phone'])
  })

  it('CONST is literal and always contributes', () => {
    const m = map(field('lifecyclestage', org('customer', 'CONST')) + field('x', org('A', 'const') + org('phone') + org('B', 'CONST'), '/'))
    expect(applyMap(m, {}).values).toEqual({lifecyclestage: 'customer', x: 'A/B'})
  })

  it('FIELD renders $name from the origin; TEMPLATE renders free text with placeholders', () => {
    const m = map(field('a', org('$accountname', 'FIELD')) + field('b', org('bill_city', 'FIELD')) + field('c', org('Call $phone at $bill_city!', 'TEMPLATE')))
    expect(applyMap(m, {accountname: 'ACME', bill_city: 'Madrid', phone: '555'}).values).toEqual({a: 'ACME', b: 'Madrid', c: 'Call 555 at Madrid!'})
    expect(applyMap(m, {}).values.c).toBe('Call  at !')
  })

  it('deviation: only one trailing delimiter string is removed, never real trailing characters', () => {
    // coreBOS's rtrim($value, ' - ') would also strip the hyphen and space that belong to the data
    const m = map(field('description', org('email1') + org('phone'), ' - '))
    expect(applyMap(m, {email1: 'ends with -', phone: null}).values.description).toBe('ends with -')
    expect(applyMap(m, {email1: 'x', phone: 'y - '}).values.description).toBe('x - y - ')
    const comma = map(field('tags', org('a') + org('b'), ','))
    expect(applyMap(comma, {a: '1,,', b: null}).values.tags).toBe('1,,')
  })

  it('a later field with the same destination replaces the earlier one', () => {
    const m = map(field('phone', org('phone')) + field('phone', org('otherphone')))
    expect(applyMap(m, {phone: '1', otherphone: '2'}).values).toEqual({phone: '2'})
    expect(mapSources(m)).toEqual(['otherphone'])
  })

  it('EXPRESSION and RULE are never silently dropped: the field is left out with a warning', () => {
    const m = map(field('name', org('accountname')) + field('x', org('uppercase(accountname)', 'EXPRESSION')) + field('y', org('a', 'RULE', '<Rule>R</Rule>')))
    const r = applyMap(m, {accountname: 'acme'})
    expect(r.values).toEqual({name: 'acme'})
    expect(r.warnings).toHaveLength(2)
    expect(r.warnings[0]).toMatch(/^x: an EXPRESSION \(line 1\)/)
    expect(r.warnings[1]).toMatch(/^y: a RULE/)
  })

  it('relation templates are left out with a warning', () => {
    const r = applyMap(map(field('x', org('$(account_id : (Accounts) accountname)', 'FIELD'))), {})
    expect(r.values).toEqual({})
    expect(r.warnings[0]).toMatch(/relation placeholder/)
  })

  it('postProcess runs on the accumulated value after its piece', () => {
    const m = map(field('n', org('employees', undefined, '<postProcess>intval</postProcess>')) + field('h', org('A', 'CONST') + org('x', undefined, '<postProcess>htmlspecialchars</postProcess>'), '|'))
    expect(applyMap(m, {employees: '42 people', x: '&'}).values).toEqual({n: '42', h: 'A|&amp;'})
  })

  it('mapSources lists what a map reads, for SELECT lists and HubSpot properties', () => {
    const m = map(field('a', org('accountname')) + field('b', org('phone') + org('x', 'CONST')) + field('c', org('$email1', 'FIELD')) + field('d', org('$bill_city, $accountname', 'TEMPLATE')))
    expect(mapSources(m)).toEqual(['accountname', 'phone', 'email1', 'bill_city'])
  })
})
