import {readFileSync, readdirSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {HUBSPOT_DEFAULT_PROPERTIES, validateMapsOnline, type MapInput, type OnlineSchemas} from '../../src/maps/index.js'
import type {CrmFieldMeta} from '../../src/sync/ports.js'
import type {CrmModule} from '../../src/sync/types.js'
import {crmFields} from './maps/support.js'

const mapsDir = join(import.meta.dirname, '../../maps')
const defaults: MapInput[] = readdirSync(mapsDir)
  .filter((f) => f.endsWith('.xml'))
  .map((f) => ({file: join(mapsDir, f), xml: readFileSync(join(mapsDir, f), 'utf8')}))

const TABLES: Record<CrmModule, string[]> = {
  Accounts: ['vtiger_account', 'vtiger_accountbillads', 'vtiger_accountshipads', 'vtiger_accountscf'],
  Contacts: ['vtiger_contactdetails', 'vtiger_contactaddress', 'vtiger_contactsubdetails', 'vtiger_contactscf', 'vtiger_customerdetails'],
  Leads: ['vtiger_leaddetails', 'vtiger_leadaddress', 'vtiger_leadsubdetails', 'vtiger_leadscf'],
  Potentials: ['vtiger_potential', 'vtiger_potentialscf'],
}

function schemas(patch: (module: CrmModule, fields: Map<string, CrmFieldMeta>) => void = () => {}): OnlineSchemas {
  return {
    crm: (module) => {
      const fields = crmFields(module)
      patch(module, fields)
      return {fields, tables: TABLES[module].map((name) => ({name})), entityTable: 'vtiger_crmentity'}
    },
    hubspot: async (type) => HUBSPOT_DEFAULT_PROPERTIES[type],
  }
}

const one = (name: string, origin: string, target: string, fields: string): MapInput => ({
  file: `${name}.xml`,
  xml: `<map>\n<originmodule><originname>${origin}</originname></originmodule>\n<targetmodule><targetname>${target}</targetname></targetmodule>\n<fields>\n${fields}</fields>\n</map>\n`,
})
const f = (target: string, source: string, id = '') =>
  `<field><fieldname>${target}</fieldname><Orgfields><Orgfield><OrgfieldName>${source}</OrgfieldName>${id ? `<OrgfieldID>${id}</OrgfieldID>` : ''}</Orgfield></Orgfields></field>\n`

describe('validateMapsOnline', () => {
  it('the eight default maps check clean against the real schema and HubSpot defaults', async () => {
    const issues = await validateMapsOnline(defaults, schemas())
    expect(issues.filter((i) => i.severity === 'error')).toEqual([])
    // only picklist values coreBOS has and HubSpot lacks are worth a warning; the defaults have none
    expect(issues).toEqual([])
  })

  it('reports every problem of a push map at once, with lines', async () => {
    const input = one(
      'Contacts2HubSpot',
      'Contacts',
      'HubSpot',
      f('lastname', 'lastname') + // 5
        f('nosuchprop', 'email') + // 6
        f('firstname', 'nosuchfield') + // 7
        f('createdate', 'birthday') + // 8
        f('jobtitle', 'assistant') + // 9 inactive (patched)
        f('lifecyclestage', 'client', 'CONST') + // 10
        f('phone', 'campaignrelstatus'), // 11 pseudo-field
    )
    const issues = await validateMapsOnline([input], schemas((_m, fields) => {
      fields.get('assistant')!.presence = 1
    }), {requireAll: false})
    const got = issues.map((i) => `${i.code}@${i.line}`)
    expect(got).toEqual(
      expect.arrayContaining(['UNKNOWN_HUBSPOT_PROPERTY@6', 'UNKNOWN_CRM_FIELD@7', 'READ_ONLY_HUBSPOT_PROPERTY@8', 'INACTIVE_CRM_FIELD@9', 'BAD_OPTION@10', 'PSEUDO_FIELD@11']),
    )
  })

  it('checks type compatibility: checkbox → number is an error, date → datetime is fine', async () => {
    const input = one('Contacts2HubSpot', 'Contacts', 'HubSpot', f('lastname', 'lastname') + f('hs_count', 'emailoptout') + f('hs_when', 'birthday'))
    const s = schemas()
    const issues = await validateMapsOnline([input], {
      ...s,
      hubspot: () => [
        ...HUBSPOT_DEFAULT_PROPERTIES.contacts,
        {name: 'hs_count', label: 'C', type: 'number', fieldType: 'number'},
        {name: 'hs_when', label: 'W', type: 'datetime', fieldType: 'date'},
      ],
    }, {requireAll: false})
    expect(issues).toEqual([expect.objectContaining({code: 'TYPE_MISMATCH', severity: 'error', line: 6})])
  })

  it('pull maps: unknown/record-number/reference targets, custom mandatory fields, picklist options without a coreBOS value', async () => {
    const input = one(
      'HubSpot2Leads',
      'HubSpot',
      'Leads',
      f('lastname', 'lastname') + f('company', 'company') + f('lead_no', 'email') + f('leadsource', 'lifecyclestage') + f('nosuch', 'email'),
    )
    const issues = await validateMapsOnline([input], schemas((module, fields) => {
      if (module === 'Leads') fields.set('cf_901', {...fields.get('designation')!, name: 'cf_901', column: 'cf_901', table: 'vtiger_leadscf', mandatory: true})
    }), {requireAll: false})
    const got = issues.map((i) => `${i.severity}:${i.code}@${i.line}`)
    expect(got).toEqual(
      expect.arrayContaining(['error:READ_ONLY_CRM_FIELD@7', 'warning:PICKLIST_OPTION_MISSING@8', 'error:UNKNOWN_CRM_FIELD@9', 'error:MISSING_REQUIRED@1']),
    )
    expect(issues.find((i) => i.code === 'MISSING_REQUIRED')!.message).toMatch(/cf_901/)
  })

  it('a schema that cannot be read becomes an issue, not a throw', async () => {
    const issues = await validateMapsOnline(defaults.filter((d) => d.file.endsWith('Accounts2HubSpot.xml')), {
      crm: () => {
        throw new Error('connection refused')
      },
      hubspot: () => [],
    }, {requireAll: false})
    expect(issues).toEqual([expect.objectContaining({code: 'SCHEMA_UNAVAILABLE', severity: 'error'})])
  })
  it('reports a lead status with no counterpart on the other side of the lead status correspondence', async () => {
    const push = one('Leads2HubSpot', 'Leads', 'HubSpot', f('lastname', 'lastname') + f('hs_lead_status', 'leadstatus') + f('lifecyclestage', 'lead', 'CONST'))
    const pull = one('HubSpot2Leads', 'HubSpot', 'Leads', f('lastname', 'lastname') + f('company', 'company') + f('leadstatus', 'hs_lead_status'))
    // the stock values of both sides all have a counterpart
    expect(await validateMapsOnline([push, pull], schemas(), {requireAll: false})).toEqual([])

    const customised: OnlineSchemas = {
      crm: (module) => {
        const fields = crmFields(module)
        const ls = fields.get('leadstatus')
        if (ls) fields.set('leadstatus', {...ls, picklistValues: [...(ls.picklistValues ?? []).filter((v) => v !== 'Cold'), 'Nurturing']})
        return {fields, tables: TABLES[module].map((name) => ({name})), entityTable: 'vtiger_crmentity'}
      },
      hubspot: async (type) =>
        HUBSPOT_DEFAULT_PROPERTIES[type].map((p) => (p.name === 'hs_lead_status' ? {...p, options: [...(p.options ?? []), {value: 'PARTNER_REFERRAL', label: 'Partner referral'}]} : p)),
    }
    // OPEN maps to the stock 'Cold', which this install removed
    const issues = await validateMapsOnline([push, pull], customised, {requireAll: false})
    expect(issues.map((i) => `${i.severity}:${i.code}@${i.line}:${i.message}`)).toEqual([
      'warning:PICKLIST_OPTION_MISSING@6:leadstatus values without an hs_lead_status counterpart (records holding them will fail): Nurturing',
      'warning:PICKLIST_OPTION_MISSING@7:hs_lead_status options without a leadstatus value of this install (records holding them fail, or get a status the picklist lacks): OPEN, PARTNER_REFERRAL',
    ])
  })
})
