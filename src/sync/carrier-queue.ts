/**
 * The crmid a full pull writes back into the objects it created coreBOS records for: the unique
 * property that makes them "carriers" (archived.ts). Sent with the listing, it cost one batch update
 * per list page, half of HubSpot's 10-second budget, so a first pull ran at half the list bound.
 * The full pull queues it instead (cbhs_carrier_queue, written before the page's links), and a pass
 * that pulls ends, once all its streams are done, by sending what the budget has room for without
 * waiting (streams.ts sendCarrierWrites): an idle pass at Professional sends up to about 180
 * batches (18,000 objects); with limits off, or on a small portal, the pull that queued them sends
 * them all.
 *
 * Nothing waits on the property meanwhile: a rerun finds the counterpart by the link or by the
 * record's hubspotid (both written before the queue row is sent), and the archived check counts a
 * queued object as linked but not carrying the property yet. A pass killed between the coreBOS
 * insert and the queue row leaves an object without the property and unqueued: the archived check
 * finds it linked but unseen, reads it live and writes it then, and any later settlement of the pair
 * writes it too (settle.ts).
 */
import type {PassContext} from './pipeline.js'
import type {HubSpotObjectType} from './types.js'

/** HubSpot's batch update takes 100 inputs */
const BATCH = 100
/** batches taken off the queue at once: the gateway sends them side by side */
const BATCHES_PER_ROUND = 20

/** Sends queued write-backs while the 10-second budget has room for them now. Returns how many were sent. */
export async function sendQueuedCarrierWrites(ctx: PassContext, type: HubSpotObjectType): Promise<number> {
  if (ctx.dryRun) return 0
  const {state, hubspot, settings} = ctx.engine
  let sent = 0
  for (;;) {
    const room = Math.min(hubspot.spareCalls(), BATCHES_PER_ROUND)
    if (room < 1) return sent
    const queued = await state.queuedCarrierWrites(type, room * BATCH)
    if (queued.length === 0) return sent
    const owed = queued.filter((q): q is {hubspotId: string; crmid: number} => q.crmid !== null)
    // an object that refuses the write (archived or merged away meanwhile) is the archived check's from now on;
    // a call that fails throws, and its rows stay queued for the next pass
    if (owed.length > 0) await hubspot.update(type, owed.map((q) => ({id: q.hubspotId, properties: {[settings.uniqueProperty]: String(q.crmid)}})))
    await state.dequeueCarrierWrites(type, queued.map((q) => q.hubspotId))
    sent += owed.length
  }
}
