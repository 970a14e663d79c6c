/** What a step wrote on either side, from the kit's write logs. */
import type {CrmWrite} from './crm.js'
import type {HubSpotWrite} from './hubspot.js'
import type {MemoryKit} from './engine.js'

export interface Writes {
  crm: CrmWrite[]
  hubspot: HubSpotWrite[]
  /** crm record writes + control-field writes + HubSpot object and association writes */
  total: number
}

export async function writesOf(kit: MemoryKit, step: () => Promise<unknown>): Promise<Writes> {
  const crmFrom = kit.crm.log.length
  const hsFrom = kit.hubspot.log.length
  await step()
  const crm = kit.crm.log.slice(crmFrom)
  const hubspot = kit.hubspot.log.slice(hsFrom)
  return {crm, hubspot, total: crm.length + hubspot.length}
}
