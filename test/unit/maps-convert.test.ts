import {describe, expect, it} from 'vitest'
import {
  LOSSY_CONVERSIONS,
  buildLeadStatusMapping,
  buildStageMapping,
  COREBOS_SALES_STAGES,
  HUBSPOT_DEFAULT_PIPELINE,
  normalizeCrmValue,
  toCoreBos,
  toHubSpot,
} from '../../src/maps/index.js'
import type {CrmFieldMeta, Pipeline, PropertyDefinition} from '../../src/sync/ports.js'
import {context, crmField, hsProp} from './maps/support.js'

const ctx = context('Europe/Madrid')
const ny = context('America/New_York')
const value = (r: {value: string | null} | {error: string}) => {
  if ('error' in r) throw new Error(r.error)
  return r.value
}
const error = (r: object) => ('error' in r ? (r as {error: string}).error : `no error: ${JSON.stringify(r)}`)

describe('dates', () => {
  const closingdate = crmField('Potentials', 'closingdate')
  const closedate = hsProp('deals', 'closedate')
  const dateProp: PropertyDefinition = {name: 'd', label: 'D', type: 'date', fieldType: 'date'}

  it('coreBOS date → HubSpot date: same day; → datetime: midnight UTC', () => {
    expect(value(toHubSpot('2024-03-10', closingdate, dateProp, ctx))).toBe('2024-03-10')
    expect(value(toHubSpot('2024-03-10', closingdate, closedate, ctx))).toBe('2024-03-10T00:00:00.000Z')
  })

  it('closingdate → closedate → closingdate comes back equal in every zone', () => {
    for (const c of [ctx, ny, context('Pacific/Kiritimati'), context('Pacific/Pago_Pago')]) {
      const hs = value(toHubSpot('2024-12-31', closingdate, closedate, c))
      expect(value(toCoreBos(hs, closedate, closingdate, c))).toBe('2024-12-31')
    }
  })

  it('a HubSpot datetime set by a person (not midnight UTC) becomes its day in the install zone, with a warning', () => {
    // 2024-03-09T23:30Z is already the 10th in Madrid but still the 9th in New York
    const r = toCoreBos('2024-03-09T23:30:00.000Z', closedate, closingdate, ctx)
    expect(r).toMatchObject({value: '2024-03-10'})
    expect((r as {warnings: string[]}).warnings[0]).toMatch(/closingdate: the time of day/)
    expect(value(toCoreBos('2024-03-09T23:30:00.000Z', closedate, closingdate, ny))).toBe('2024-03-09')
    expect(value(toCoreBos('1710028800000', closedate, closingdate, ny))).toBe('2024-03-10')
  })

  it('impossible dates are errors naming the field and the value', () => {
    expect(error(toCoreBos('2024-02-30', dateProp, closingdate, ctx))).toMatch(/closingdate: '2024-02-30' is not a valid date/)
    expect(error(toHubSpot('2023-02-29', closingdate, closedate, ctx))).toMatch(/closingdate: '2023-02-29'/)
    expect(error(toCoreBos('0000-03-01', dateProp, closingdate, ctx))).toMatch(/outside the dates MySQL stores/)
    // a year before 1000 is stored (a deal closing in year 1 pushed from old data comes back unchanged)
    expect(value(toCoreBos('0001-01-01T00:00:00.000Z', dateProp, closingdate, ctx))).toBe('0001-01-01')
  })

  it("'0000-00-00' from old coreBOS data is empty, with a warning", () => {
    expect(toHubSpot('0000-00-00', closingdate, closedate, ctx)).toEqual({value: '', warnings: [expect.stringMatching(/closingdate: '0000-00-00'/)]})
  })
})

