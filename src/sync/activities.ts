/**
 * The activity streams: coreBOS comments and calendar activities → HubSpot engagements (push, per
 * module), HubSpot engagements → coreBOS (pull, per engagement type). They read a page from a
 * bookmark, resolve counterparts and parents, settle each pair (settle.ts, through the shape's
 * mapper) and hand the work to the pipeline's one apply (`applyWork` with the engagement type's
 * target): the same writers' order, link writer, snapshots, ledger, dry-run plan and kill safety
 * as the record streams. Archived and purged counterparts are found as the record streams find theirs.
 *
 * An activity follows its parents: it is synced only when at least one of the records it hangs off
 * is synced, and it is associated with every synced parent on the other side. The snapshot keeps
 * both sides' parents: `crm['@parents']` (coreBOS records, by crmid) and `associations` (HubSpot
 * ids by type), so a parent added or removed on one side travels without echoing back.
 */
import {callsSince, type PassOptions, type PassReport} from './engine.js'
import {checkArchived, readArchivedList} from './archived.js'
import {isEligible} from './eligibility.js'
import {applyWork, type ApplyTarget, type PassContext, type UpdateWork, type Work} from './pipeline.js'
import {PULL_MODULES, summarize} from './streams.js'
import type {Link, Reporter, WriteResult} from './ports.js'
import {createdSnapshot, settlePair, type Settlement, type Values} from './settle.js'
import {epochMsToNaive, naiveToEpochMs} from './time.js'
import {
  ENGAGEMENTS_OF,
  ACTIVITY_TYPE,
  asModuleKey,
  asObjectType,
  type ActivityModule,
  type ActivityParent,
  type CrmActivities,
  type CrmActivity,
  type EngagementType,
} from './activity-types.js'
import {engagementOf, instantMs, shapeMapper, shapeProperties, SHAPES} from './activity-shapes.js'
import {OBJECT_TYPE_OF_MODULE, type CrmCursor, type CrmModule, type CrmRecord, type HubSpotObject, type HubSpotObjectType} from './types.js'

export const ACTIVITY_PUSH_ORDER: ActivityModule[] = ['ModComments', 'cbCalendar']
export const ACTIVITY_PULL_ORDER: EngagementType[] = ['notes', 'calls', 'meetings', 'tasks', 'emails']
const PARENT_TYPES: HubSpotObjectType[] = ['contacts', 'companies', 'deals']
const PARENT_MODULES: CrmModule[] = ['Accounts', 'Contacts', 'Leads', 'Potentials']
const BATCH = 100
const PARENTS_KEY = '@parents'

/** The pull stream's key in the watermark and ledger tables: its engagement type. */
function pullKey(type: EngagementType): CrmModule {
  return type as unknown as CrmModule
}

function activitiesOf(ctx: PassContext): CrmActivities {
  const a = ctx.engine.activities
  if (!a) throw new Error('activity sync needs the coreBOS activities adapter (engine.activities)')
  return a
}

function parentKey(p: ActivityParent): string {
  return `${p.module}:${p.crmid}`
}

function parseParents(raw: string | null | undefined): ActivityParent[] {
  if (!raw) return []
  return raw.split(',').filter(Boolean).map((k) => {
    const [module, crmid] = k.split(':')
    return {module: module as CrmModule, crmid: Number(crmid)}
  })
}

function joinParents(parents: ActivityParent[]): string {
  return [...new Set(parents.map(parentKey))].sort().join(',')
}

function mergeCalls(report: PassReport, calls: Record<string, number>): void {
  for (const [key, value] of Object.entries(calls)) report.apiCalls[key] = (report.apiCalls[key] ?? 0) + value
}

/** Live links of parent records, by `Module:crmid`. */
async function parentLinks(ctx: PassContext, parents: ActivityParent[]): Promise<Map<string, Link>> {
  const out = new Map<string, Link>()
  for (const m of PARENT_MODULES) {
    const ids = [...new Set(parents.filter((p) => p.module === m).map((p) => p.crmid))]
    if (ids.length === 0) continue
    for (const [crmid, link] of await ctx.engine.state.getLinksByCrmids(m, ids)) if (!link.archived) out.set(`${m}:${crmid}`, link)
  }
  return out
}

/**
 * The pipeline's apply target of one engagement type: its links are the activity module's, its
 * ledger entries resolve under both streams' keys, and the coreBOS writer is `CrmActivities`. The
 * parents travel as the pseudo-field `@parents` (what coreBOS holds) beside the fields, and as the
 * settlement's associations (what HubSpot holds).
 */
