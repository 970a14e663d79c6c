/**
 * The one rule of which coreBOS records take part in sync (DESIGN.md §5.10). Every path that could
 * send or write a record asks it: the change streams, ledger retries, reconcile, associations.
 */
import type {CrmRecord} from './types.js'

export type OptInMode = 'explicit' | 'default-on'

export type Eligibility =
  | {eligible: true}
  | {eligible: false; why: 'trashed' | 'converted' | 'deleted in HubSpot' | 'not opted in' | 'opted out'}

/** The fields the rule reads beside the record's deleted and converted state. */
export const ELIGIBILITY_FIELDS = ['hubspotdeleted', 'hubspotsyncwith'] as const

export function eligibility(record: CrmRecord, optIn: OptInMode): Eligibility {
  if (record.converted) return {eligible: false, why: 'converted'}
  if (record.deleted) return {eligible: false, why: 'trashed'}
  if (record.fields.hubspotdeleted === '1') return {eligible: false, why: 'deleted in HubSpot'}
  const box = record.fields.hubspotsyncwith
  if (box === '1') return {eligible: true}
  if (box === '0') return {eligible: false, why: 'opted out'}
  return optIn === 'default-on' ? {eligible: true} : {eligible: false, why: 'not opted in'}
}

export function isEligible(record: CrmRecord, optIn: OptInMode): boolean {
  return eligibility(record, optIn).eligible
}
