/**
 * Record owners: a coreBOS user (assigned_user_id, smownerid) ↔ a HubSpot owner (hubspot_owner_id),
 * matched by e-mail (the active user's email1, the owner's e-mail). What has no counterpart takes
 * the configured default user in coreBOS and no owner in HubSpot, with a warning that names it.
 */
import type {CrmOwners, HubSpotOwner} from '../sync/ports.js'

/** The HubSpot property that holds a record's owner, and the coreBOS field it pairs with. */
export const OWNER_PROPERTY = 'hubspot_owner_id'
export const OWNER_FIELD = 'assigned_user_id'

export interface OwnerLookup {
  /** a coreBOS user or group id → a HubSpot owner id ('' = no owner) */
  toHubSpot(crmOwnerId: string): {value: string; warning?: string}
  /** a HubSpot owner id ('' = none) → a coreBOS user id */
  toCoreBos(ownerId: string): {value: string; warning?: string}
}

export function buildOwnerLookup(owners: HubSpotOwner[], crm: CrmOwners, defaultUserId: number): OwnerLookup {
  const ownerByEmail = new Map<string, HubSpotOwner>()
  // a live owner wins over an archived one with the same e-mail
  for (const o of [...owners].sort((a, b) => Number(b.archived) - Number(a.archived))) if (o.email) ownerByEmail.set(o.email.toLowerCase(), o)
  const ownerById = new Map(owners.map((o) => [o.id, o]))
  const userByEmail = new Map<string, number>()
  // the lowest id wins when two active users share an e-mail: stable from pass to pass
  for (const u of [...crm.users].sort((a, b) => b.id - a.id)) if (u.active && u.email) userByEmail.set(u.email, u.id)
  const userById = new Map(crm.users.map((u) => [u.id, u]))
  const groups = new Set(crm.groupIds)
  const fallback = String(defaultUserId)
  return {
    toHubSpot(crmOwnerId) {
      const id = Number(crmOwnerId)
      if (groups.has(id)) return {value: '', warning: `coreBOS group ${id} has no HubSpot owner; sent without owner`}
      const user = userById.get(id)
      if (!user) return {value: '', warning: `'${crmOwnerId}' is no coreBOS user; sent without owner`}
      const owner = user.email ? ownerByEmail.get(user.email) : undefined
      if (!owner || owner.archived) return {value: '', warning: `coreBOS user ${id}${user.email ? ` (${user.email})` : ''} has no${owner ? ' live' : ''} HubSpot owner with that e-mail; sent without owner`}
      return {value: owner.id}
    },
    toCoreBos(ownerId) {
      if (ownerId === '') return {value: fallback}
      const owner = ownerById.get(ownerId)
      const user = owner?.email ? userByEmail.get(owner.email.toLowerCase()) : undefined
      if (user === undefined) {
        const who = owner ? `HubSpot owner ${ownerId} (${owner.email || 'no e-mail'})` : `HubSpot owner ${ownerId} (not in the owners list)`
        return {value: fallback, warning: `${who} has no active coreBOS user with that e-mail; assigned to the default user ${fallback}`}
      }
      return {value: String(user)}
    },
  }
}