function activityTarget(ctx: PassContext, type: EngagementType): ApplyTarget {
  const {settings} = ctx.engine
  const {module} = SHAPES[type]
  const activities = activitiesOf(ctx)
  const shaped = shapeMapper(SHAPES[type], settings.timezone, ctx.engine.activityOwners)
  const mapper = {...shaped, crmKeys: [...shaped.crmKeys, PARENTS_KEY]}
  const split = (values: Values) => {
    const {[PARENTS_KEY]: parents, ...fields} = values
    return {fields, parents: parents === undefined ? null : parseParents(parents)}
  }
  return {
    linkModule: asModuleKey(module),
    type: asObjectType(type),
    mapper,
    controlFields: false,
    ledgerKeys: [asModuleKey(module), pullKey(type)],
    async updateMany(updates) {
      const out: WriteResult[] = []
      for (const u of updates) {
        const {fields, parents} = split(u.fields)
        // the parents are compared through modifiedtime only: coreBOS's relation rows carry no value to compare
        const expected = u.expected && {modifiedtime: u.expected.modifiedtime, fields: u.expected.fields && split(u.expected.fields).fields}
        const result = await activities.update(module, u.crmid, fields, parents, settings.userId, expected)
        out.push(result.ok || result.stale ? result : {...result, error: `${module} ${u.crmid}: ${result.error ?? 'not written'}`})
      }
      return out
    },
    readAgain: async (crmids) => (await activities.readByIds(module, crmids)).filter((a) => !a.deleted).map((a) => asRecord(a, a.parents)),
    // the record, its relation rows and its link in one transaction: a rerun after a kill finds the link
    create: (creates) =>
      activities.create(
        module,
        creates.map((c) => {
          const {fields, parents} = split(c.fields)
          const {crm, hs} = createdSnapshot(mapper, c.fields, c.object.properties, c.associations)
          return {fields, parents: parents ?? [], hubspot: {type, id: c.object.id}, snapshot: {crm, hs}, associations: c.associations}
        }),
        settings.userId,
      ),
    // the recycle bin keeps the comment or activity
    async markDeleted(links) {
      for (const l of links) await activities.trash(module, l.crmid, settings.userId)
    },
  }
}

/** The activity of a pipeline record made by asRecord. */
function asActivity(module: ActivityModule, record: CrmRecord): CrmActivity {
  const {[PARENTS_KEY]: parents, ...fields} = record.fields
  return {module, crmid: record.crmid, modifiedtime: record.modifiedtime, deleted: record.deleted, fields, parents: parseParents(parents)}
}

/** An activity as the pipeline's record: its fields, and its parents as coreBOS holds them. */
function asRecord(a: CrmActivity, parents: ActivityParent[]): CrmRecord {
  return {module: asModuleKey(a.module), crmid: a.crmid, modifiedtime: a.modifiedtime, deleted: a.deleted, fields: {...a.fields, [PARENTS_KEY]: joinParents(parents)}}
}

function settleActivity(ctx: PassContext, type: EngagementType, record: CrmRecord, object: HubSpotObject, link: Link, stream: 'push' | 'pull'): Settlement {
  const {settings} = ctx.engine
  return settlePair({
    mapper: shapeMapper(SHAPES[type], settings.timezone, ctx.engine.activityOwners),
    record,
    object,
    link,
    reference: null,
    policy: settings.conflictPolicy,
    timezone: settings.timezone,
    uniqueProperty: settings.uniqueProperty,
    origin: stream === 'push' ? 'crm' : 'hubspot',
    writes: {hubspot: stream === 'push', crm: stream === 'pull'},
  })
}

