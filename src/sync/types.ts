/** Shared vocabulary of the engine. Nothing here knows about oclif, mysql2 or HTTP. */

export const CRM_MODULES = ['Accounts', 'Contacts', 'Leads', 'Potentials'] as const
export type CrmModule = (typeof CRM_MODULES)[number]

export const HUBSPOT_OBJECT_TYPES = ['companies', 'contacts', 'deals'] as const
export type HubSpotObjectType = (typeof HUBSPOT_OBJECT_TYPES)[number]

export const OBJECT_TYPE_OF_MODULE: Readonly<Record<CrmModule, HubSpotObjectType>> = {
  Accounts: 'companies',
  Contacts: 'contacts',
  Leads: 'contacts',
  Potentials: 'deals',
}

/** The coreBOS reference field each module's HubSpot associations stand for (a contact's company, a deal's contact or company). */
export const REFERENCE_FIELD: Readonly<Partial<Record<CrmModule, string>>> = {Contacts: 'account_id', Potentials: 'related_to'}

/**
 * A potential's other contacts (vtiger_contpotentialrel, beside the one related_to may hold) ↔ the
 * deal's other contact associations: a set merged element by element. The snapshot keeps the set
 * under this key, as sorted crmids.
 */
export const CONTACT_SET_KEY = 'contpotentialrel'
export const CONTACT_SET_MODULES: ReadonlySet<CrmModule> = new Set(['Potentials'])

/** HubSpot's modified-date property differs by object type (contacts are the odd one out). */
export const MODIFIED_PROPERTY: Readonly<Record<HubSpotObjectType, string>> = {
  companies: 'hs_lastmodifieddate',
  contacts: 'lastmodifieddate',
  deals: 'hs_lastmodifieddate',
}

export type Direction = 'push' | 'pull'
export type ConflictPolicy = 'newest' | 'crm' | 'hubspot'

export function isCrmModule(value: string): value is CrmModule {
  return (CRM_MODULES as readonly string[]).includes(value)
}

/**
 * A coreBOS record as stored. `fields` is keyed by vtiger_field.fieldname and holds the raw column
 * value as mysql2 returns it with dateStrings (NULL as null). `modifiedtime` is the naive DATETIME
 * of the crmentity (or denormalized) row, in the install's timezone.
 */
export interface CrmRecord {
  module: CrmModule
  crmid: number
  modifiedtime: string
  /** trashed (deleted = 1), or a converted Lead */
  deleted: boolean
  /** Leads only: converted = 1 */
  converted?: boolean
  fields: Record<string, string | null>
  /** Potentials only: the live contacts of vtiger_contpotentialrel, ascending */
  relatedContacts?: number[]
}

/** Keyset position inside one module's change stream. */
export interface CrmCursor {
  modifiedtime: string
  crmid: number
}

/** A HubSpot object as the gateway returns it: every property value a string or null. */
export interface HubSpotObject {
  id: string
  properties: Record<string, string | null>
  createdAt?: string
  updatedAt?: string
  archived?: boolean
  archivedAt?: string
  /**
   * Associated ids a list answered inline, for the types it was asked for; a type missing here
   * (not asked, or more than the answer held) is read from the associations API.
   */
  associations?: Partial<Record<HubSpotObjectType, string[]>>
}

/** The seven control fields the legacy integration put on each module's base table. */
export const CONTROL_FIELDS = [
  'hubspotid',
  'hubspotcreated',
  'hubspotrecord',
  'hubspotdeleted',
  'hubspotlastsync',
  'hubspotdeletedon',
  'hubspotsyncwith',
] as const
export type ControlField = (typeof CONTROL_FIELDS)[number]
export type ControlValues = Partial<Record<ControlField, string | null>>

/** Where and why a record failed; what the failures ledger stores. */
export interface RecordFailure {
  module: CrmModule
  direction: Direction
  /** crmid for push, HubSpot id for pull (or both when known) */
  crmid?: number
  hubspotId?: string
  message: string
  /** e.g. VALIDATION_ERROR, CONFLICT, INVALID_EMAIL, VALUE_TOO_LONG */
  category?: string
}
