/**
 * The static part of an emulated portal: object types, default property definitions, the default
 * deal pipeline and the HubSpot-defined association types.
 */

import {ENGAGEMENT_ASSOCIATION_IDS, ENGAGEMENT_PROPERTIES, ENGAGEMENT_SINGULAR, ENGAGEMENT_TYPE_ID, ENGAGEMENT_TYPES, type EngagementTypeName} from './engagements.js'

export type ParentTypeName = 'contacts' | 'companies' | 'deals'
export type ObjectTypeName = ParentTypeName | EngagementTypeName
export const OBJECT_TYPES: readonly ObjectTypeName[] = ['contacts', 'companies', 'deals', ...ENGAGEMENT_TYPES]

export function isEngagementType(type: ObjectTypeName): type is EngagementTypeName {
  return (ENGAGEMENT_TYPES as readonly string[]).includes(type)
}

export const TYPE_ID: Readonly<Record<ObjectTypeName, string>> = {
  contacts: '0-1',
  companies: '0-2',
  deals: '0-3',
  ...ENGAGEMENT_TYPE_ID,
}

/** Singular upper-case name, as HubSpot spells it in some error messages ("Could not get some CONTACT objects"). */
export const TYPE_SINGULAR: Readonly<Record<ObjectTypeName, string>> = {
  contacts: 'CONTACT',
  companies: 'COMPANY',
  deals: 'DEAL',
  ...ENGAGEMENT_SINGULAR,
}

const TYPE_ALIASES: ReadonlyMap<string, ObjectTypeName> = new Map<string, ObjectTypeName>([
  ['contacts', 'contacts'],
  ['contact', 'contacts'],
  ['0-1', 'contacts'],
  ['companies', 'companies'],
  ['company', 'companies'],
  ['0-2', 'companies'],
  ['deals', 'deals'],
  ['deal', 'deals'],
  ['0-3', 'deals'],
  ...ENGAGEMENT_TYPES.flatMap((t): Array<[string, ObjectTypeName]> => [[t, t], [t.slice(0, -1), t], [ENGAGEMENT_TYPE_ID[t], t]]),
])

export function resolveObjectType(raw: string): ObjectTypeName | undefined {
  return TYPE_ALIASES.get(raw.toLowerCase())
}

export const MODIFIED_PROP: Readonly<Record<ObjectTypeName, string>> = {
  contacts: 'lastmodifieddate',
  companies: 'hs_lastmodifieddate',
  deals: 'hs_lastmodifieddate',
  ...Object.fromEntries(ENGAGEMENT_TYPES.map((t) => [t, 'hs_lastmodifieddate'])) as Record<EngagementTypeName, string>,
}

/** What GET, batch read and search return when the caller names no properties (§3.2). */
export const DEFAULT_PROPERTIES: Readonly<Record<ObjectTypeName, readonly string[]>> = {
  contacts: ['createdate', 'email', 'firstname', 'hs_object_id', 'lastmodifieddate', 'lastname'],
  companies: ['createdate', 'domain', 'hs_lastmodifieddate', 'hs_object_id', 'name'],
  deals: ['amount', 'closedate', 'createdate', 'dealname', 'dealstage', 'hs_lastmodifieddate', 'hs_object_id', 'pipeline'],
  ...Object.fromEntries(ENGAGEMENT_TYPES.map((t) => [t, ['createdate', 'hs_lastmodifieddate', 'hs_object_id', 'hs_timestamp']])) as Record<EngagementTypeName, string[]>,
}

/** Properties the free-text `query` of a search looks at. */
export const QUERY_PROPERTIES: Readonly<Record<ObjectTypeName, readonly string[]>> = {
  contacts: ['firstname', 'lastname', 'email', 'phone', 'mobilephone', 'company', 'hs_additional_emails'],
  companies: ['name', 'domain', 'website', 'phone'],
  deals: ['dealname'],
  notes: ['hs_note_body'],
  calls: ['hs_call_title', 'hs_call_body'],
  meetings: ['hs_meeting_title', 'hs_meeting_body'],
  tasks: ['hs_task_subject', 'hs_task_body'],
  emails: ['hs_email_subject', 'hs_email_text'],
}

export type PropertyType = 'string' | 'number' | 'date' | 'datetime' | 'enumeration' | 'bool' | 'phone_number'
export const PROPERTY_TYPES: readonly string[] = ['string', 'number', 'date', 'datetime', 'enumeration', 'bool', 'phone_number']
export const FIELD_TYPES: readonly string[] = [
  'textarea', 'text', 'date', 'file', 'number', 'select', 'radio', 'checkbox', 'booleancheckbox',
  'calculation_equation', 'phonenumber', 'html',
]

