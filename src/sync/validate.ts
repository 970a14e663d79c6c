/**
 * What HubSpot will refuse in a write, known before the call. A dry run predicts these failures
 * and the real pass fails the record with the same category without spending the call (and
 * without the all-or-nothing batch it would spoil). Only what is surely refused is listed: a
 * value HubSpot might accept must reach HubSpot.
 *
 * Enumeration options and text length are the mapper's (maps/convert.ts: a value that is no
 * option fails the conversion, text past 65,536 characters is cut with a warning), so they are
 * not checked twice here.
 */
import type {HubSpotObjectType} from './types.js'

export interface Rejection {
  property: string
  /** HubSpot's own error code for it, which becomes the failure's category */
  category: 'INVALID_EMAIL' | 'REQUIRED'
  message: string
}

/** Characters no address HubSpot accepts has outside a quoted local part (which it refuses too). */
const FORBIDDEN = /[\s"(),:;<>[\]\\]/

/**
 * Whether HubSpot surely refuses this e-mail address: not one `@`, an empty side, whitespace or
 * specials, a doubled dot, or a domain without a top-level part of two characters that are not
 * all digits. Anything subtler is left to HubSpot.
 */
export function isRefusedEmail(raw: string): boolean {
  const value = raw.trim()
  if (value === '') return false
  const at = value.split('@')
  if (at.length !== 2) return true
  const [local, domain] = at
  if (!local || !domain || FORBIDDEN.test(value) || value.includes('..')) return true
  const dot = domain.lastIndexOf('.')
  if (dot < 0) return true
  const tld = domain.slice(dot + 1)
  return tld.length < 2 || /^\d+$/.test(tld)
}

/** The properties HubSpot needs on a create of each type (the default pipeline fills in `pipeline`). */
const REQUIRED_ON_CREATE: Record<HubSpotObjectType, string[][]> = {
  contacts: [],
  companies: [['name', 'domain']],
  deals: [['dealname'], ['dealstage']],
}

const SINGULAR: Record<HubSpotObjectType, string> = {contacts: 'contact', companies: 'company', deals: 'deal'}
const show = (v: string) => (v.length > 80 ? `${v.slice(0, 80)}…` : v)

/**
 * The reasons HubSpot would refuse writing these properties to an object of `type`; empty when
 * it would take them. `creating`: the object is new (required properties apply).
 */
export function hubspotRejections(type: HubSpotObjectType, properties: Record<string, string>, options: {creating: boolean}): Rejection[] {
  const out: Rejection[] = []
  const email = properties.email
  if (type === 'contacts' && email !== undefined && isRefusedEmail(email)) {
    out.push({property: 'email', category: 'INVALID_EMAIL', message: `Email address ${show(email.trim())} is invalid: HubSpot refuses it (INVALID_EMAIL); correct it in coreBOS`})
  }
  if (options.creating) {
    for (const anyOf of REQUIRED_ON_CREATE[type] ?? []) {
      if (anyOf.some((p) => (properties[p] ?? '').trim() !== '')) continue
      out.push({property: anyOf[0], category: 'REQUIRED', message: `HubSpot needs ${anyOf.join(' or ')} to create a ${SINGULAR[type]} (REQUIRED); it is empty`})
    }
  }
  return out
}
