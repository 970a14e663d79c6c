import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {decodeCbMapContent, loadMapsFromDb, loadMapsFromDir, parseMapXml, validateMaps} from '../../src/maps/index.js'

const mapsDir = join(import.meta.dirname, '../../maps')

const SAMPLE = `<?xml version="1.0"?>
<!-- a <field> in a comment is not a field -->
<map>
  <originmodule><originname>Contacts</originname></originmodule>
  <targetmodule><targetname>HubSpot</targetname></targetmodule>
  <fields>
    <field>
      <fieldname>address</fieldname>
      <Orgfields>
        <Orgfield><OrgfieldName>mailingstreet</OrgfieldName></Orgfield>
        <Orgfield>
          <OrgfieldName>mailingcity</OrgfieldName>
          <OrgfieldID>1234</OrgfieldID>
        </Orgfield>
        <delimiter>, </delimiter>
      </Orgfields>
      <master>true</master>
    </field>
    <field>
      <fieldname>lifecyclestage</fieldname>
      <Orgfields><Orgfield><OrgfieldName>customer</OrgfieldName><OrgfieldID>const</OrgfieldID></Orgfield></Orgfields>
    </field>
    <field><fieldname>company</fieldname><Orgfields><Orgfield><OrgfieldName><![CDATA[A & B <x>]]></OrgfieldName><OrgfieldID>CONST</OrgfieldID></Orgfield></Orgfields></field>
    <field><fieldname>jobtitle</fieldname><Orgfields><Orgfield><OrgfieldName>$title</OrgfieldName><OrgfieldID>FIELD</OrgfieldID></Orgfield></Orgfields></field>
    <field><fieldname>website</fieldname><Orgfields><Orgfield><OrgfieldName>caf&#233; &amp; $title</OrgfieldName><OrgfieldID>TEMPLATE</OrgfieldID><postProcess>htmlentities</postProcess></Orgfield></Orgfields></field>
  </fields>
</map>
`

describe('parseMapXml', () => {
  it('builds the typed model with the line of every field and Orgfield', () => {
    const {map, issues} = parseMapXml(SAMPLE, {file: 'maps/Contacts2HubSpot.xml'})
    expect(issues).toEqual([])
    expect(map!.name).toBe('Contacts2HubSpot')
    expect(map!.origin).toBe('Contacts')
    expect(map!.target).toBe('HubSpot')
    expect(map!.fields.map((f) => [f.target, f.line])).toEqual([
      ['address', 7],
      ['lifecyclestage', 19],
      ['company', 23],
      ['jobtitle', 24],
      ['website', 25],
    ])
    const address = map!.fields[0]
    expect(address.delimiter).toBe(', ')
    expect(address.master).toBe(true)
    expect(address.pieces).toEqual([
      {kind: 'field', value: 'mailingstreet', line: 10},
      {kind: 'field', value: 'mailingcity', id: '1234', line: 11},
    ])
    expect(map!.fields[1].pieces[0]).toMatchObject({kind: 'const', value: 'customer'})
    expect(map!.fields[2].pieces[0].value).toBe('A & B <x>')
    expect(map!.fields[3].pieces[0]).toMatchObject({kind: 'field-template', value: 'title'})
    expect(map!.fields[4].pieces[0]).toMatchObject({kind: 'template', value: 'café & $title', postProcess: 'htmlentities'})
  })

  it('keeps delimiters and CONST values verbatim (spaces are data)', () => {
    const xml = '<map><originmodule><originname>Accounts</originname></originmodule><targetmodule><targetname>HubSpot</targetname></targetmodule><fields><field><fieldname>description</fieldname><Orgfields><Orgfield><OrgfieldName> x </OrgfieldName><OrgfieldID>CONST</OrgfieldID></Orgfield><delimiter> - </delimiter></Orgfields></field></fields></map>'
    const {map} = parseMapXml(xml, {mapName: 'Accounts2HubSpot'})
    expect(map!.fields[0].delimiter).toBe(' - ')
    expect(map!.fields[0].pieces[0].value).toBe(' x ')
  })

  it('reports malformed XML with line and column and returns no map', () => {
    const {map, issues} = parseMapXml('<map>\n  <fields>\n</map>\n', {file: 'x.xml'})
    expect(map).toBeUndefined()
    expect(issues).toHaveLength(1)
    expect(issues[0]).toMatchObject({severity: 'error', code: 'XML_MALFORMED', file: 'x.xml', line: 3})
    expect(issues[0].column).toBeTypeOf('number')
  })
})