export interface PropertyOption {
  label: string
  value: string
  displayOrder: number
  hidden: boolean
  description?: string
}

export interface PropertyDef {
  name: string
  label: string
  type: PropertyType
  fieldType: string
  groupName: string
  description: string
  options: PropertyOption[]
  displayOrder: number
  hasUniqueValue: boolean
  /** value cannot be written through the API */
  readOnlyValue: boolean
  calculated: boolean
  hubspotDefined: boolean
  hidden: boolean
  formField: boolean
  /** options come from elsewhere (owners): any id-shaped value is accepted */
  externalOptions: boolean
  createdAtMs: number
  updatedAtMs: number
}

export interface PropertyGroupDef {
  name: string
  label: string
  displayOrder: number
}

export const LIFECYCLE_STAGES = [
  'subscriber', 'lead', 'marketingqualifiedlead', 'salesqualifiedlead', 'opportunity', 'customer', 'evangelist', 'other',
] as const
const LIFECYCLE_LABELS = [
  'Subscriber', 'Lead', 'Marketing Qualified Lead', 'Sales Qualified Lead', 'Opportunity', 'Customer', 'Evangelist', 'Other',
]

const LEAD_STATUSES = [
  ['NEW', 'New'], ['OPEN', 'Open'], ['IN_PROGRESS', 'In Progress'], ['OPEN_DEAL', 'Open Deal'],
  ['UNQUALIFIED', 'Unqualified'], ['ATTEMPTED_TO_CONTACT', 'Attempted to Contact'], ['CONNECTED', 'Connected'],
  ['BAD_TIMING', 'Bad Timing'],
] as const

const INDUSTRIES = [
  'ACCOUNTING', 'AIRLINES_AVIATION', 'APPAREL_FASHION', 'ARCHITECTURE_PLANNING', 'AUTOMOTIVE', 'BANKING',
  'BIOTECHNOLOGY', 'BUILDING_MATERIALS', 'CHEMICALS', 'COMPUTER_HARDWARE', 'COMPUTER_SOFTWARE', 'CONSTRUCTION',
  'CONSUMER_GOODS', 'CONSUMER_SERVICES', 'EDUCATION_MANAGEMENT', 'ENTERTAINMENT', 'FINANCIAL_SERVICES',
  'FOOD_BEVERAGES', 'GOVERNMENT_ADMINISTRATION', 'HOSPITAL_HEALTH_CARE', 'HOSPITALITY', 'INFORMATION_TECHNOLOGY_AND_SERVICES',
  'INSURANCE', 'INTERNET', 'LEGAL_SERVICES', 'LOGISTICS_AND_SUPPLY_CHAIN', 'MACHINERY', 'MANAGEMENT_CONSULTING',
  'MARKETING_AND_ADVERTISING', 'MEDICAL_DEVICES', 'NONPROFIT_ORGANIZATION_MANAGEMENT', 'OIL_ENERGY',
  'PHARMACEUTICALS', 'REAL_ESTATE', 'RETAIL', 'TELECOMMUNICATIONS', 'TRANSPORTATION_TRUCKING_RAILROAD', 'UTILITIES',
  'WHOLESALE',
] as const

const ANALYTICS_SOURCES = [
  'ORGANIC_SEARCH', 'PAID_SEARCH', 'EMAIL_MARKETING', 'SOCIAL_MEDIA', 'REFERRALS', 'OTHER_CAMPAIGNS',
  'DIRECT_TRAFFIC', 'OFFLINE', 'PAID_SOCIAL', 'AI_REFERRALS',
] as const

function titleCase(value: string): string {
  return value.toLowerCase().split('_').map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join(' ')
}

function options(pairs: ReadonlyArray<readonly [string, string]>): PropertyOption[] {
  return pairs.map(([value, label], i) => ({label, value, displayOrder: i, hidden: false}))
}

type Spec = [name: string, label: string, type: PropertyType, fieldType: string, extra?: Partial<PropertyDef>]

function build(specs: Spec[], group: string, epochMs: number): PropertyDef[] {
  return specs.map(([name, label, type, fieldType, extra], i) => ({
    name,
    label,
    type,
    fieldType,
    groupName: group,
    description: '',
    options: [],
    displayOrder: i,
    hasUniqueValue: false,
    readOnlyValue: false,
    calculated: false,
    hubspotDefined: true,
    hidden: false,
    formField: !(extra?.readOnlyValue ?? false),
    externalOptions: false,
    createdAtMs: epochMs,
    updatedAtMs: epochMs,
    ...extra,
  }))
}

