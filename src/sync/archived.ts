/**
 * Objects archived in HubSpot, found at a cost that does not grow with HubSpot's archive.
 *
 * HubSpot has no "archived since" filter and archiving leaves the modified date alone
 * (reference/hubspot-api.md §3.5): reading the archived list is the only direct way, and a portal
 * with 100,000 archived contacts would spend 1,000 calls on it every pass. Every linked object
 * carries cbhs's unique property, though (or has its write-back queued, carrier-queue.ts, and is
 * left out until it is sent), and search counts the live objects that do in one call.
 * While that count minus the live links is what it was after the last complete check, no linked
 * object went away. When it moved, ranges of linked ids are halved by count until the ids search
 * no longer finds are pinned down; those a batch read finds archived mark their records. A change
 * too large for halving to be cheaper (a mass clean-up) reads the archived list instead, as a full
 * pull always does.
 *
 * The check runs before the pass's own reads and writes, so the links it counts were all made by
 * earlier passes, whose writes search shows once its lag (about a minute) has passed: an object
 * archived in HubSpot marks its record on the first pull after the archive. Passes closer together
 * than the search lag may see a link search does not show yet; the batch read finds it live and the
 * next check counts it.
 */
import type {CarrierQuery} from './ports.js'
import {applyWork, type PassContext} from './pipeline.js'
import type {CrmModule, HubSpotObjectType} from './types.js'

/** a range with this few links is settled by listing its ids */
const LEAF_LINKS = 100
/** …unless search holds many more objects there than links (then it is halved by id instead) */
const LEAF_OBJECTS = 1_000
/** past this many calls, halving costs more than the archived list of a typical portal */
const MAX_HALVING_CALLS = 300

const checkKey = (type: HubSpotObjectType) => `archived-check:${type}`

interface Range {
  /** links[first .. end) lie in [fromId, toId] */
  first: number
  end: number
  fromId: number
  toId: number
  /** live objects carrying the unique property in [fromId, toId] */
  carriers: number
}

/**
 * The incremental check, before the pass reads or writes anything. `remember`: every module of the
 * object type takes part, so the outcome may stand for the next pass. `carriers`: the count, when
 * the pass's first search already told it (HubSpotPort.searchRecentWithCarriers).
 */
export async function checkArchived(ctx: PassContext, type: HubSpotObjectType, modules: CrmModule[], options: {remember: boolean; carriers?: number}): Promise<void> {
  const {engine} = ctx
  const query: CarrierQuery = {property: engine.settings.uniqueProperty}
  const carriers = options.carriers ?? (await engine.hubspot.countCarriers(type, query))
  const linked = await linkedCarriers(ctx, type)
  const remembered = await engine.state.readCache(checkKey(type))
  const expected = remembered ? Number((JSON.parse(remembered.value) as {difference: number}).difference) : 0
  if (carriers - linked === expected) return

  const owed = new Set((await engine.state.queuedCarrierWrites(type, Number.MAX_SAFE_INTEGER)).map((q) => q.hubspotId))
  const ids = (await engine.state.liveLinkIds(type)).filter((id) => !owed.has(id))
  const depth = Math.max(1, Math.ceil(Math.log2(Math.max(2, ids.length / LEAF_LINKS))))
  const moved = Math.abs(carriers - linked - expected)
  const missing = moved * depth * 2 <= MAX_HALVING_CALLS ? await unseenLinkedIds(ctx, type, query, ids, carriers) : null
  const rewritten = missing ? await markArchived(ctx, type, modules, missing) : 0
  if (!missing) await walkArchivedList(ctx, type, modules)
  if (options.remember && !ctx.dryRun) {
    // the carriers rewritten now are counted by search once it shows them
    const difference = carriers + rewritten - (await linkedCarriers(ctx, type))
    await engine.state.writeCache(checkKey(type), JSON.stringify({difference}))
  }
}

/** The live links whose objects carry the unique property by now: not those whose write-back is still queued (carrier-queue.ts). */
async function linkedCarriers(ctx: PassContext, type: HubSpotObjectType): Promise<number> {
  const {state} = ctx.engine
  return (await state.countLiveLinks(type)) - (await state.countQueuedCarrierWrites(type))
}

/**
 * A full pull reads the whole archived list once its listing is done. What it linked may not carry
 * the unique property in search yet, so the count is not taken now: the next pass's check starts
 * afresh (a difference it meets is halved once, then remembered).
 */
