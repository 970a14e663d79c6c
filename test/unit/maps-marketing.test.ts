/** The lead source correspondence and the marketing map entries (issue 20). */
import {describe, expect, it} from 'vitest'
import {buildLeadSourceMapping, buildStageMapping, HUBSPOT_DEFAULT_PROPERTIES, MARKETING_FIELDS, parseMapXml, toCoreBos, withMarketingFields, type ConvertContext} from '../../src/maps/index.js'
import type {CrmFieldMeta} from '../../src/sync/ports.js'

const leadsource: CrmFieldMeta = {
  name: 'leadsource', label: 'Lead Source', table: 'vtiger_leaddetails', column: 'leadsource', uitype: 15, dataType: 'V', mandatory: false, maxLength: 200, sqlType: 'varchar',
  picklistValues: ['--None--', 'Cold Call', 'Web Site', 'Word of mouth', 'Direct Mail', 'Public Relations', 'Other', 'Partner'], displaytype: 1, presence: 2,
}
const source = HUBSPOT_DEFAULT_PROPERTIES.contacts.find((p) => p.name === 'hs_analytics_source')!
const ctx = (overrides?: Record<string, string>): ConvertContext => ({timezone: 'UTC', stageMap: buildStageMapping([], {}), leadSourceMap: buildLeadSourceMapping({toCoreBos: overrides})})

describe('lead source from HubSpot’s original source', () => {
  it('maps every HubSpot source to a stock coreBOS lead source by default', () => {
    for (const o of source.options!) {
      const r = toCoreBos(o.value, source, leadsource, ctx())
      expect('value' in r && leadsource.picklistValues!.includes(r.value ?? ''), o.value).toBe(true)
    }
    expect(toCoreBos('EMAIL_MARKETING', source, leadsource, ctx())).toEqual({value: 'Direct Mail', warnings: []})
  })

  it('sync.leadSourceMapping overrides one source and keeps the rest', () => {
    expect(toCoreBos('REFERRALS', source, leadsource, ctx({REFERRALS: 'Partner'}))).toEqual({value: 'Partner', warnings: []})
    expect(toCoreBos('ORGANIC_SEARCH', source, leadsource, ctx({REFERRALS: 'Partner'}))).toEqual({value: 'Web Site', warnings: []})
  })

  it('a source HubSpot added later leaves leadsource empty with a warning instead of failing the Lead', () => {
    const r = toCoreBos('NEW_CHANNEL', source, leadsource, ctx())
    expect(r).toEqual({value: '', warnings: [expect.stringContaining("'NEW_CHANNEL' has no counterpart in the lead source correspondence")]})
  })
})

describe('marketing map entries', () => {
  const xml = '<map><originmodule><originname>HubSpot</originname></originmodule><targetmodule><targetname>Leads</targetname></targetmodule><fields>\n    <field><fieldname>lastname</fieldname><Orgfields><Orgfield><OrgfieldName>lastname</OrgfieldName></Orgfield></Orgfields></field>\n  </fields>\n</map>\n'
  it('adds one field per marketing property, keeps what was there, and adds nothing the second time', () => {
    const once = withMarketingFields(xml, new Set(['lastname']))
    expect(once.added).toEqual(MARKETING_FIELDS.map((f) => f.name))
    const parsed = parseMapXml(once.xml, {mapName: 'HubSpot2Leads'})
    expect(parsed.issues.filter((i) => i.severity === 'error')).toEqual([])
    expect(parsed.map!.fields.map((f) => f.target)).toEqual(['lastname', ...MARKETING_FIELDS.map((f) => f.name)])
    const twice = withMarketingFields(once.xml, new Set(parsed.map!.fields.map((f) => f.target)))
    expect(twice).toEqual({xml: once.xml, added: []})
  })
})