const RO = {readOnlyValue: true} as const

function lifecycle(): Partial<PropertyDef> {
  return {options: options(LIFECYCLE_STAGES.map((v, i) => [v, LIFECYCLE_LABELS[i]!] as const))}
}

const OWNER = {externalOptions: true} as const

function systemProps(modified: string): Spec[] {
  return [
    ['hs_object_id', 'Record ID', 'number', 'number', {...RO, hasUniqueValue: true}],
    ['createdate', 'Create Date', 'datetime', 'date', RO],
    [modified, 'Last Modified Date', 'datetime', 'date', {...RO, calculated: true}],
    ['hs_merged_object_ids', 'Merged record IDs', 'enumeration', 'checkbox', {...RO, externalOptions: true}],
  ]
}

export interface DealStageDef {
  id: string
  label: string
  probability: string
  isClosed: boolean
}

export const DEFAULT_DEAL_STAGES: readonly DealStageDef[] = [
  {id: 'appointmentscheduled', label: 'Appointment Scheduled', probability: '0.2', isClosed: false},
  {id: 'qualifiedtobuy', label: 'Qualified To Buy', probability: '0.4', isClosed: false},
  {id: 'presentationscheduled', label: 'Presentation Scheduled', probability: '0.6', isClosed: false},
  {id: 'decisionmakerboughtin', label: 'Decision Maker Bought-In', probability: '0.8', isClosed: false},
  {id: 'contractsent', label: 'Contract Sent', probability: '0.9', isClosed: false},
  {id: 'closedwon', label: 'Closed Won', probability: '1.0', isClosed: true},
  {id: 'closedlost', label: 'Closed Lost', probability: '0.0', isClosed: true},
]

export interface PipelineDef {
  id: string
  label: string
  displayOrder: number
  stages: DealStageDef[]
  createdAtMs: number
  updatedAtMs: number
}

export function defaultPipelines(epochMs: number): PipelineDef[] {
  return [{id: 'default', label: 'Sales Pipeline', displayOrder: 0, stages: [...DEFAULT_DEAL_STAGES], createdAtMs: epochMs, updatedAtMs: epochMs}]
}

export function defaultGroups(type: ObjectTypeName): PropertyGroupDef[] {
  if (isEngagementType(type)) return [{name: `${ENGAGEMENT_SINGULAR[type].toLowerCase()}information`, label: `${ENGAGEMENT_SINGULAR[type].charAt(0)}${ENGAGEMENT_SINGULAR[type].slice(1).toLowerCase()} information`, displayOrder: 0}]
  const main = {contacts: 'contactinformation', companies: 'companyinformation', deals: 'dealinformation'}[type]
  const mainLabel = {contacts: 'Contact information', companies: 'Company information', deals: 'Deal information'}[type]
  const groups: PropertyGroupDef[] = [{name: main, label: mainLabel, displayOrder: 0}]
  if (type !== 'deals') groups.push({name: 'analyticsinformation', label: 'Web analytics history', displayOrder: 1})
  if (type === 'contacts') groups.push({name: 'emailinformation', label: 'Email information', displayOrder: 2})
  return groups
}

