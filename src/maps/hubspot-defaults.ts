/**
 * HubSpot's default properties that the default maps use, with their types as a fresh portal
 * reports them (reference/hubspot-api.md §3.8). For tests, offline tooling and the emulator's
 * seed; a live portal's definitions always win (`map:validate --online`).
 */
import type {PropertyDefinition} from '../sync/ports.js'
import type {HubSpotObjectType} from '../sync/types.js'
import {HUBSPOT_ANALYTICS_SOURCES} from './marketing.js'

const text = (name: string, label: string, groupName: string): PropertyDefinition => ({name, label, type: 'string', fieldType: 'text', groupName})
const phone = (name: string, label: string, groupName: string): PropertyDefinition => ({name, label, type: 'string', fieldType: 'phonenumber', groupName})
const readOnly = (name: string, label: string, type: string): PropertyDefinition => ({name, label, type, fieldType: type === 'number' ? 'number' : 'date', readOnlyValue: true})

/** hubspot_owner_id's options are the portal's owners, listed by the owners API rather than here */
const owner = (label: string, groupName: string): PropertyDefinition => ({name: 'hubspot_owner_id', label, type: 'enumeration', fieldType: 'select', groupName, options: []})

const marketing = (name: string, label: string, type: string): PropertyDefinition => ({
  name, label, type, fieldType: type === 'number' ? 'number' : type === 'datetime' ? 'date' : 'text', groupName: 'analyticsinformation', readOnlyValue: true, calculated: true,
})

const LIFECYCLE: PropertyDefinition['options'] = [
  {value: 'subscriber', label: 'Subscriber'},
  {value: 'lead', label: 'Lead'},
  {value: 'marketingqualifiedlead', label: 'Marketing Qualified Lead'},
  {value: 'salesqualifiedlead', label: 'Sales Qualified Lead'},
  {value: 'opportunity', label: 'Opportunity'},
  {value: 'customer', label: 'Customer'},
  {value: 'evangelist', label: 'Evangelist'},
  {value: 'other', label: 'Other'},
]