export async function readArchivedList(ctx: PassContext, type: HubSpotObjectType, modules: CrmModule[], options: {remember: boolean}): Promise<void> {
  await walkArchivedList(ctx, type, modules)
  if (options.remember && !ctx.dryRun) await ctx.engine.state.writeCache(checkKey(type), JSON.stringify({difference: 0}))
}

/**
 * The linked ids search does not find, by halving ranges whose count of carriers differs from
 * their count of links; null when that took more calls than MAX_HALVING_CALLS.
 */
async function unseenLinkedIds(ctx: PassContext, type: HubSpotObjectType, query: CarrierQuery, ids: string[], carriers: number): Promise<string[] | null> {
  const {hubspot} = ctx.engine
  const unseen: string[] = []
  let calls = 0
  const pending: Range[] = [{first: 0, end: ids.length, fromId: 0, toId: Number.MAX_SAFE_INTEGER, carriers}]
  while (pending.length > 0) {
    const range = pending.pop()!
    const links = range.end - range.first
    if (links === 0 || range.carriers === links) continue
    if (++calls > MAX_HALVING_CALLS) return null
    if (links <= LEAF_LINKS && range.carriers <= LEAF_OBJECTS) {
      const seen = new Set(await hubspot.carrierIds(type, {...query, fromId: range.fromId, toId: range.toId}))
      for (let k = range.first; k < range.end; k++) if (!seen.has(ids[k])) unseen.push(ids[k])
      continue
    }
    // halve the links; with few links among many objects, halve the id range instead
    let split: number
    let middle: number
    if (links > LEAF_LINKS) {
      split = range.first + Math.floor(links / 2)
      middle = Number(ids[split])
    } else {
      middle = range.fromId + Math.floor((range.toId - range.fromId + 1) / 2)
      split = range.first
      while (split < range.end && Number(ids[split]) < middle) split++
    }
    const left = await hubspot.countCarriers(type, {...query, fromId: range.fromId, toId: middle - 1})
    pending.push({first: range.first, end: split, fromId: range.fromId, toId: middle - 1, carriers: left})
    pending.push({first: split, end: range.end, fromId: middle, toId: range.toId, carriers: range.carriers - left})
  }
  return unseen
}

/**
 * Of the ids search no longer finds, those HubSpot holds as archived mark their records. The others
 * are live but do not carry the unique property (a full pull killed before its write-back,
 * carriers.ts, or a user cleared it): it is written again. Returns how many were.
 */
async function markArchived(ctx: PassContext, type: HubSpotObjectType, modules: CrmModule[], ids: string[]): Promise<number> {
  if (ids.length === 0) return 0
  const {engine} = ctx
  const {found, missing} = await engine.hubspot.read(type, ids, [engine.settings.uniqueProperty], {archived: true})
  const archived = found.filter((o) => o.archived !== false && o.id === o.requestedId).map((o) => o.id)
  await markLinks(ctx, type, modules, archived)
  if (ctx.dryRun || missing.length === 0) return 0
  // (search lag may hide one that carries it: written again, the same value)
  const live = [...(await engine.state.getLinksByHubSpotIds(type, missing)).values()].filter((l) => !l.archived && modules.includes(l.module))
  if (live.length === 0) return 0
  const {errors} = await engine.hubspot.update(type, live.map((l) => ({id: l.hubspotId, properties: {[engine.settings.uniqueProperty]: String(l.crmid)}})))
  return live.length - errors.length
}

/** Every archived object, from the archived list. */
async function walkArchivedList(ctx: PassContext, type: HubSpotObjectType, modules: CrmModule[]): Promise<void> {
  const {engine} = ctx
  for await (const page of engine.hubspot.list(type, {properties: [engine.settings.uniqueProperty], archived: true})) {
    await markLinks(ctx, type, modules, page.map((o) => o.id))
  }
}

async function markLinks(ctx: PassContext, type: HubSpotObjectType, modules: CrmModule[], ids: string[]): Promise<void> {
  const links = await ctx.engine.state.getLinksByHubSpotIds(type, ids)
  for (const module of modules) {
    const {linkModule} = ctx.targetOf(module)
    const marks = [...links.values()].filter((l) => !l.archived && l.module === linkModule)
    await applyWork(ctx, module, marks.map((link) => ({kind: 'mark-deleted', module, link, reason: 'archived in HubSpot'})))
  }
}