export function defaultProperties(type: ObjectTypeName, epochMs: number, pipelines: PipelineDef[]): PropertyDef[] {
  if (isEngagementType(type)) {
    const specs: Spec[] = ENGAGEMENT_PROPERTIES[type].map(([name, label, t, fieldType, opts]) => [name, label, t, fieldType, opts ? {options: options(opts)} : undefined])
    return build([
      ['hs_timestamp', 'Activity date', 'datetime', 'date'],
      ...specs,
      ['hubspot_owner_id', 'Activity assigned to', 'enumeration', 'select', OWNER],
      ...systemProps('hs_lastmodifieddate'),
    ], defaultGroups(type)[0].name, epochMs)
  }
  if (type === 'contacts') {
    return [
      ...build([
        ['firstname', 'First Name', 'string', 'text'],
        ['lastname', 'Last Name', 'string', 'text'],
        ['email', 'Email', 'string', 'text', {hasUniqueValue: false}],
        ['phone', 'Phone Number', 'string', 'phonenumber'],
        ['mobilephone', 'Mobile Phone Number', 'string', 'phonenumber'],
        ['fax', 'Fax Number', 'string', 'phonenumber'],
        ['salutation', 'Salutation', 'string', 'text'],
        ['company', 'Company Name', 'string', 'text'],
        ['website', 'Website URL', 'string', 'text'],
        ['jobtitle', 'Job Title', 'string', 'text'],
        ['address', 'Street Address', 'string', 'text'],
        ['city', 'City', 'string', 'text'],
        ['state', 'State/Region', 'string', 'text'],
        ['zip', 'Postal Code', 'string', 'text'],
        ['country', 'Country/Region', 'string', 'text'],
        ['date_of_birth', 'Date of birth', 'date', 'date'],
        ['lifecyclestage', 'Lifecycle Stage', 'enumeration', 'radio', lifecycle()],
        ['hs_lead_status', 'Lead Status', 'enumeration', 'radio', {options: options(LEAD_STATUSES)}],
        ['annualrevenue', 'Annual Revenue', 'string', 'text'],
        ['numemployees', 'Number of Employees', 'enumeration', 'select', {
          options: options(['1-5', '5-25', '25-50', '50-100', '100-500', '500-1000', '1000+'].map((v) => [v, v] as const)),
        }],
        ['industry', 'Industry', 'string', 'text'],
        ['description', 'Description', 'string', 'textarea'],
        ['hubspot_owner_id', 'Contact owner', 'enumeration', 'select', OWNER],
        ['hs_additional_emails', 'Additional email addresses', 'enumeration', 'checkbox', {...RO, externalOptions: true}],
        ['hs_calculated_merged_vids', 'Merged Contact IDs', 'enumeration', 'checkbox', {...RO, externalOptions: true}],
        ...systemProps('lastmodifieddate'),
      ], 'contactinformation', epochMs),
      ...build([
        ['hs_email_optout', 'Unsubscribed from all email', 'bool', 'booleancheckbox', {
          options: options([['true', 'Yes'], ['false', 'No']]),
        }],
        ['hs_email_last_open_date', 'Last marketing email open date', 'datetime', 'date', {...RO, calculated: true}],
        ['hs_email_last_click_date', 'Last marketing email click date', 'datetime', 'date', {...RO, calculated: true}],
      ], 'emailinformation', epochMs),
      ...build([
        ['hs_analytics_source', 'Original Source', 'enumeration', 'select', {
          ...RO, calculated: true, options: options(ANALYTICS_SOURCES.map((v) => [v, titleCase(v)] as const)),
        }],
        ['hs_analytics_num_page_views', 'Number of Pageviews', 'number', 'number', {...RO, calculated: true}],
        ['hs_analytics_source_data_1', 'Original Source Drill-Down 1', 'string', 'text', {...RO, calculated: true}],
        ['hs_analytics_source_data_2', 'Original Source Drill-Down 2', 'string', 'text', {...RO, calculated: true}],
        ['hs_analytics_num_visits', 'Number of Sessions', 'number', 'number', {...RO, calculated: true}],
        ['hs_analytics_last_visit_timestamp', 'Time of Last Session', 'datetime', 'date', {...RO, calculated: true}],
        ['first_conversion_event_name', 'First Conversion', 'string', 'text', {...RO, calculated: true}],
        ['first_conversion_date', 'First Conversion Date', 'datetime', 'date', {...RO, calculated: true}],
        ['recent_conversion_event_name', 'Recent Conversion', 'string', 'text', {...RO, calculated: true}],
        ['recent_conversion_date', 'Recent Conversion Date', 'datetime', 'date', {...RO, calculated: true}],
      ], 'analyticsinformation', epochMs),
    ]
  }
  if (type === 'companies') {
    return [
      ...build([
        ['name', 'Company name', 'string', 'text'],
        ['domain', 'Company Domain Name', 'string', 'text'],
        ['description', 'Description', 'string', 'textarea'],
        ['phone', 'Phone Number', 'string', 'phonenumber'],
        ['website', 'Website URL', 'string', 'text'],
        ['industry', 'Industry', 'enumeration', 'select', {options: options(INDUSTRIES.map((v) => [v, titleCase(v)] as const))}],
        ['numberofemployees', 'Number of Employees', 'number', 'number'],
        ['annualrevenue', 'Annual Revenue', 'number', 'number'],
        ['address', 'Street Address', 'string', 'text'],
        ['city', 'City', 'string', 'text'],
        ['state', 'State/Region', 'string', 'text'],
        ['zip', 'Postal Code', 'string', 'text'],
        ['country', 'Country/Region', 'string', 'text'],
        ['type', 'Type', 'enumeration', 'select', {
          options: options(['PROSPECT', 'PARTNER', 'RESELLER', 'VENDOR', 'OTHER'].map((v) => [v, titleCase(v)] as const)),
        }],
        ['lifecyclestage', 'Lifecycle Stage', 'enumeration', 'radio', lifecycle()],
        ['hubspot_owner_id', 'Company owner', 'enumeration', 'select', OWNER],
        ...systemProps('hs_lastmodifieddate'),
      ], 'companyinformation', epochMs),
    ]
  }
  return build([
    ['dealname', 'Deal Name', 'string', 'text'],
    ['amount', 'Amount', 'number', 'number'],
    ['closedate', 'Close Date', 'datetime', 'date'],
    ['dealstage', 'Deal Stage', 'enumeration', 'radio', {options: dealStageOptions(pipelines)}],
    ['pipeline', 'Pipeline', 'enumeration', 'select', {options: pipelines.map((p, i) => ({label: p.label, value: p.id, displayOrder: i, hidden: false}))}],
    ['description', 'Deal Description', 'string', 'textarea'],
    ['dealtype', 'Deal Type', 'enumeration', 'radio', {options: options([['newbusiness', 'New Business'], ['existingbusiness', 'Existing Business']])}],
    ['hs_priority', 'Priority', 'enumeration', 'select', {options: options([['low', 'Low'], ['medium', 'Medium'], ['high', 'High']])}],
    ['hubspot_owner_id', 'Deal owner', 'enumeration', 'select', OWNER],
    ...systemProps('hs_lastmodifieddate'),
  ], 'dealinformation', epochMs)
}

