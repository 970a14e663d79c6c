/**
 * HubSpot's marketing data in coreBOS: the read-only custom fields `cbhs setup --marketing` installs
 * on Contacts and Leads (block "HubSpot Marketing"), each filled from one HubSpot contact property on
 * pull and never pushed; and the correspondence that gives a Lead from HubSpot its leadsource.
 */
import type {CrmModule} from '../sync/types.js'

export const MARKETING_BLOCK_LABEL = 'HubSpot Marketing'
export const MARKETING_MODULES: readonly CrmModule[] = ['Contacts', 'Leads']

export interface MarketingFieldSpec {
  /** vtiger_field.fieldname and the column on the module's custom-field table */
  name: string
  label: string
  /** the HubSpot contact property it is filled from */
  property: string
  sqlType: string
  uitype: number
  typeofdata: string
}

/** displaytype 2: shown in coreBOS, never editable there (HubSpot computes these values) */
export const MARKETING_DISPLAYTYPE = 2

export const MARKETING_FIELDS: readonly MarketingFieldSpec[] = [
  {name: 'hubspot_source', label: 'Original Source', property: 'hs_analytics_source', sqlType: 'varchar(200)', uitype: 15, typeofdata: 'V~O'},
  {name: 'hubspot_source_drill1', label: 'Original Source Drill-Down 1', property: 'hs_analytics_source_data_1', sqlType: 'varchar(255)', uitype: 1, typeofdata: 'V~O'},
  {name: 'hubspot_source_drill2', label: 'Original Source Drill-Down 2', property: 'hs_analytics_source_data_2', sqlType: 'varchar(255)', uitype: 1, typeofdata: 'V~O'},
  {name: 'hubspot_page_views', label: 'Page Views', property: 'hs_analytics_num_page_views', sqlType: 'int', uitype: 7, typeofdata: 'I~O'},
  {name: 'hubspot_visits', label: 'Visits', property: 'hs_analytics_num_visits', sqlType: 'int', uitype: 7, typeofdata: 'I~O'},
  {name: 'hubspot_last_visit', label: 'Last Visit', property: 'hs_analytics_last_visit_timestamp', sqlType: 'datetime', uitype: 70, typeofdata: 'DT~O'},
  {name: 'hubspot_first_conversion', label: 'First Conversion', property: 'first_conversion_event_name', sqlType: 'varchar(255)', uitype: 1, typeofdata: 'V~O'},
  {name: 'hubspot_first_conversion_on', label: 'First Conversion Date', property: 'first_conversion_date', sqlType: 'datetime', uitype: 70, typeofdata: 'DT~O'},
  {name: 'hubspot_last_conversion', label: 'Last Conversion', property: 'recent_conversion_event_name', sqlType: 'varchar(255)', uitype: 1, typeofdata: 'V~O'},
  {name: 'hubspot_last_conversion_on', label: 'Last Conversion Date', property: 'recent_conversion_date', sqlType: 'datetime', uitype: 70, typeofdata: 'DT~O'},
  {name: 'hubspot_last_email_open', label: 'Last Marketing E-mail Open', property: 'hs_email_last_open_date', sqlType: 'datetime', uitype: 70, typeofdata: 'DT~O'},
  {name: 'hubspot_last_email_click', label: 'Last Marketing E-mail Click', property: 'hs_email_last_click_date', sqlType: 'datetime', uitype: 70, typeofdata: 'DT~O'},
  // text, not a picklist: portals add their own lifecycle stages, which must not make a record fail
  {name: 'hubspot_lifecycle_stage', label: 'Lifecycle Stage', property: 'lifecyclestage', sqlType: 'varchar(100)', uitype: 1, typeofdata: 'V~O'},
]

export const MARKETING_FIELD_NAMES: ReadonlySet<string> = new Set(MARKETING_FIELDS.map((f) => f.name))

/** HubSpot's Original Source options, when the portal's cannot be read (setup --skip-hubspot) */
export const HUBSPOT_ANALYTICS_SOURCES: ReadonlyArray<{value: string; label: string}> = [
  {value: 'ORGANIC_SEARCH', label: 'Organic Search'},
  {value: 'PAID_SEARCH', label: 'Paid Search'},
  {value: 'EMAIL_MARKETING', label: 'Email Marketing'},
  {value: 'SOCIAL_MEDIA', label: 'Organic Social'},
  {value: 'REFERRALS', label: 'Referrals'},
  {value: 'OTHER_CAMPAIGNS', label: 'Other Campaigns'},
  {value: 'DIRECT_TRAFFIC', label: 'Direct Traffic'},
  {value: 'OFFLINE', label: 'Offline Sources'},
  {value: 'PAID_SOCIAL', label: 'Paid Social'},
  {value: 'AI_REFERRALS', label: 'AI Referrals'},
]

/** hs_analytics_source → a value of coreBOS's stock leadsource picklist (override with sync.leadSourceMapping) */
export const DEFAULT_LEAD_SOURCE_MAPPING: Readonly<Record<string, string>> = {
  ORGANIC_SEARCH: 'Web Site',
  PAID_SEARCH: 'Web Site',
  DIRECT_TRAFFIC: 'Web Site',
  AI_REFERRALS: 'Web Site',
  REFERRALS: 'Word of mouth',
  SOCIAL_MEDIA: 'Public Relations',
  PAID_SOCIAL: 'Public Relations',
  EMAIL_MARKETING: 'Direct Mail',
  OTHER_CAMPAIGNS: 'Other',
  OFFLINE: 'Other',
}

/**
 * The HubSpot2Contacts / HubSpot2Leads map text with a `<field>` for every marketing field it does not
 * map yet, inserted before `</fields>`; the text is otherwise kept as written (comments, layout).
 */
export function withMarketingFields(xml: string, mapped: ReadonlySet<string>): {xml: string; added: string[]} {
  const missing = MARKETING_FIELDS.filter((f) => !mapped.has(f.name))
  const end = xml.lastIndexOf('</fields>')
  if (missing.length === 0 || end < 0) return {xml, added: []}
  const lineStart = xml.lastIndexOf('\n', end) + 1
  const blocks = missing.map(
    (f) =>
      `    <field>\n      <fieldname>${f.name}</fieldname>\n      <Orgfields>\n        <Orgfield>\n          <OrgfieldName>${f.property}</OrgfieldName>\n        </Orgfield>\n      </Orgfields>\n    </field>\n`,
  )
  const text = `    <!-- HubSpot Marketing (cbhs setup --marketing): read-only in coreBOS, never pushed -->\n${blocks.join('')}`
  return {xml: xml.slice(0, lineStart) + text + xml.slice(lineStart), added: missing.map((f) => f.name)}
}