describe('datetimes (uitype 70)', () => {
  const dt: CrmFieldMeta = {...crmField('Contacts', 'createdtime'), name: 'lastcall'}
  const prop: PropertyDefinition = {name: 'lastcall', label: 'L', type: 'datetime', fieldType: 'date'}

  it('naive local time ↔ ISO UTC across DST', () => {
    expect(value(toHubSpot('2024-01-15 10:00:00', dt, prop, ctx))).toBe('2024-01-15T09:00:00.000Z')
    expect(value(toHubSpot('2024-07-15 10:00:00', dt, prop, ctx))).toBe('2024-07-15T08:00:00.000Z')
    expect(value(toHubSpot('2024-07-15 10:00:00', dt, prop, ny))).toBe('2024-07-15T14:00:00.000Z')
    expect(value(toCoreBos('2024-07-15T08:00:00.000Z', prop, dt, ctx))).toBe('2024-07-15 10:00:00')
    expect(value(toCoreBos('2024-07-15T10:00:00+02:00', prop, dt, ctx))).toBe('2024-07-15 10:00:00')
  })

  it('a skipped local time (spring forward) moves forward with a warning; a repeated one takes the earlier instant', () => {
    const skipped = toHubSpot('2024-03-31 02:30:00', dt, prop, ctx)
    expect(skipped).toMatchObject({value: '2024-03-31T01:30:00.000Z'})
    expect((skipped as {warnings: string[]}).warnings[0]).toMatch(/does not exist in Europe\/Madrid/)
    expect(value(toCoreBos('2024-03-31T01:30:00.000Z', prop, dt, ctx))).toBe('2024-03-31 03:30:00')
    expect(value(toHubSpot('2024-10-27 02:30:00', dt, prop, ctx))).toBe('2024-10-27T00:30:00.000Z')
    expect(value(toHubSpot('2024-11-03 01:30:00', dt, prop, ny))).toBe('2024-11-03T05:30:00.000Z')
  })

  it("'0000-00-00 00:00:00' is empty with a warning", () => {
    const r = toHubSpot('0000-00-00 00:00:00', dt, prop, ctx)
    expect(r).toMatchObject({value: ''})
    expect((r as {warnings: string[]}).warnings).toHaveLength(1)
  })
})