export function dealStageOptions(pipelines: PipelineDef[]): PropertyOption[] {
  const out: PropertyOption[] = []
  for (const p of pipelines) for (const s of p.stages) out.push({label: s.label, value: s.id, displayOrder: out.length, hidden: false})
  return out
}

// ---------------------------------------------------------------------------------------------
// Associations (§3.11)
// ---------------------------------------------------------------------------------------------

export interface AssociationTypeDef {
  from: ObjectTypeName
  to: ObjectTypeName
  typeId: number
  /** the id of the same association seen from the other side */
  inverse: number
  label: string | null
  primary: boolean
}

export const ASSOCIATION_TYPES: readonly AssociationTypeDef[] = [
  {from: 'contacts', to: 'companies', typeId: 279, inverse: 280, label: null, primary: false},
  {from: 'companies', to: 'contacts', typeId: 280, inverse: 279, label: null, primary: false},
  {from: 'contacts', to: 'companies', typeId: 1, inverse: 2, label: 'Primary', primary: true},
  {from: 'companies', to: 'contacts', typeId: 2, inverse: 1, label: 'Primary', primary: true},
  {from: 'deals', to: 'contacts', typeId: 3, inverse: 4, label: null, primary: false},
  {from: 'contacts', to: 'deals', typeId: 4, inverse: 3, label: null, primary: false},
  {from: 'deals', to: 'companies', typeId: 341, inverse: 342, label: null, primary: false},
  {from: 'companies', to: 'deals', typeId: 342, inverse: 341, label: null, primary: false},
  {from: 'deals', to: 'companies', typeId: 5, inverse: 6, label: 'Primary', primary: true},
  {from: 'companies', to: 'deals', typeId: 6, inverse: 5, label: 'Primary', primary: true},
  ...ENGAGEMENT_TYPES.flatMap((e) =>
    (['contacts', 'companies', 'deals'] as const).flatMap((parent): AssociationTypeDef[] => {
      const [down, up] = ENGAGEMENT_ASSOCIATION_IDS[e][parent]
      return [
        {from: e, to: parent, typeId: down, inverse: up, label: null, primary: false},
        {from: parent, to: e, typeId: up, inverse: down, label: null, primary: false},
      ]
    }),
  ),
]

export function associationType(from: ObjectTypeName, to: ObjectTypeName, typeId: number): AssociationTypeDef | undefined {
  return ASSOCIATION_TYPES.find((t) => t.from === from && t.to === to && t.typeId === typeId)
}

/** The unlabelled type between two object types (what createDefault uses). */
export function defaultAssociationType(from: ObjectTypeName, to: ObjectTypeName): AssociationTypeDef | undefined {
  return ASSOCIATION_TYPES.find((t) => t.from === from && t.to === to && !t.primary)
}

export function associationTypesBetween(from: ObjectTypeName, to: ObjectTypeName): AssociationTypeDef[] {
  return ASSOCIATION_TYPES.filter((t) => t.from === from && t.to === to)
}