async function readAssociations(ctx: PassContext, type: EngagementType, ids: string[]): Promise<Map<string, Record<string, string[]>>> {
  const out = new Map<string, Record<string, string[]>>()
  for (const id of ids) out.set(id, {contacts: [], companies: [], deals: []})
  if (ids.length === 0) return out
  for (const to of PARENT_TYPES) {
    for (const [id, list] of await ctx.engine.hubspot.readAssociations(asObjectType(type), to, ids)) {
      const entry = out.get(id)
      if (entry) entry[to] = [...list].sort()
    }
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// push: coreBOS activities → HubSpot engagements
// ---------------------------------------------------------------------------------------------

interface Bookmark {
  mode: 'full' | 'incremental'
  position?: CrmCursor
  maxSeen?: string | null
}

export async function pushActivities(ctx: PassContext, module: ActivityModule, options: PassOptions, report: PassReport, reporter: Reporter): Promise<string> {
  const {engine} = ctx
  const {state, settings} = engine
  const key = asModuleKey(module)
  const counts = ctx.sink.counts(key)
  const calls = engine.hubspot.callCounts()
  const watermark = await state.getWatermark(key, 'push')
  const mode: Bookmark['mode'] = options.full ? 'full' : 'incremental'
  let resume: Bookmark | null = null
  try {
    const b = watermark.cursor ? (JSON.parse(watermark.cursor) as Bookmark) : null
    resume = b && b.mode === mode && options.sinceMs === undefined ? b : null
  } catch {
    resume = null
  }
  let since: CrmCursor | null
  if (resume?.position) since = resume.position
  else if (options.sinceMs !== undefined) since = {modifiedtime: epochMsToNaive(options.sinceMs, settings.timezone), crmid: 0}
  else if (options.full || !watermark.value) since = null
  else since = {modifiedtime: epochMsToNaive(naiveToEpochMs(watermark.value, settings.timezone) - settings.pushLookbackSeconds * 1000, settings.timezone), crmid: 0}
  let maxSeen = resume ? (resume.maxSeen ?? null) : watermark.value
  const activities = activitiesOf(ctx)
  const seen = new Set<number>()

  // failures due for retry first, whatever the watermark says
  const due = ctx.dryRun ? [] : await state.dueFailures(key, 'push', 10_000)
  const dueIds = [...new Set(due.map((f) => f.crmid).filter((id): id is number => id !== null))]
  for (let i = 0; i < dueIds.length; i += BATCH) {
    const page = await activities.readByIds(module, dueIds.slice(i, i + BATCH))
    await pushPage(ctx, module, page)
    for (const a of page) seen.add(a.crmid)
  }

  let processed = 0
  let incomplete = false
  for await (const page of activities.readChanged(module, since, Math.max(BATCH, settings.pageSize))) {
    let chunk = page.filter((a) => !seen.has(a.crmid))
    if (options.limit !== undefined && processed + chunk.length > options.limit) {
      chunk = chunk.slice(0, options.limit - processed)
      incomplete = true
    }
    for (let i = 0; i < chunk.length; i += BATCH) await pushPage(ctx, module, chunk.slice(i, i + BATCH))
    processed += chunk.length
    const last = (incomplete ? chunk : page)[(incomplete ? chunk : page).length - 1]
    if (last && (!maxSeen || last.modifiedtime > maxSeen)) maxSeen = last.modifiedtime
    reporter.progress(`push ${module}`, processed)
    if (last && !ctx.dryRun) {
      const bookmark: Bookmark = {mode, position: {modifiedtime: last.modifiedtime, crmid: last.crmid + 1}, maxSeen}
      await state.setWatermark(key, 'push', watermark.value, JSON.stringify(bookmark))
    }
    if (incomplete) break
  }
  if (!incomplete) await archiveGoneActivities(ctx, module)
  if (!ctx.dryRun) {
    if (incomplete) report.incomplete.push(key)
    else await state.setWatermark(key, 'push', maxSeen ?? watermark.value, null)
  }
  mergeCalls(report, callsSince(calls, engine.hubspot.callCounts()))
  return summarize(counts, incomplete)
}

interface Pending {
  activity: CrmActivity
  link: Link | null
  type: EngagementType
  targets: Array<{type: HubSpotObjectType; id: string}>
  parents: ActivityParent[]
}

/** One page of one activity module: resolve links and parents, settle, and hand the work to the pipeline's apply. */
async function pushPage(ctx: PassContext, module: ActivityModule, page: CrmActivity[]): Promise<void> {
  if (page.length === 0) return
  const {engine} = ctx
  const key = asModuleKey(module)
  const counts = ctx.sink.counts(key)
  counts.read += page.length
  const links = await engine.state.getLinksByCrmids(key, page.map((a) => a.crmid))
  const parents = await parentLinks(ctx, page.flatMap((a) => a.parents))
  const archives: Array<{link: Link; type: EngagementType}> = []
  const pending: Pending[] = []
  const settled: Array<{crmid: number}> = []
  const orphans: CrmActivity[] = []

  for (const a of page) {
    const link = links.get(a.crmid)
    const type = (link?.objectType as unknown as EngagementType | undefined) ?? engagementOf(module, a.fields.activitytype)
    if (!type || !SHAPES[type].canPush) {
      // an activity type HubSpot has no engagement for (coreBOS e-mails), or a comment copied from a HubSpot e-mail
      counts.skipped++
      continue
    }
    if (link?.archived) {
      counts.skipped++
      continue
    }
    if (a.deleted) {
      if (link) archives.push({link, type})
      else counts.skipped++
      continue
    }
    const linked = a.parents.filter((p) => parents.has(parentKey(p)))
    const targets = linked.map((p) => ({type: OBJECT_TYPE_OF_MODULE[p.module], id: parents.get(parentKey(p))!.hubspotId}))
    if (!link) {
      if (linked.length > 0) pending.push({activity: a, link: null, type, targets, parents: linked})
      else orphans.push(a)
      continue
    }
    const mapper = shapeMapper(SHAPES[type], engine.settings.timezone, ctx.engine.activityOwners)
    const changed =
      [...mapper.pushSources.values()].flat().some((f) => !mapper.sameCrmValue(f, a.fields[f], link.snapshot.crm[f])) ||
      joinParents(linked) !== (link.snapshot.crm[PARENTS_KEY] ?? '')
    if (changed) pending.push({activity: a, link, type, targets, parents: linked})
    else {
      counts.skipped++
      settled.push({crmid: a.crmid})
    }
  }
  await ctx.resolveFailures(key, settled)
  await waitForParents(ctx, module, orphans)

  for (const type of ENGAGEMENTS_OF[module]) {
    const ofType = pending.filter((x) => x.type === type)
    const work: Work[] = archives.filter((x) => x.type === type).map((x) => ({kind: 'archive', module: key, link: x.link, reason: 'trashed in coreBOS'}))
    work.push(...(await pushUpdates(ctx, module, type, ofType.filter((x) => x.link !== null))))
    work.push(...ofType.filter((x) => x.link === null).map((x) => pushCreate(ctx, module, type, x)))
    await applyWork(ctx, key, work, activityTarget(ctx, type))
  }
}

/** An engagement new to HubSpot, upserted on the unique crmid property and associated with its parents. */
function pushCreate(ctx: PassContext, module: ActivityModule, type: EngagementType, c: Pending): Work {
  const {settings} = ctx.engine
  const shape = SHAPES[type]
  const record = asRecord(c.activity, c.parents)
  const mapped = shapeMapper(shape, settings.timezone, ctx.engine.activityOwners).toHubSpot(record)
  for (const w of mapped.warnings) ctx.sink.warn(`${module} ${c.activity.crmid}: ${w}`)
  const properties: Record<string, string> = {...mapped.values}
  for (const r of shape.createOnlyPush) {
    const v = r.value(c.activity.fields, settings.timezone)
    if (v !== null) properties[r.property] = v
  }
  // HubSpot refuses an engagement without its timeline moment: the activity's creation stands in
  if (!properties.hs_timestamp) {
    const created = c.activity.fields.createdtime
    properties.hs_timestamp = created ? new Date(naiveToEpochMs(created, settings.timezone)).toISOString() : ctx.nowIso()
  }
  return {kind: 'create-hubspot', module: asModuleKey(module), record, properties, associate: c.targets, reason: 'new in coreBOS'}
}

/**
 * Linked activities that changed in coreBOS, settled against their engagements as HubSpot has them
 * now. Parents coreBOS added or removed since the last sync travel as associations; HubSpot's own
 * additions stay, and the snapshot learns only what this stream settled (a parent HubSpot added
 * meanwhile is pull's to bring over).
 */
async function pushUpdates(ctx: PassContext, module: ActivityModule, type: EngagementType, pairs: Pending[]): Promise<Work[]> {
  if (pairs.length === 0) return []
  const {engine} = ctx
  const counts = ctx.sink.counts(asModuleKey(module))
  const properties = [...shapeProperties(SHAPES[type]), engine.settings.uniqueProperty]
  const {found} = await engine.hubspot.read(asObjectType(type), pairs.map((p) => p.link!.hubspotId), properties)
  const byId = new Map(found.map((o) => [o.requestedId, o]))
  const current = await readAssociations(ctx, type, [...byId.keys()])
  const work: Work[] = []
  for (const p of pairs) {
    const link = p.link!
    const found = byId.get(link.hubspotId)
    if (!found) {
      // archived in HubSpot since the last pass: the pull's archived check trashes the comment or activity
      counts.skipped++
      continue
    }
    const {requestedId: _, ...object} = found
    const record = asRecord(p.activity, p.parents)
    const s = settleActivity(ctx, type, record, object, link, 'push')
    for (const w of s.warnings) ctx.sink.warn(`${module} ${p.activity.crmid} → HubSpot ${type} ${object.id}: ${w}`)
    const base = new Set(parseParents(link.snapshot.crm[PARENTS_KEY]).map(parentKey))
    const now = new Set(p.parents.map(parentKey))
    const hs = current.get(object.id) ?? {contacts: [], companies: [], deals: []}
    const next: Record<string, string[]> = {}
    for (const t of PARENT_TYPES) next[t] = [...(link.associations?.[t] ?? [])]
    for (const [i, parent] of p.parents.entries()) {
      const t = p.targets[i]
      if (base.has(parentKey(parent))) continue
      if (!hs[t.type].includes(t.id)) s.associate.push(t)
      if (!next[t.type].includes(t.id)) next[t.type].push(t.id)
    }
    const removed = parseParents(link.snapshot.crm[PARENTS_KEY]).filter((x) => !now.has(parentKey(x)))
    const removedLinks = await parentLinks(ctx, removed)
    for (const r of removed) {
      const l = removedLinks.get(parentKey(r))
      if (!l) continue
      const t = OBJECT_TYPE_OF_MODULE[r.module]
      if (hs[t].includes(l.hubspotId)) s.dissociate.push({type: t, id: l.hubspotId})
      next[t] = next[t].filter((id) => id !== l.hubspotId)
    }
    for (const t of PARENT_TYPES) next[t].sort()
    s.next = {crm: {...s.next.crm, [PARENTS_KEY]: joinParents(p.parents)}, hs: s.next.hs, associations: next}
    work.push({kind: 'update', module: asModuleKey(module), record, object, link, settlement: s, reason: 'changed in coreBOS'})
  }
  return work
}

/**
 * Activities gone without a modifiedtime change (purged: the recycle bin emptied) are found through
 * their links, as the record streams find theirs, and archive their engagements. A comment copied
 * from a HubSpot e-mail is not push's to archive: its link just retires, or it would come back every pass.
 */
async function archiveGoneActivities(ctx: PassContext, module: ActivityModule): Promise<void> {
  const {state} = ctx.engine
  const key = asModuleKey(module)
  const seen = new Set<number>()
  for (;;) {
    const gone = (await state.linksWithGoneRecords(key, 1000)).filter((l) => !seen.has(l.crmid))
    if (gone.length === 0) return
    for (const l of gone) seen.add(l.crmid)
    for (const type of ENGAGEMENTS_OF[module]) {
      const links = gone.filter((l) => l.objectType === asObjectType(type))
      if (SHAPES[type].canPush) await applyWork(ctx, key, links.map((link) => ({kind: 'archive', module: key, link, reason: 'purged in coreBOS'})), activityTarget(ctx, type))
      else if (!ctx.dryRun && links.length > 0) await state.saveLinks(links.map((l) => ({...l, archived: true, syncedAt: ctx.nowIso()})))
    }
    if (ctx.dryRun) return
  }
}

/**
 * Activities none of whose parents is synced. One whose parent will be (opted in, not in HubSpot
 * yet) waits in the ledger and is retried; the others are not for HubSpot, and leave the ledger if
 * they were in it. One read per parent module for the whole page.
 */
async function waitForParents(ctx: PassContext, module: ActivityModule, activities: CrmActivity[]): Promise<void> {
  if (activities.length === 0) return
  const {engine} = ctx
  const key = asModuleKey(module)
  const counts = ctx.sink.counts(key)
  const eligible = new Set<string>()
  for (const m of PARENT_MODULES) {
    const ids = [...new Set(activities.flatMap((a) => a.parents.filter((p) => p.module === m).map((p) => p.crmid)))]
    if (ids.length === 0) continue
    for (const r of await engine.crm.readByIds(m, ids)) if (isEligible(r, engine.settings.optIn[m])) eligible.add(`${m}:${r.crmid}`)
  }
  const retired: Array<{crmid: number}> = []
  for (const a of activities) {
    const waiting = a.parents.find((p) => eligible.has(parentKey(p)))
    if (waiting) {
      await ctx.fail({module: key, crmid: a.crmid, hubspotId: null, category: 'PARENT_PENDING',
        message: `${module} ${a.crmid} hangs off ${waiting.module} ${waiting.crmid}, which is not in HubSpot yet; retried next pass`})
      continue
    }
    counts.skipped++
    retired.push({crmid: a.crmid})
  }
  await ctx.retire(key, retired)
}

// ---------------------------------------------------------------------------------------------
// pull: HubSpot engagements → coreBOS activities
// ---------------------------------------------------------------------------------------------

export async function pullEngagements(ctx: PassContext, type: EngagementType, options: PassOptions, report: PassReport, reporter: Reporter): Promise<string> {
  const {engine} = ctx
  const {state, settings, hubspot} = engine
  const key = pullKey(type)
  const counts = ctx.sink.counts(key)
  // every apply of this stream's work, the archived check's included, writes the activity module
  ctx.setTarget(key, activityTarget(ctx, type))
  const calls = hubspot.callCounts()
  const startedMs = engine.clock.nowMs()
  const watermark = await state.getWatermark(key, 'pull')
  let resumeMs: number | null = null
  try {
    const b = watermark.cursor ? (JSON.parse(watermark.cursor) as {lastMs?: number; full?: boolean}) : null
    if (b?.lastMs !== undefined && Boolean(b.full) === options.full && options.sinceMs === undefined) resumeMs = b.lastMs
  } catch {
    resumeMs = null
  }
  const wmMs = watermark.value ? Date.parse(watermark.value) : null
  const sinceMs = resumeMs ?? options.sinceMs ?? (options.full || wmMs === null ? 0 : wmMs)
  const properties = [...shapeProperties(SHAPES[type]), settings.uniqueProperty]
  const full = options.full || (wmMs === null && options.sinceMs === undefined)

  // archived engagements as the record pulls find archived objects: before this pass links anything
  if (!full) await checkArchived(ctx, asObjectType(type), [key], {remember: true})

  // failures due for retry first
  const due = ctx.dryRun ? [] : await state.dueFailures(key, 'pull', 10_000)
  const dueIds = [...new Set(due.map((f) => f.hubspotId).filter((id): id is string => id !== null))]
  const seen = new Set<string>()
  for (let i = 0; i < dueIds.length; i += BATCH) {
    const {found, missing} = await hubspot.read(asObjectType(type), dueIds.slice(i, i + BATCH), properties)
    if (!ctx.dryRun && missing.length > 0) await state.resolveFailures(key, 'pull', missing.map((hubspotId) => ({hubspotId})), 'ineligible')
    const page = found.map(({requestedId: _, ...o}) => o as HubSpotObject)
    await pullPage(ctx, type, page)
    for (const o of page) seen.add(o.id)
  }

  let processed = 0
  let incomplete = false
  for await (const raw of hubspot.searchModified(asObjectType(type), {sinceMs, untilMs: startedMs, properties})) {
    let page = raw.filter((o) => !seen.has(o.id))
    if (options.limit !== undefined && processed + page.length > options.limit) {
      page = page.slice(0, options.limit - processed)
      incomplete = true
    }
    for (let i = 0; i < page.length; i += BATCH) await pullPage(ctx, type, page.slice(i, i + BATCH))
    processed += page.length
    reporter.progress(`pull ${type}`, processed)
    const last = page[page.length - 1]
    if (last && !ctx.dryRun) await state.setWatermark(key, 'pull', watermark.value, JSON.stringify({full: options.full, lastMs: instantMs(last.properties.hs_lastmodifieddate ?? last.updatedAt) ?? sinceMs}))
    if (incomplete) break
  }
  if (full && !incomplete) await readArchivedList(ctx, asObjectType(type), [key], {remember: true})
  if (!ctx.dryRun) {
    if (incomplete) report.incomplete.push(key)
    else await state.setWatermark(key, 'pull', new Date(startedMs - settings.pullLagSeconds * 1000).toISOString(), null)
  }
  mergeCalls(report, callsSince(calls, hubspot.callCounts()))
  return summarize(counts, incomplete)
}

/** The coreBOS record each HubSpot parent is linked to, by `type:id`. */
async function linkedParents(ctx: PassContext, assoc: Map<string, Record<string, string[]>>): Promise<Map<string, ActivityParent>> {
  const out = new Map<string, ActivityParent>()
  for (const t of PARENT_TYPES) {
    const ids = [...new Set([...assoc.values()].flatMap((a) => a[t] ?? []))]
    if (ids.length === 0) continue
    for (const [id, link] of await ctx.engine.state.getLinksByHubSpotIds(t, ids)) if (!link.archived) out.set(`${t}:${id}`, {module: link.module, crmid: link.crmid})
  }
  return out
}

/** A comment hangs off one record: a contact (or lead) first, then the company, then the deal. */
function commentParent(parents: ActivityParent[]): ActivityParent[] {
  const rank: Record<CrmModule, number> = {Contacts: 0, Leads: 1, Accounts: 2, Potentials: 3}
  const first = [...parents].sort((a, b) => rank[a.module] - rank[b.module] || a.crmid - b.crmid)[0]
  return first ? [first] : []
}

/** The parents coreBOS can hold for this module: one for a comment; rel_id and the contacts for a calendar activity. */
function representable(module: ActivityModule, parents: ActivityParent[]): ActivityParent[] {
  if (module === 'ModComments') return commentParent(parents)
  const contacts = parents.filter((p) => p.module === 'Contacts')
  const rank: Record<CrmModule, number> = {Potentials: 0, Accounts: 1, Leads: 2, Contacts: 9}
  const rel = parents.filter((p) => p.module !== 'Contacts').sort((a, b) => rank[a.module] - rank[b.module] || a.crmid - b.crmid)[0]
  return [...(rel ? [rel] : []), ...contacts]
}

async function pullPage(ctx: PassContext, type: EngagementType, objects: HubSpotObject[]): Promise<void> {
  if (objects.length === 0) return
  const {engine} = ctx
  const shape = SHAPES[type]
  const module = shape.module
  const key = pullKey(type)
  const counts = ctx.sink.counts(key)
  counts.read += objects.length
  const links = await engine.state.getLinksByHubSpotIds(asObjectType(type), objects.map((o) => o.id))
  const assoc = await readAssociations(ctx, type, objects.map((o) => o.id))
  const parentOf = await linkedParents(ctx, assoc)
  const linkedIds = [...links.values()].filter((l) => !l.archived && l.module === asModuleKey(module)).map((l) => l.crmid)
  const records = new Map((await activitiesOf(ctx).readByIds(module, linkedIds)).map((a) => [a.crmid, a]))
  const work: Work[] = []
  const orphans: HubSpotObject[] = []
  for (const object of objects) {
    const link = links.get(object.id)
    const current = assoc.get(object.id) ?? {contacts: [], companies: [], deals: []}
    const linkedKeys = PARENT_TYPES.flatMap((t) => (current[t] ?? []).filter((id) => parentOf.has(`${t}:${id}`)).map((id) => ({t, id})))
    const parents = linkedKeys.map((k) => parentOf.get(`${k.t}:${k.id}`)!)
    const associations: Record<string, string[]> = {contacts: [], companies: [], deals: []}
    for (const k of linkedKeys) associations[k.t].push(k.id)
    if (link) {
      const activity = records.get(link.crmid)
      // archived link, or the coreBOS record is trashed or gone: push archives the engagement
      if (link.archived || !activity || activity.deleted) counts.skipped++
      else work.push(await pullUpdate(ctx, type, object, link, activity, associations, parentOf))
      continue
    }
    if (parents.length === 0) {
      orphans.push(object)
      continue
    }
    work.push(pullCreate(ctx, type, object, representable(module, parents), associations))
  }
  await waitForHubSpotParents(ctx, type, orphans, assoc)
  await applyWork(ctx, key, work)
}

/**
 * Engagements none of whose HubSpot parents is linked. One with a parent the pull will bring in (a
 * type cbhs pulls, not held by a retired link) waits in the ledger and is retried, as a comment waits
 * for its record on the push side; the others stay in HubSpot, and leave the ledger if they were in it.
 */
async function waitForHubSpotParents(ctx: PassContext, type: EngagementType, objects: HubSpotObject[], assoc: Map<string, Record<string, string[]>>): Promise<void> {
  if (objects.length === 0) return
  const {engine} = ctx
  const key = pullKey(type)
  const counts = ctx.sink.counts(key)
  const retired = new Set<string>()
  const pulled = PARENT_TYPES.filter((t) => PULL_MODULES[t].modules.some((m) => engine.mappers[m]?.canPull))
  for (const t of pulled) {
    const ids = [...new Set(objects.flatMap((o) => assoc.get(o.id)?.[t] ?? []))]
    if (ids.length > 0) for (const id of (await engine.state.getLinksByHubSpotIds(t, ids)).keys()) retired.add(`${t}:${id}`)
  }
  const skipped: Array<{hubspotId: string}> = []
  for (const o of objects) {
    const waiting = pulled.flatMap((t) => (assoc.get(o.id)?.[t] ?? []).map((id) => ({t, id}))).find((p) => !retired.has(`${p.t}:${p.id}`))
    if (waiting) {
      await ctx.fail({module: key, crmid: null, hubspotId: o.id, category: 'PARENT_PENDING',
        message: `HubSpot ${type} ${o.id} hangs off HubSpot ${waiting.t} ${waiting.id}, which is not in coreBOS yet; retried next pass`})
      continue
    }
    counts.skipped++
    skipped.push({hubspotId: o.id})
  }
  await ctx.retire(key, skipped)
}

/** Fields by the three-way merge; parents HubSpot added or removed since the last sync. */
async function pullUpdate(
  ctx: PassContext,
  type: EngagementType,
  object: HubSpotObject,
  link: Link,
  activity: CrmActivity,
  associations: Record<string, string[]>,
  parentOf: Map<string, ActivityParent>,
): Promise<UpdateWork> {
  const {module} = SHAPES[type]
  const record = asRecord(activity, activity.parents)
  const s = settleActivity(ctx, type, record, object, link, 'pull')
  for (const w of s.warnings) ctx.sink.warn(`HubSpot ${type} ${object.id} → ${module} ${activity.crmid}: ${w}`)
  const parents = module === 'cbCalendar' ? await parentsAfterHubSpot(ctx, activity.parents, link.associations ?? {}, associations, parentOf) : null
  // coreBOS's side of the parents learns only what this stream wrote: a parent coreBOS added meanwhile is push's to send
  const baseParents = new Map(parseParents(link.snapshot.crm[PARENTS_KEY]).map((p) => [parentKey(p), p]))
  if (parents) {
    s.crm[PARENTS_KEY] = joinParents(parents)
    for (const p of parents) if (!activity.parents.some((q) => parentKey(q) === parentKey(p))) baseParents.set(parentKey(p), p)
    for (const q of activity.parents) if (!parents.some((p) => parentKey(p) === parentKey(q))) baseParents.delete(parentKey(q))
  }
  // where both sides agree on a parent now, held or not, that is settled whichever side got there first:
  // a later change in coreBOS is then push's to send. Where they disagree, the base stays, so the side
  // that changed is the one whose stream sends it.
  const crmHeld = new Set((parents ?? activity.parents).map(parentKey))
  const hsHeld = new Map<string, ActivityParent>()
  for (const t of PARENT_TYPES) {
    for (const id of associations[t] ?? []) {
      const p = parentOf.get(`${t}:${id}`)
      if (p) hsHeld.set(parentKey(p), p)
    }
  }
  for (const [k, p] of hsHeld) if (crmHeld.has(k)) baseParents.set(k, p)
  for (const k of [...baseParents.keys()]) if (!crmHeld.has(k) && !hsHeld.has(k)) baseParents.delete(k)
  s.next = {crm: {...s.next.crm, [PARENTS_KEY]: joinParents([...baseParents.values()])}, hs: s.next.hs, associations}
  // a coreBOS save while this is written: the writer reads the activity again and this settles it again
  ctx.settlesAgainWith(s, async (again) => (await pullUpdate(ctx, type, object, link, asActivity(module, again), associations, parentOf)).settlement)
  return {kind: 'update', module: pullKey(type), record, object, link, settlement: s, reason: 'changed in HubSpot'}
}

/** An engagement new to coreBOS, with what coreBOS requires of a comment or calendar activity. */
function pullCreate(ctx: PassContext, type: EngagementType, object: HubSpotObject, parents: ActivityParent[], associations: Record<string, string[]>): Work {
  const {settings, clock} = ctx.engine
  const shape = SHAPES[type]
  const {module} = shape
  const mapped = shapeMapper(shape, settings.timezone, ctx.engine.activityOwners).toCrm(object)
  for (const w of mapped.warnings) ctx.sink.warn(`HubSpot ${type} ${object.id}: ${w}`)
  const fields: Values = {...mapped.values}
  for (const r of shape.createOnlyPull) fields[r.field] ??= r.value(object.properties, settings.timezone)
  if (ACTIVITY_TYPE[type]) fields.activitytype = ACTIVITY_TYPE[type]!
  if (module === 'ModComments') {
    const at = instantMs(object.properties.hs_timestamp)
    // never later than now: a comment is not dated in the future (invariant 13's clocks)
    if (at !== null) fields.createdtime = epochMsToNaive(Math.min(at, clock.nowMs()), settings.timezone)
  }
  if (module === 'cbCalendar') {
    // coreBOS requires a subject, a start and a due date
    fields.dtstart ??= fields.dtend ?? epochMsToNaive(instantMs(object.properties.hs_timestamp) ?? clock.nowMs(), settings.timezone)
    fields.dtend ??= fields.dtstart
    if (!fields.subject) {
      fields.subject = `HubSpot ${type.slice(0, -1)} ${object.id}`
      ctx.sink.warn(`HubSpot ${type} ${object.id}: no title; stored '${fields.subject}' as the subject`)
    }
  }
  fields[PARENTS_KEY] = joinParents(parents)
  return {kind: 'create-crm', module: pullKey(type), object, fields, associations, reason: 'new in HubSpot'}
}

/**
 * The calendar activity's parents once what HubSpot added or removed since the last sync is applied
 * (null when nothing changes): a removal coreBOS made itself is push's business, not undone here.
 */
async function parentsAfterHubSpot(
  ctx: PassContext,
  current: ActivityParent[],
  base: Record<string, string[]>,
  now: Record<string, string[]>,
  parentOf: Map<string, ActivityParent>,
): Promise<ActivityParent[] | null> {
  const removed = new Set<string>()
  const added: ActivityParent[] = []
  for (const t of PARENT_TYPES) {
    const gone = (base[t] ?? []).filter((id) => !(now[t] ?? []).includes(id))
    if (gone.length > 0) for (const link of (await ctx.engine.state.getLinksByHubSpotIds(t, gone)).values()) removed.add(`${link.module}:${link.crmid}`)
    for (const id of (now[t] ?? []).filter((x) => !(base[t] ?? []).includes(x))) {
      const p = parentOf.get(`${t}:${id}`)
      if (p) added.push(p)
    }
  }
  if (removed.size === 0 && added.length === 0) return null
  const next = representable('cbCalendar', [...current.filter((p) => !removed.has(parentKey(p))), ...added.filter((p) => !current.some((q) => parentKey(q) === parentKey(p)))])
  return joinParents(next) === joinParents(current) ? null : next
}

/**
 * Links whose other side is gone for good (purged in HubSpot, or the coreBOS row deleted outright),
 * which no pass's read shows: the surviving side is trashed or archived through the shared apply, as
 * for an archived or trashed one. Reconcile's repair; exported for it.
 */
export async function retireGoneActivityLinks(ctx: PassContext, gone: Array<{link: Link; side: 'hubspot' | 'crm'}>): Promise<{trashed: number; archived: number}> {
  const out = {trashed: 0, archived: 0}
  for (const type of ACTIVITY_PULL_ORDER) {
    const ofType = gone.filter((g) => g.link.objectType === asObjectType(type))
    if (ofType.length === 0) continue
    const key = ofType[0].link.module
    const counts = ctx.sink.counts(key)
    const before = {archived: counts.archived, markedDeleted: counts.markedDeleted}
    const work: Work[] = ofType.map(({link, side}) =>
      side === 'hubspot'
        ? {kind: 'mark-deleted', module: key, link, reason: 'gone from HubSpot: trashed in coreBOS'}
        : {kind: 'archive', module: key, link, reason: 'gone from coreBOS'},
    )
    await applyWork(ctx, key, work, activityTarget(ctx, type))
    out.trashed += counts.markedDeleted - before.markedDeleted
    out.archived += counts.archived - before.archived
  }
  return out
}