describe('checkboxes, numbers, multipicklists', () => {
  const emailoptout = crmField('Contacts', 'emailoptout')
  const bool: PropertyDefinition = {name: 'b', label: 'B', type: 'bool', fieldType: 'booleancheckbox'}
  const amount = crmField('Potentials', 'amount')
  const employees = crmField('Accounts', 'employees')
  const number = hsProp('deals', 'amount')

  it("checkbox '1'/'0' ↔ 'true'/'false'", () => {
    expect(value(toHubSpot('1', emailoptout, bool, ctx))).toBe('true')
    expect(value(toHubSpot('0', emailoptout, bool, ctx))).toBe('false')
    expect(value(toCoreBos('true', bool, emailoptout, ctx))).toBe('1')
    expect(value(toCoreBos('false', bool, emailoptout, ctx))).toBe('0')
    expect(value(toCoreBos(null, bool, emailoptout, ctx))).toBe('0')
    expect(error(toHubSpot('maybe', emailoptout, bool, ctx))).toMatch(/emailoptout/)
    expect(error(toHubSpot('1', emailoptout, number, ctx))).toMatch(/checkbox cannot be written to a number/)
  })

  it('numbers: dot decimal, trailing zeros normalised, exact beyond double precision', () => {
    expect(value(toHubSpot('1500.000000', amount, number, ctx))).toBe('1500')
    expect(value(toHubSpot('-0.50', amount, number, ctx))).toBe('-0.5')
    expect(value(toCoreBos('1500', number, amount, ctx))).toBe('1500')
    expect(value(toCoreBos('1.5E3', number, amount, ctx))).toBe('1500')
    expect(value(toHubSpot('1234567890123456789.123456', crmField('Accounts', 'annual_revenue'), number, ctx))).toBe('1234567890123456789.123456')
    expect(error(toHubSpot('1,5', amount, number, ctx))).toMatch(/amount: '1,5' is not a number/)
    expect(error(toCoreBos('abc', number, amount, ctx))).toMatch(/amount: 'abc' is not a number/)
  })

  it('numbers are checked against the column when stored', () => {
    expect(error(toCoreBos('1000000000000', number, amount, ctx))).toMatch(/too large for the column decimal\(18,6\)/)
    expect(value(toCoreBos('-999999999999.999999', number, amount, ctx))).toBe('-999999999999.999999')
    const r = toCoreBos('0.1234567', number, amount, ctx)
    expect(r).toMatchObject({value: '0.123457', warnings: [expect.stringMatching(/rounded to 6 decimals/)]})
    expect(error(toCoreBos('12.5', number, employees, ctx))).toMatch(/not a whole number/)
    expect(error(toCoreBos('3000000000', number, employees, ctx))).toMatch(/out of the column's range/)
    expect(value(toCoreBos('-5', number, employees, ctx))).toBe('-5')
    expect(value(toCoreBos('', number, employees, ctx))).toBeNull()
  })

  it("multipicklists ' |##| ' ↔ ';'", () => {
    const multi: CrmFieldMeta = {...crmField('Accounts', 'industry'), name: 'regions', uitype: 33, picklistValues: ['North', 'South', 'East']}
    const prop: PropertyDefinition = {name: 'regions', label: 'R', type: 'enumeration', fieldType: 'checkbox', options: [{value: 'north', label: 'North'}, {value: 'south', label: 'South'}, {value: 'east', label: 'East'}]}
    expect(value(toHubSpot('North |##| East', multi, prop, ctx))).toBe('north;east')
    expect(value(toCoreBos('north;east', prop, multi, ctx))).toBe('North |##| East')
    expect(error(toHubSpot('North |##| West', multi, prop, ctx))).toMatch(/'West' \(from regions\) is not an option; allowed: north \(North\)/)
  })
})

describe('picklists', () => {
  const dealtype = hsProp('deals', 'dealtype')
  const opportunityType = crmField('Potentials', 'opportunity_type')

  it('match options by value, then label, case-insensitively, both ways', () => {
    expect(value(toHubSpot('New Business', opportunityType, dealtype, ctx))).toBe('newbusiness')
    expect(value(toHubSpot('existingbusiness', opportunityType, dealtype, ctx))).toBe('existingbusiness')
    expect(value(toCoreBos('newbusiness', dealtype, opportunityType, ctx))).toBe('New Business')
    expect(value(toHubSpot('--None--', opportunityType, dealtype, ctx))).toBe('')
  })

  it('an unknown option is an error naming the value and the allowed options', () => {
    expect(error(toHubSpot('Renewal', opportunityType, dealtype, ctx))).toBe(
      "dealtype: 'Renewal' (from opportunity_type) is not an option; allowed: newbusiness (New Business), existingbusiness (Existing Business)",
    )
    expect(error(toCoreBos('renewal', {...dealtype, options: [...dealtype.options!, {value: 'renewal', label: 'Renewal'}]}, opportunityType, ctx))).toMatch(
      /opportunity_type: 'renewal' \("Renewal"\) is not a value of the picklist; allowed: Existing Business, New Business/,
    )
  })

  it('a picklist into a plain HubSpot string passes through', () => {
    expect(value(toHubSpot('Banking', crmField('Accounts', 'industry'), {name: 'industry', label: 'I', type: 'string', fieldType: 'text'}, ctx))).toBe('Banking')
  })

  it('configured picklist maps take precedence', () => {
    const industry = crmField('Accounts', 'industry')
    const prop: PropertyDefinition = {name: 'industry', label: 'I', type: 'enumeration', fieldType: 'select', options: [{value: 'APPAREL_FASHION', label: 'Apparel & Fashion'}]}
    const c = context('UTC', {picklistMaps: {industry: {toHubSpot: {Apparel: 'APPAREL_FASHION'}, toCoreBos: {APPAREL_FASHION: 'Apparel'}}}})
    expect(value(toHubSpot('Apparel', industry, prop, c))).toBe('APPAREL_FASHION')
    expect(value(toCoreBos('APPAREL_FASHION', prop, industry, c))).toBe('Apparel')
  })
})

describe('sales_stage ↔ dealstage', () => {
  const salesStage = crmField('Potentials', 'sales_stage')
  const dealstage = hsProp('deals', 'dealstage')

  it('every coreBOS stage has a stage id and every stage id a canonical coreBOS stage', () => {
    const m = buildStageMapping([HUBSPOT_DEFAULT_PIPELINE])
    expect(m.warnings).toEqual([])
    expect(m.pipelineId).toBe('default')
    for (const stage of COREBOS_SALES_STAGES) expect(HUBSPOT_DEFAULT_PIPELINE.stages.map((s) => s.id)).toContain(m.toHubSpot[stage])
    // HubSpot → coreBOS → HubSpot is the identity
    for (const s of HUBSPOT_DEFAULT_PIPELINE.stages) expect(m.toHubSpot[m.toCoreBos[s.id]]).toBe(s.id)
  })

  it('sends ids, not labels; many-to-one, with the current coreBOS stage kept when it already corresponds', () => {
    expect(value(toHubSpot('Needs Analysis', salesStage, dealstage, ctx))).toBe('qualifiedtobuy')
    expect(value(toHubSpot('Closed Won', salesStage, dealstage, ctx))).toBe('closedwon')
    expect(value(toCoreBos('qualifiedtobuy', dealstage, salesStage, ctx))).toBe('Qualification')
    expect(value(toCoreBos('qualifiedtobuy', dealstage, salesStage, ctx, 'Needs Analysis'))).toBe('Needs Analysis')
    expect(value(toCoreBos('contractsent', dealstage, salesStage, ctx, 'Needs Analysis'))).toBe('Proposal/Price Quote')
    expect(error(toCoreBos('12345', dealstage, salesStage, ctx))).toMatch(/sales_stage: HubSpot value '12345' has no counterpart/)
  })

  it('custom pipelines match by label, fall back on the default stage labels, and accept overrides', () => {
    const custom: Pipeline = {
      id: '777',
      label: 'Partners',
      stages: [
        {id: '1001', label: 'Prospecting', displayOrder: 0, isClosed: false, probability: 0.1},
        {id: '1002', label: 'Negotiation/Review', displayOrder: 1, isClosed: false, probability: 0.5},
        {id: '1003', label: 'Closed Won', displayOrder: 2, isClosed: true, probability: 1},
        {id: '1004', label: 'Closed Lost', displayOrder: 3, isClosed: true, probability: 0},
        {id: '1005', label: 'On Hold', displayOrder: 4, isClosed: false, probability: 0.3},
      ],
    }
    const m = buildStageMapping([HUBSPOT_DEFAULT_PIPELINE, custom], {pipelineId: 'Partners', toHubSpot: {Qualification: '1001'}, toCoreBos: {'On Hold': 'Perception Analysis'}})
    expect(m.pipelineId).toBe('777')
    expect(m.toHubSpot).toMatchObject({Prospecting: '1001', Qualification: '1001', 'Negotiation/Review': '1002', 'Closed Won': '1003', 'Closed Lost': '1004'})
    expect(m.toCoreBos).toEqual({1001: 'Prospecting', 1002: 'Negotiation/Review', 1003: 'Closed Won', 1004: 'Closed Lost', 1005: 'Perception Analysis'})
    expect(m.warnings.some((w) => w.includes("'Value Proposition'"))).toBe(true)
    const c = {...ctx, stageMap: m}
    expect(error(toHubSpot('Value Proposition', salesStage, dealstage, c))).toMatch(/no counterpart in the stages of deal pipeline 777/)
  })

  it('an unknown pipeline is reported, not guessed', () => {
    expect(buildStageMapping([HUBSPOT_DEFAULT_PIPELINE], {pipelineId: 'nope'}).warnings[0]).toMatch(/no deal pipeline 'nope'/)
  })
})

describe('leadstatus ↔ hs_lead_status', () => {
  const leadstatus = crmField('Leads', 'leadstatus')
  const prop = hsProp('contacts', 'hs_lead_status')

  it('covers every value both ways, HubSpot → coreBOS → HubSpot being the identity', () => {
    const m = buildLeadStatusMapping(prop.options)
    expect(m.warnings).toEqual([])
    for (const o of prop.options!) expect(m.toHubSpot[m.toCoreBos[o.value]]).toBe(o.value)
    expect(value(toHubSpot('Hot', leadstatus, prop, ctx))).toBe('IN_PROGRESS')
    expect(value(toCoreBos('IN_PROGRESS', prop, leadstatus, ctx))).toBe('Pre Qualified')
    expect(value(toCoreBos('IN_PROGRESS', prop, leadstatus, ctx, 'Hot'))).toBe('Hot')
    expect(value(toHubSpot('--None--', leadstatus, prop, ctx))).toBe('')
  })
})

describe('storing text into coreBOS', () => {
  const firstname = crmField('Contacts', 'firstname') // varchar(40)
  const text = hsProp('contacts', 'firstname')

  it('truncates to the column with a warning naming the field', () => {
    const r = toCoreBos('x'.repeat(45), text, firstname, ctx)
    expect(r).toEqual({value: 'x'.repeat(40), warnings: ['firstname: truncated to 40 characters (was 45), the length of vtiger_contactdetails.firstname']})
  })

  it('replaces 4-byte characters on utf8mb3 columns and strips NUL, each with a warning', () => {
    const r = toCoreBos('Ana 😀\u0000', text, firstname, ctx)
    expect(r).toMatchObject({value: 'Ana \uFFFD'})
    expect((r as {warnings: string[]}).warnings).toHaveLength(2)
    expect(value(toCoreBos('Ana 😀', text, firstname, {...ctx, utf8mb4: true}))).toBe('Ana 😀')
  })

  it('counts characters, not UTF-16 units, and cuts text columns by bytes', () => {
    expect(value(toCoreBos('é'.repeat(40), text, firstname, ctx))).toBe('é'.repeat(40))
    const description = crmField('Accounts', 'description') // mediumtext
    expect(toCoreBos('long', hsProp('companies', 'description'), description, ctx)).toEqual({value: 'long', warnings: []})
    const cf: CrmFieldMeta = {...description, sqlType: 'text', maxLength: null}
    const r = toCoreBos('é'.repeat(40_000), hsProp('companies', 'description'), cf, ctx)
    expect(Buffer.byteLength((r as {value: string}).value)).toBe(65_534)
  })

  it('never throws on odd input', () => {
    for (const v of ['\uD800', '\u0000', '', ' ', '💥'.repeat(3)]) {
      expect(() => toCoreBos(v, text, firstname, ctx)).not.toThrow()
      expect(() => toHubSpot(v, firstname, text, ctx)).not.toThrow()
    }
  })
})

describe('comparison forms and the lossy list', () => {
  it('normalizeCrmValue equates storage variants', () => {
    expect(normalizeCrmValue('1500.000000', crmField('Potentials', 'amount'))).toBe('1500')
    expect(normalizeCrmValue(null, crmField('Contacts', 'emailoptout'))).toBe('0')
    expect(normalizeCrmValue('0000-00-00', crmField('Potentials', 'closingdate'))).toBe('')
  })

  it('LOSSY_CONVERSIONS documents every exception', () => {
    expect(LOSSY_CONVERSIONS.length).toBeGreaterThanOrEqual(10)
    expect(LOSSY_CONVERSIONS.map((l) => l.conversion)).toContain('sales_stage ↔ dealstage')
  })
})