describe('vtiger_cbmap content', () => {
  const raw = readFileSync(join(mapsDir, 'Contacts2HubSpot.xml'), 'utf8')

  it('decodes entity-encoded (UI-saved) content, including accented letters', () => {
    const encoded = raw.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
    expect(decodeCbMapContent(encoded)).toBe(raw)
    expect(decodeCbMapContent('&lt;map&gt;Caf&eacute; &#8364; &euro;&lt;/map&gt;')).toBe('<map>Café € €</map>')
  })

  it('leaves raw XML alone, so a legitimate &amp; stays valid', () => {
    const xml = '<map><x>A &amp; B</x></map>'
    expect(decodeCbMapContent(xml)).toBe(xml)
  })

  it('loadMapsFromDb parses rows under their mapname, encoded or not', () => {
    const encoded = raw.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
    const {maps, issues} = loadMapsFromDb([{mapname: 'Contacts2HubSpot', content: encoded}, {mapname: 'HubSpot2Contacts', content: raw.replace(/Contacts<\/originname>/, 'HubSpot</originname>').replace(/HubSpot<\/targetname>/, 'Contacts</targetname>')}], {requireAll: false})
    expect(issues.filter((i) => i.severity === 'error')).toEqual([])
    expect(maps.map((m) => m.name)).toEqual(['Contacts2HubSpot', 'HubSpot2Contacts'])
    expect(maps[0].file).toBe('vtiger_cbmap:Contacts2HubSpot')
  })

  it('loadMapsFromDb reports a NULL or broken content instead of throwing', () => {
    const {maps, issues} = loadMapsFromDb([{mapname: 'HubSpot2Leads', content: null}], {requireAll: false})
    expect(maps).toEqual([])
    expect(issues[0]).toMatchObject({code: 'XML_MALFORMED', file: 'vtiger_cbmap:HubSpot2Leads'})
  })
})

describe('the eight default maps', () => {
  it('load and pass offline validation with no issue at all', async () => {
    const {maps, issues} = await loadMapsFromDir(mapsDir)
    expect(issues).toEqual([])
    expect(maps.map((m) => m.name).sort()).toEqual(
      ['Accounts2HubSpot', 'Contacts2HubSpot', 'HubSpot2Accounts', 'HubSpot2Contacts', 'HubSpot2Leads', 'HubSpot2Potentials', 'Leads2HubSpot', 'Potentials2HubSpot'].sort(),
    )
  })

  it('a set without some of the eight warns about each missing one', () => {
    const issues = validateMaps([{file: join(mapsDir, 'Contacts2HubSpot.xml'), xml: readFileSync(join(mapsDir, 'Contacts2HubSpot.xml'), 'utf8')}])
    expect(issues.filter((i) => i.code === 'MISSING_MAP')).toHaveLength(7)
    expect(issues.every((i) => i.severity === 'warning')).toBe(true)
  })

  it('the same map twice is an error', () => {
    const xml = readFileSync(join(mapsDir, 'Contacts2HubSpot.xml'), 'utf8')
    const issues = validateMaps([{file: 'a/Contacts2HubSpot.xml', xml}, {file: 'b/Contacts2HubSpot.xml', xml}], {requireAll: false})
    expect(issues).toEqual([expect.objectContaining({code: 'DUPLICATE_MAP', severity: 'error', file: 'b/Contacts2HubSpot.xml'})])
  })
})
