/**
 * The activity streams: coreBOS comments and calendar activities → HubSpot engagements (push, per
 * module), HubSpot engagements → coreBOS (pull, per engagement type). They run the pipeline's
 * steps with its parts: the pass context (ledger, dry run, sink), the three-way merge (settle.ts,
 * through the shape's mapper), the link table with its snapshot shape and `saveLinksOrFail`,
 * watermarks with a bookmark, upserts keyed on the unique crmid property (kill safety).
 *
 * An activity follows its parents: it is synced only when at least one of the records it hangs off
 * is synced, and it is associated with every synced parent on the other side. The snapshot keeps
 * both sides' parents: `crm['@parents']` (coreBOS records, by crmid) and `associations` (HubSpot
 * ids by type), so a parent added or removed on one side travels without echoing back.
 */
import {callsSince, emptyCounts, type PassOptions, type PassReport, type PlanItem} from './engine.js'
import {isEligible} from './eligibility.js'
import {saveLinksOrFail, type PassContext} from './pipeline.js'
import {summarize} from './streams.js'
import type {Link, Reporter} from './ports.js'
import {settlePair, type Settlement} from './settle.js'
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

function asRecord(a: CrmActivity): CrmRecord {
  return {module: asModuleKey(a.module), crmid: a.crmid, modifiedtime: a.modifiedtime, deleted: a.deleted, fields: a.fields}
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

function associationsOf(targets: Array<{type: HubSpotObjectType; id: string}>): Record<string, string[]> {
  const out: Record<string, string[]> = {contacts: [], companies: [], deals: []}
  for (const t of targets) if (!out[t.type].includes(t.id)) out[t.type].push(t.id)
  for (const t of PARENT_TYPES) out[t].sort()
  return out
}

async function associate(ctx: PassContext, type: EngagementType, ops: Array<{fromId: string; to: {type: HubSpotObjectType; id: string}; remove: boolean}>, counts: ReturnType<typeof emptyCounts>): Promise<void> {
  for (const remove of [false, true]) {
    for (const to of PARENT_TYPES) {
      const list = ops.filter((o) => o.remove === remove && o.to.type === to).map((o) => ({fromId: o.fromId, toId: o.to.id}))
      if (list.length === 0) continue
      const from = asObjectType(type)
      const {errors} = remove ? await ctx.engine.hubspot.removeAssociations(from, to, list) : await ctx.engine.hubspot.createAssociations(from, to, list)
      for (const e of errors) ctx.sink.warn(`association ${type}→${to} ${e.key}: ${e.message}`)
      const n = list.length - errors.length
      if (remove) counts.associationsRemoved += n
      else counts.associationsCreated += n
    }
  }
}

async function resolve(ctx: PassContext, key: CrmModule, keys: Array<{crmid?: number; hubspotId?: string}>): Promise<void> {
  if (ctx.dryRun || keys.length === 0) return
  await ctx.engine.state.resolveFailures(key, ctx.sink.direction, keys)
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
  if (!ctx.dryRun) {
    if (incomplete) report.incomplete.push(key)
    else await state.setWatermark(key, 'push', maxSeen ?? watermark.value, null)
  }
  mergeCalls(report, callsSince(calls, engine.hubspot.callCounts()))
  return summarize(counts, incomplete)
}

interface PushPair {
  activity: CrmActivity
  link: Link
  type: EngagementType
  targets: Array<{type: HubSpotObjectType; id: string}>
  parents: ActivityParent[]
}

interface PushCreate {
  activity: CrmActivity
  type: EngagementType
  targets: Array<{type: HubSpotObjectType; id: string}>
  parents: ActivityParent[]
}

/** One page of one activity module: resolve parents and links, settle, write HubSpot, record links. */
async function pushPage(ctx: PassContext, module: ActivityModule, page: CrmActivity[]): Promise<void> {
  if (page.length === 0) return
  const {engine} = ctx
  const key = asModuleKey(module)
  const counts = ctx.sink.counts(key)
  counts.read += page.length
  const links = await engine.state.getLinksByCrmids(key, page.map((a) => a.crmid))
  const parents = await parentLinks(ctx, page.flatMap((a) => a.parents))
  const archives: Array<{link: Link; type: EngagementType}> = []
  const pairs: PushPair[] = []
  const creates: PushCreate[] = []
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
      if (linked.length > 0) creates.push({activity: a, type, targets, parents: linked})
      else orphans.push(a)
      continue
    }
    const mapper = shapeMapper(SHAPES[type], engine.settings.timezone, engine.activityOwners)
    const changed =
      [...mapper.pushSources.values()].flat().some((f) => !mapper.sameCrmValue(f, a.fields[f], link.snapshot.crm[f])) ||
      joinParents(linked) !== (link.snapshot.crm[PARENTS_KEY] ?? '')
    if (changed) pairs.push({activity: a, link, type, targets, parents: linked})
    else {
      counts.skipped++
      settled.push({crmid: a.crmid})
    }
  }
  await resolve(ctx, key, settled)
  await waitForParents(ctx, module, orphans)

  for (const type of ENGAGEMENTS_OF[module]) {
    await pushArchives(ctx, module, type, archives.filter((x) => x.type === type))
    await pushUpdates(ctx, module, type, pairs.filter((x) => x.type === type))
    await pushCreates(ctx, module, type, creates.filter((x) => x.type === type))
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

async function pushArchives(ctx: PassContext, module: ActivityModule, type: EngagementType, archives: Array<{link: Link}>): Promise<void> {
  if (archives.length === 0) return
  const key = asModuleKey(module)
  const counts = ctx.sink.counts(key)
  if (ctx.dryRun) {
    for (const a of archives) ctx.sink.plan({module: key, crmid: a.link.crmid, hubspotId: a.link.hubspotId, action: 'archive', reason: 'trashed in coreBOS', changes: []})
    counts.archived += archives.length
    return
  }
  const {errors} = await ctx.engine.hubspot.archive(asObjectType(type), archives.map((a) => a.link.hubspotId))
  const failed = new Map(errors.map((e) => [e.key, e]))
  for (const a of archives) {
    const e = failed.get(a.link.hubspotId)
    if (e) await ctx.fail({module: key, crmid: a.link.crmid, hubspotId: a.link.hubspotId, category: e.category, message: e.message})
  }
  const done = archives.filter((a) => !failed.has(a.link.hubspotId))
  await ctx.engine.state.saveLinks(done.map((a) => ({...a.link, archived: true, syncedAt: ctx.nowIso()})))
  counts.archived += done.length
  await resolve(ctx, key, done.map((a) => ({crmid: a.link.crmid})))
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

async function pushUpdates(ctx: PassContext, module: ActivityModule, type: EngagementType, pairs: PushPair[]): Promise<void> {
  if (pairs.length === 0) return
  const {engine} = ctx
  const key = asModuleKey(module)
  const counts = ctx.sink.counts(key)
  const properties = [...shapeProperties(SHAPES[type]), engine.settings.uniqueProperty]
  const {found, missing} = await engine.hubspot.read(asObjectType(type), pairs.map((p) => p.link.hubspotId), properties)
  const byId = new Map(found.map((o) => [o.requestedId, o]))
  const gone = new Set(missing)
  const current = await readAssociations(ctx, type, [...byId.keys()])
  const writes: Array<{id: string; properties: Record<string, string>}> = []
  const ops: Array<{fromId: string; to: {type: HubSpotObjectType; id: string}; remove: boolean}> = []
  const links: Link[] = []
  for (const p of pairs) {
    const object = byId.get(p.link.hubspotId)
    if (!object || gone.has(p.link.hubspotId)) {
      // archived in HubSpot since the last pass: the pull's archived list trashes the comment or activity
      counts.skipped++
      continue
    }
    const s = settleActivity(ctx, type, asRecord(p.activity), object, p.link, 'push')
    for (const w of s.warnings) ctx.sink.warn(`${module} ${p.activity.crmid} → HubSpot ${type} ${object.id}: ${w}`)
    counts.conflicts += s.conflicts.length
    for (const c of s.conflicts) ctx.sink.conflict(key, p.activity.crmid, object.id, c)
    // parents: what coreBOS added or removed since the last sync travels; HubSpot's own additions stay
    const base = new Set(parseParents(p.link.snapshot.crm[PARENTS_KEY]).map(parentKey))
    const now = new Set(p.parents.map(parentKey))
    const hs = current.get(object.id) ?? {contacts: [], companies: [], deals: []}
    // the snapshot learns only what this stream settled: a parent HubSpot added meanwhile is pull's to bring over
    const next: Record<string, string[]> = {}
    for (const t of PARENT_TYPES) next[t] = [...(p.link.associations?.[t] ?? [])]
    for (const [i, parent] of p.parents.entries()) {
      const t = p.targets[i]
      if (base.has(parentKey(parent))) continue
      if (!hs[t.type].includes(t.id)) ops.push({fromId: object.id, to: t, remove: false})
      if (!next[t.type].includes(t.id)) next[t.type].push(t.id)
    }
    const removed = parseParents(p.link.snapshot.crm[PARENTS_KEY]).filter((x) => !now.has(parentKey(x)))
    const removedLinks = await parentLinks(ctx, removed)
    for (const r of removed) {
      const l = removedLinks.get(parentKey(r))
      if (!l) continue
      const t = OBJECT_TYPE_OF_MODULE[r.module]
      if (hs[t].includes(l.hubspotId)) ops.push({fromId: object.id, to: {type: t, id: l.hubspotId}, remove: true})
      next[t] = next[t].filter((id) => id !== l.hubspotId)
    }
    const wrote = Object.keys(s.hs).length > 0 || ops.some((o) => o.fromId === object.id)
    if (ctx.dryRun) {
      if (wrote) {
        counts.updated++
        const changes: PlanItem['changes'] = Object.entries(s.hs).map(([k, v]) => ({key: k, old: object.properties[k] ?? null, new: v, side: 'hubspot' as const}))
        for (const o of ops.filter((x) => x.fromId === object.id)) changes.push({key: `association:${o.to.type}`, old: o.remove ? o.to.id : null, new: o.remove ? null : o.to.id, side: 'hubspot'})
        ctx.sink.plan({module: key, crmid: p.activity.crmid, hubspotId: object.id, action: 'update', reason: 'changed in coreBOS', changes})
      } else counts.skipped++
      continue
    }
    if (Object.keys(s.hs).length > 0) writes.push({id: object.id, properties: s.hs})
    if (wrote) counts.updated++
    else counts.skipped++
    for (const t of PARENT_TYPES) next[t].sort()
    links.push({...p.link, snapshot: {crm: {...s.next.crm, [PARENTS_KEY]: joinParents(p.parents)}, hs: {...s.next.hs}}, associations: next, syncedAt: ctx.nowIso()})
  }
  if (ctx.dryRun) return
  const failed = new Map<string, {category: string; message: string}>()
  if (writes.length > 0) {
    const {results, errors} = await engine.hubspot.update(asObjectType(type), writes)
    for (const e of errors) failed.set(e.key, e)
    // what HubSpot stored, in its own form, is what the snapshot keeps
    for (const r of results) {
      const link = links.find((l) => l.hubspotId === r.key)
      if (link) for (const [k, v] of Object.entries(r.properties)) if (k in link.snapshot.hs) link.snapshot.hs[k] = v
    }
  }
  await associate(ctx, type, ops.filter((o) => !failed.has(o.fromId)), counts)
  const ok: Link[] = []
  for (const link of links) {
    const e = failed.get(link.hubspotId)
    if (e) await ctx.fail({module: key, crmid: link.crmid, hubspotId: link.hubspotId, category: e.category, message: e.message})
    else ok.push(link)
  }
  await recordLinks(ctx, key, ok)
}

async function pushCreates(ctx: PassContext, module: ActivityModule, type: EngagementType, creates: PushCreate[]): Promise<void> {
  if (creates.length === 0) return
  const {engine} = ctx
  const key = asModuleKey(module)
  const counts = ctx.sink.counts(key)
  const shape = SHAPES[type]
  const mapper = shapeMapper(shape, engine.settings.timezone, engine.activityOwners)
  const inputs = creates.map((c) => {
    const mapped = mapper.toHubSpot(asRecord(c.activity))
    for (const w of mapped.warnings) ctx.sink.warn(`${module} ${c.activity.crmid}: ${w}`)
    const properties: Record<string, string> = {...mapped.values}
    for (const r of shape.createOnlyPush) {
      const v = r.value(c.activity.fields, engine.settings.timezone)
      if (v !== null) properties[r.property] = v
    }
    // HubSpot refuses an engagement without its timeline moment: the activity's creation stands in
    if (!properties.hs_timestamp) {
      const created = c.activity.fields.createdtime
      properties.hs_timestamp = created ? new Date(naiveToEpochMs(created, engine.settings.timezone)).toISOString() : ctx.nowIso()
    }
    return {key: String(c.activity.crmid), properties, create: c}
  })
  if (ctx.dryRun) {
    for (const i of inputs) {
      counts.created++
      const changes: PlanItem['changes'] = Object.entries(i.properties).map(([k, v]) => ({key: k, old: null, new: v, side: 'hubspot' as const}))
      for (const t of i.create.targets) changes.push({key: `association:${t.type}`, old: null, new: t.id, side: 'hubspot'})
      ctx.sink.plan({module: key, crmid: i.create.activity.crmid, hubspotId: null, action: 'create', reason: 'new in coreBOS', changes})
    }
    return
  }
  // upsert on the unique crmid property: a rerun after a kill finds the engagement it made
  const {results, errors} = await engine.hubspot.upsert(asObjectType(type), inputs.map((i) => ({key: i.key, properties: i.properties})))
  const byKey = new Map(inputs.map((i) => [i.key, i]))
  const links: Link[] = []
  const ops: Array<{fromId: string; to: {type: HubSpotObjectType; id: string}; remove: boolean}> = []
  for (const r of results) {
    const input = byKey.get(r.key)
    if (!input) continue
    if (r.isNew) counts.created++
    else counts.linked++
    for (const t of input.create.targets) ops.push({fromId: r.id, to: t, remove: false})
    const hs: Record<string, string | null> = {}
    for (const p of mapper.hsKeys) hs[p] = r.properties[p] ?? input.properties[p] ?? null
    const crm: Record<string, string | null> = {[PARENTS_KEY]: joinParents(input.create.parents)}
    for (const f of mapper.crmKeys) crm[f] = input.create.activity.fields[f] ?? null
    links.push({module: key, crmid: input.create.activity.crmid, objectType: asObjectType(type), hubspotId: r.id, snapshot: {crm, hs}, associations: associationsOf(input.create.targets), archived: false, syncedAt: ctx.nowIso()})
  }
  for (const e of errors) {
    const input = byKey.get(e.key)
    if (input) await ctx.fail({module: key, crmid: input.create.activity.crmid, hubspotId: null, category: e.category, message: `${module} ${input.create.activity.crmid}: ${e.message}`})
  }
  await associate(ctx, type, ops, counts)
  await recordLinks(ctx, key, links)
}

/** The link writer of the activity streams: saved (one HubSpot object, one record), ledger resolved. */
async function recordLinks(ctx: PassContext, key: CrmModule, links: Link[]): Promise<void> {
  if (links.length === 0) return
  const saved = await saveLinksOrFail(ctx.engine, links, (link, message) =>
    ctx.fail({module: key, crmid: link.crmid, hubspotId: link.hubspotId, category: 'SHARED_IDENTITY', waitForChange: true, message}),
  )
  const keys = links.filter((l) => saved.has(l.crmid)).flatMap((l) => [{crmid: l.crmid}, {hubspotId: l.hubspotId}])
  if (keys.length === 0) return
  for (const direction of ['push', 'pull'] as const) {
    await ctx.engine.state.resolveFailures(key, direction, keys)
    await ctx.engine.state.resolveFailures(pullKey(links[0].objectType as unknown as EngagementType), direction, keys)
  }
}

// ---------------------------------------------------------------------------------------------
// pull: HubSpot engagements → coreBOS activities
// ---------------------------------------------------------------------------------------------

export async function pullEngagements(ctx: PassContext, type: EngagementType, options: PassOptions, report: PassReport, reporter: Reporter): Promise<string> {
  const {engine} = ctx
  const {state, settings, hubspot} = engine
  const key = pullKey(type)
  const counts = ctx.sink.counts(key)
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
  if (!incomplete) await pullArchived(ctx, type)
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
  const activities = activitiesOf(ctx)
  const links = await engine.state.getLinksByHubSpotIds(asObjectType(type), objects.map((o) => o.id))
  const assoc = await readAssociations(ctx, type, objects.map((o) => o.id))
  const parentOf = await linkedParents(ctx, assoc)
  const linkedIds = [...links.values()].filter((l) => !l.archived && l.module === asModuleKey(module)).map((l) => l.crmid)
  const records = new Map((await activities.readByIds(module, linkedIds)).map((a) => [a.crmid, a]))
  const mapper = shapeMapper(shape, engine.settings.timezone, engine.activityOwners)
  const creates: Array<{object: HubSpotObject; parents: ActivityParent[]; associations: Record<string, string[]>}> = []
  const updates: Array<{object: HubSpotObject; link: Link; activity: CrmActivity; parents: ActivityParent[]; associations: Record<string, string[]>}> = []
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
      else updates.push({object, link, activity, parents, associations})
      continue
    }
    if (parents.length === 0) {
      counts.skipped++
      continue
    }
    creates.push({object, parents: representable(module, parents), associations})
  }

  // updates: fields by the three-way merge; parents HubSpot added or removed since the last sync
  const updated: Link[] = []
  const hsWrites: Array<{id: string; properties: Record<string, string>}> = []
  for (const u of updates) {
    const s = settleActivity(ctx, type, asRecord(u.activity), u.object, u.link, 'pull')
    for (const w of s.warnings) ctx.sink.warn(`HubSpot ${type} ${u.object.id} → ${module} ${u.activity.crmid}: ${w}`)
    counts.conflicts += s.conflicts.length
    for (const c of s.conflicts) ctx.sink.conflict(key, u.activity.crmid, u.object.id, c)
    const parents = module === 'cbCalendar' ? await parentsAfterHubSpot(ctx, u.activity.parents, u.link.associations ?? {}, u.associations, parentOf) : null
    const wroteCrm = Object.keys(s.crm).length > 0 || parents !== null
    const unique = s.hs[engine.settings.uniqueProperty]
    if (ctx.dryRun) {
      if (wroteCrm) {
        counts.updated++
        ctx.sink.plan({module: key, crmid: u.activity.crmid, hubspotId: u.object.id, action: 'update', reason: 'changed in HubSpot',
          changes: Object.entries(s.crm).map(([k, v]) => ({key: k, old: u.activity.fields[k] ?? null, new: v, side: 'crm' as const}))})
      } else counts.skipped++
      continue
    }
    if (wroteCrm) {
      const result = await activities.update(module, u.activity.crmid, s.crm, parents, engine.settings.userId)
      if (!result.ok) {
        await ctx.fail({module: key, crmid: u.activity.crmid, hubspotId: u.object.id, category: 'WRITE_FAILED', message: `${module} ${u.activity.crmid}: ${result.error ?? 'not written'}`})
        continue
      }
      counts.updated++
    } else counts.skipped++
    if (unique) hsWrites.push({id: u.object.id, properties: {[engine.settings.uniqueProperty]: unique}})
    // coreBOS's side of the parents learns only what this stream wrote: a parent coreBOS added meanwhile is push's to send
    const baseParents = new Map(parseParents(u.link.snapshot.crm[PARENTS_KEY]).map((p) => [parentKey(p), p]))
    if (parents) {
      for (const p of parents) if (!u.activity.parents.some((q) => parentKey(q) === parentKey(p))) baseParents.set(parentKey(p), p)
      for (const q of u.activity.parents) if (!parents.some((p) => parentKey(p) === parentKey(q))) baseParents.delete(parentKey(q))
    }
    updated.push({...u.link, snapshot: {crm: {...s.next.crm, [PARENTS_KEY]: joinParents([...baseParents.values()])}, hs: s.next.hs}, associations: u.associations, syncedAt: ctx.nowIso()})
  }
  if (!ctx.dryRun) {
    if (hsWrites.length > 0) await engine.hubspot.update(asObjectType(type), hsWrites)
    await recordLinks(ctx, key, updated.filter((l) => !sameLink(links.get(l.hubspotId), l)))
    await resolve(ctx, key, updated.map((l) => ({hubspotId: l.hubspotId})))
  }

  // creates: the record, its relation rows and its link in one transaction
  if (creates.length === 0) return
  const inputs = creates.map((c) => {
    const mapped = mapper.toCrm(c.object)
    for (const w of mapped.warnings) ctx.sink.warn(`HubSpot ${type} ${c.object.id}: ${w}`)
    const fields: Record<string, string | null> = {...mapped.values}
    for (const r of shape.createOnlyPull) fields[r.field] ??= r.value(c.object.properties, engine.settings.timezone)
    if (ACTIVITY_TYPE[type]) fields.activitytype = ACTIVITY_TYPE[type]!
    if (module === 'ModComments') {
      const at = instantMs(c.object.properties.hs_timestamp)
      // never later than now: a comment is not dated in the future (invariant 13's clocks)
      if (at !== null) fields.createdtime = epochMsToNaive(Math.min(at, engine.clock.nowMs()), engine.settings.timezone)
    }
    if (module === 'cbCalendar') {
      // coreBOS requires a subject, a start and a due date
      fields.dtstart ??= fields.dtend ?? epochMsToNaive(instantMs(c.object.properties.hs_timestamp) ?? engine.clock.nowMs(), engine.settings.timezone)
      fields.dtend ??= fields.dtstart
      if (!fields.subject) {
        fields.subject = `HubSpot ${type.slice(0, -1)} ${c.object.id}`
        ctx.sink.warn(`HubSpot ${type} ${c.object.id}: no title; stored '${fields.subject}' as the subject`)
      }
    }
    const crm: Record<string, string | null> = {[PARENTS_KEY]: joinParents(c.parents)}
    for (const f of mapper.crmKeys) crm[f] = fields[f] ?? null
    const hs: Record<string, string | null> = {}
    for (const p of mapper.hsKeys) hs[p] = c.object.properties[p] ?? null
    return {fields, parents: c.parents, hubspot: {type, id: c.object.id}, snapshot: {crm, hs}, associations: c.associations}
  })
  if (ctx.dryRun) {
    for (const i of inputs) {
      counts.created++
      ctx.sink.plan({module: key, crmid: null, hubspotId: i.hubspot.id, action: 'create', reason: 'new in HubSpot', changes: Object.entries(i.fields).map(([k, v]) => ({key: k, old: null, new: v, side: 'crm' as const}))})
    }
    return
  }
  const results = await activities.create(module, inputs, engine.settings.userId)
  const made: Link[] = []
  for (const [i, r] of results.entries()) {
    const input = inputs[i]
    if (!r.ok) {
      await ctx.fail({module: key, crmid: null, hubspotId: input.hubspot.id, category: 'WRITE_FAILED', message: `HubSpot ${type} ${input.hubspot.id}: ${r.error ?? 'not written'}`})
      continue
    }
    counts.created++
    made.push({module: asModuleKey(module), crmid: r.crmid, objectType: asObjectType(type), hubspotId: input.hubspot.id, snapshot: input.snapshot, associations: input.associations, archived: false, syncedAt: ctx.nowIso()})
  }
  // HubSpot learns the crmid, as for every object cbhs links
  if (made.length > 0) await engine.hubspot.update(asObjectType(type), made.map((l) => ({id: l.hubspotId, properties: {[engine.settings.uniqueProperty]: String(l.crmid)}})))
  await recordLinks(ctx, key, made)
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

function sameLink(old: Link | undefined, next: Link): boolean {
  if (!old) return false
  return JSON.stringify(old.snapshot) === JSON.stringify(next.snapshot) && JSON.stringify(old.associations) === JSON.stringify(next.associations)
}

/** Engagements archived in HubSpot trash their coreBOS comment or activity (the recycle bin keeps it). */
async function pullArchived(ctx: PassContext, type: EngagementType): Promise<void> {
  const {engine} = ctx
  const key = pullKey(type)
  const counts = ctx.sink.counts(key)
  const module = SHAPES[type].module
  for await (const page of engine.hubspot.list(asObjectType(type), {properties: [engine.settings.uniqueProperty], archived: true})) {
    const links = [...(await engine.state.getLinksByHubSpotIds(asObjectType(type), page.map((o) => o.id))).values()].filter((l) => !l.archived)
    for (const link of links) {
      counts.markedDeleted++
      if (ctx.dryRun) {
        ctx.sink.plan({module: key, crmid: link.crmid, hubspotId: link.hubspotId, action: 'mark-deleted', reason: 'archived in HubSpot: trashed in coreBOS', changes: []})
        continue
      }
      await activitiesOf(ctx).trash(module, link.crmid, engine.settings.userId)
      await engine.state.saveLinks([{...link, archived: true, syncedAt: ctx.nowIso()}])
    }
  }
}

/**
 * Links whose other side is gone for good (purged in HubSpot, or the coreBOS row deleted outright),
 * which neither the archived list nor a trashed row shows a pass: what pullArchived and
 * pushArchives do for an archived or trashed one — the surviving side trashed or archived, the link
 * archived. Reconcile's repair; exported for it.
 */
export async function retireGoneActivityLinks(ctx: PassContext, gone: Array<{link: Link; side: 'hubspot' | 'crm'}>): Promise<{trashed: number; archived: number}> {
  const out = {trashed: 0, archived: 0}
  const done: Link[] = []
  for (const {link, side} of gone) {
    const module = link.module as unknown as ActivityModule
    if (side === 'hubspot') {
      await activitiesOf(ctx).trash(module, link.crmid, ctx.engine.settings.userId)
      out.trashed++
      done.push(link)
      continue
    }
    const {errors} = await ctx.engine.hubspot.archive(link.objectType, [link.hubspotId])
    if (errors[0]) {
      await ctx.fail({module: link.module, crmid: link.crmid, hubspotId: link.hubspotId, category: errors[0].category, message: errors[0].message})
      continue
    }
    out.archived++
    done.push(link)
  }
  await ctx.engine.state.saveLinks(done.map((l) => ({...l, archived: true, syncedAt: ctx.nowIso()})))
  return out
}