export const HUBSPOT_DEFAULT_PROPERTIES: Readonly<Record<HubSpotObjectType, PropertyDefinition[]>> = {
  contacts: [
    text('firstname', 'First Name', 'contactinformation'),
    text('lastname', 'Last Name', 'contactinformation'),
    text('email', 'Email', 'contactinformation'),
    phone('phone', 'Phone Number', 'contactinformation'),
    phone('mobilephone', 'Mobile Phone Number', 'contactinformation'),
    phone('fax', 'Fax Number', 'contactinformation'),
    text('jobtitle', 'Job Title', 'contactinformation'),
    text('company', 'Company Name', 'contactinformation'),
    text('website', 'Website URL', 'contactinformation'),
    text('address', 'Street Address', 'contactinformation'),
    text('city', 'City', 'contactinformation'),
    text('state', 'State/Region', 'contactinformation'),
    text('zip', 'Postal Code', 'contactinformation'),
    text('country', 'Country/Region', 'contactinformation'),
    {name: 'lifecyclestage', label: 'Lifecycle Stage', type: 'enumeration', fieldType: 'radio', groupName: 'contactinformation', options: LIFECYCLE},
    owner('Contact owner', 'contactinformation'),
    {
      name: 'hs_lead_status',
      label: 'Lead Status',
      type: 'enumeration',
      fieldType: 'radio',
      groupName: 'sales_properties',
      options: [
        {value: 'NEW', label: 'New'},
        {value: 'OPEN', label: 'Open'},
        {value: 'IN_PROGRESS', label: 'In Progress'},
        {value: 'OPEN_DEAL', label: 'Open Deal'},
        {value: 'UNQUALIFIED', label: 'Unqualified'},
        {value: 'ATTEMPTED_TO_CONTACT', label: 'Attempted to Contact'},
        {value: 'CONNECTED', label: 'Connected'},
        {value: 'BAD_TIMING', label: 'Bad Timing'},
      ],
    },
    // the analytics and conversion properties `setup --marketing` maps (computed by HubSpot, read-only)
    {name: 'hs_analytics_source', label: 'Original Source', type: 'enumeration', fieldType: 'select', readOnlyValue: true, calculated: true, options: [...HUBSPOT_ANALYTICS_SOURCES]},
    marketing('hs_analytics_source_data_1', 'Original Source Drill-Down 1', 'string'),
    marketing('hs_analytics_source_data_2', 'Original Source Drill-Down 2', 'string'),
    marketing('hs_analytics_num_page_views', 'Number of Pageviews', 'number'),
    marketing('hs_analytics_num_visits', 'Number of Sessions', 'number'),
    marketing('hs_analytics_last_visit_timestamp', 'Time of Last Session', 'datetime'),
    marketing('first_conversion_event_name', 'First Conversion', 'string'),
    marketing('first_conversion_date', 'First Conversion Date', 'datetime'),
    marketing('recent_conversion_event_name', 'Recent Conversion', 'string'),
    marketing('recent_conversion_date', 'Recent Conversion Date', 'datetime'),
    marketing('hs_email_last_open_date', 'Last marketing email open date', 'datetime'),
    marketing('hs_email_last_click_date', 'Last marketing email click date', 'datetime'),
    readOnly('createdate', 'Create Date', 'datetime'),
    readOnly('lastmodifieddate', 'Last Modified Date', 'datetime'),
    readOnly('hs_object_id', 'Record ID', 'number'),
  ],
  companies: [
    text('name', 'Company name', 'companyinformation'),
    text('domain', 'Company Domain Name', 'companyinformation'),
    phone('phone', 'Phone Number', 'companyinformation'),
    text('website', 'Website URL', 'companyinformation'),
    {name: 'description', label: 'Description', type: 'string', fieldType: 'textarea', groupName: 'companyinformation'},
    {name: 'numberofemployees', label: 'Number of Employees', type: 'number', fieldType: 'number', groupName: 'companyinformation'},
    {name: 'annualrevenue', label: 'Annual Revenue', type: 'number', fieldType: 'number', groupName: 'companyinformation'},
    text('address', 'Street Address', 'companyinformation'),
    text('city', 'City', 'companyinformation'),
    text('state', 'State/Region', 'companyinformation'),
    text('zip', 'Postal Code', 'companyinformation'),
    text('country', 'Country/Region', 'companyinformation'),
    {name: 'lifecyclestage', label: 'Lifecycle Stage', type: 'enumeration', fieldType: 'radio', groupName: 'companyinformation', options: LIFECYCLE},
    owner('Company owner', 'companyinformation'),
    readOnly('createdate', 'Create Date', 'datetime'),
    readOnly('hs_lastmodifieddate', 'Last Modified Date', 'datetime'),
    readOnly('hs_object_id', 'Record ID', 'number'),
  ],
  deals: [
    text('dealname', 'Deal Name', 'dealinformation'),
    owner('Deal owner', 'dealinformation'),
    {
      name: 'dealstage',
      label: 'Deal Stage',
      type: 'enumeration',
      fieldType: 'radio',
      groupName: 'dealinformation',
      options: [
        {value: 'appointmentscheduled', label: 'Appointment Scheduled'},
        {value: 'qualifiedtobuy', label: 'Qualified To Buy'},
        {value: 'presentationscheduled', label: 'Presentation Scheduled'},
        {value: 'decisionmakerboughtin', label: 'Decision Maker Bought-In'},
        {value: 'contractsent', label: 'Contract Sent'},
        {value: 'closedwon', label: 'Closed Won'},
        {value: 'closedlost', label: 'Closed Lost'},
      ],
    },
    {name: 'pipeline', label: 'Pipeline', type: 'enumeration', fieldType: 'select', groupName: 'dealinformation', options: [{value: 'default', label: 'Sales Pipeline'}]},
    {name: 'amount', label: 'Amount', type: 'number', fieldType: 'number', groupName: 'dealinformation'},
    {name: 'closedate', label: 'Close Date', type: 'datetime', fieldType: 'date', groupName: 'dealinformation'},
    {
      name: 'dealtype',
      label: 'Deal Type',
      type: 'enumeration',
      fieldType: 'radio',
      groupName: 'dealinformation',
      options: [
        {value: 'newbusiness', label: 'New Business'},
        {value: 'existingbusiness', label: 'Existing Business'},
      ],
    },
    {name: 'description', label: 'Deal Description', type: 'string', fieldType: 'textarea', groupName: 'dealinformation'},
    {name: 'hs_deal_stage_probability', label: 'Deal Stage Probability', type: 'number', fieldType: 'number', calculated: true, readOnlyValue: true},
    readOnly('createdate', 'Create Date', 'datetime'),
    readOnly('hs_lastmodifieddate', 'Last Modified Date', 'datetime'),
    readOnly('hs_object_id', 'Record ID', 'number'),
  ],
}

/** HubSpot's seeded deal pipeline ('default', "Sales Pipeline") with its seven stages. */
export const HUBSPOT_DEFAULT_PIPELINE = {
  id: 'default',
  label: 'Sales Pipeline',
  stages: [
    {id: 'appointmentscheduled', label: 'Appointment Scheduled', displayOrder: 0, isClosed: false, probability: 0.2},
    {id: 'qualifiedtobuy', label: 'Qualified To Buy', displayOrder: 1, isClosed: false, probability: 0.4},
    {id: 'presentationscheduled', label: 'Presentation Scheduled', displayOrder: 2, isClosed: false, probability: 0.6},
    {id: 'decisionmakerboughtin', label: 'Decision Maker Bought-In', displayOrder: 3, isClosed: false, probability: 0.8},
    {id: 'contractsent', label: 'Contract Sent', displayOrder: 4, isClosed: false, probability: 0.9},
    {id: 'closedwon', label: 'Closed Won', displayOrder: 5, isClosed: true, probability: 1},
    {id: 'closedlost', label: 'Closed Lost', displayOrder: 6, isClosed: true, probability: 0},
  ],
}
