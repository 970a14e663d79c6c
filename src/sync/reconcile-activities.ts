/**
 * Reconcile for the activity streams (sync.activities on): coreBOS comments and calendar
 * activities against HubSpot's engagements on the records cbhs syncs, one activity module at a time.
 *
 *   - links whose engagement is archived or gone in HubSpot, or whose coreBOS row is trashed or gone
 *   - engagements on synced parents with no link (onlyHubSpot), coreBOS activities on synced
 *     parents with no link (onlyCrm)
 *   - linked pairs whose values differ, judged against the link's snapshot by the same three-way
 *     merge the streams use (different), including edits no modified date shows
 *
 * Apply repairs through the activity streams themselves: a full pull of the module's engagement
 * types, then a full push of the module (sync's order), after retiring the links whose other side
 * is gone for good, which no pass can see. The streams are idempotent: a second apply writes nothing.
 */
import {callsSince, newReport, type Engine, type ModuleCounts, type PassReport} from './engine.js'
import {asModuleKey, asObjectType, ENGAGEMENTS_OF, type ActivityModule, type CrmActivity, type EngagementType} from './activity-types.js'
import {engagementOf, shapeMapper, shapeProperties, SHAPES} from './activity-shapes.js'
import {ACTIVITY_PUSH_ORDER, pullEngagements, pushActivities, retireGoneActivityLinks} from './activities.js'
import {applied, emptyReconcileCounts, type FieldDiff, type ReconcileItem, type ReconcileOptions, type ReconcileReport} from './reconcile.js'
import {settlePair} from './settle.js'
import {passContext} from './streams.js'
import type {Link, Reporter} from './ports.js'
import type {CrmModule, HubSpotObject, HubSpotObjectType} from './types.js'

const PARENT_TYPES: HubSpotObjectType[] = ['contacts', 'companies', 'deals']
const BATCH = 100

interface ModuleContext {
  engine: Engine
  module: ActivityModule
  key: CrmModule
  report: ReconcileReport
  options: ReconcileOptions
  items: ReconcileItem[]
  /** engagement ids seen live in HubSpot's list, by type */
  seen: Set<string>
  /** links whose engagement is gone for good (not even in the archived list), and those whose coreBOS row is */
  gone: Array<{link: Link; side: 'hubspot' | 'crm'}>
}

function note(ctx: ModuleContext, item: ReconcileItem): void {
  ctx.report.modules[ctx.key]![item.class]++
  if (item.class === 'inSync') return
  ctx.items.push(item)
  if (ctx.options.details) ctx.report.items.push(item)
}

function asRecord(a: CrmActivity) {
  return {module: asModuleKey(a.module), crmid: a.crmid, modifiedtime: a.modifiedtime, deleted: a.deleted, fields: a.fields}
}

/** Whether any of these records is linked (live) to HubSpot. */
async function linkedParents(engine: Engine, parents: CrmActivity['parents']): Promise<Set<string>> {
  const out = new Set<string>()
  for (const m of ['Accounts', 'Contacts', 'Leads', 'Potentials'] as CrmModule[]) {
    const ids = [...new Set(parents.filter((p) => p.module === m).map((p) => p.crmid))]
    if (ids.length === 0) continue
    for (const [crmid, link] of await engine.state.getLinksByCrmids(m, ids)) if (!link.archived) out.add(`${m}:${crmid}`)
  }
  return out
}

/** One reconcile task: every activity module with its engagement types. */
export async function reconcileActivities(engine: Engine, options: ReconcileOptions, report: ReconcileReport, reporter: Reporter): Promise<string> {
  const calls = engine.hubspot.callCounts()
  await engine.prepareActivities?.()
  const parts: string[] = []
  // --module ModComments (or cbCalendar) narrows it; naming only record modules leaves the task out (pass.ts)
  const named = ACTIVITY_PUSH_ORDER.filter((m) => (options.modules as string[]).includes(m))
  for (const module of named.length > 0 ? named : ACTIVITY_PUSH_ORDER) {
    const key = asModuleKey(module)
    report.modules[key] ??= emptyReconcileCounts()
    const ctx: ModuleContext = {engine, module, key, report, options, items: [], seen: new Set(), gone: []}
    for (const type of ENGAGEMENTS_OF[module]) await compareHubSpot(ctx, type, reporter)
    await compareCoreBos(ctx, reporter)
    if (options.apply && ctx.items.length > 0) await repair(ctx, reporter)
    const c = report.modules[key]!
    parts.push(`${module}: ${c.inSync} inSync, ${c.different} different, ${c.onlyCrm} onlyCrm, ${c.onlyHubSpot} onlyHubSpot, ${c.brokenLink} brokenLink`)
  }
  for (const [k, v] of Object.entries(callsSince(calls, engine.hubspot.callCounts()))) report.apiCalls[k] = (report.apiCalls[k] ?? 0) + v
  return parts.join('; ')
}

/** Every live engagement of the type: pairs with their link, or onlyHubSpot when on a synced parent. */
async function compareHubSpot(ctx: ModuleContext, type: EngagementType, reporter: Reporter): Promise<void> {
  const {engine, module} = ctx
  const objectType = asObjectType(type)
  const properties = [...shapeProperties(SHAPES[type]), engine.settings.uniqueProperty]
  let read = 0
  for await (const page of engine.hubspot.list(objectType, {properties})) {
    ctx.report.read.hubspot += page.length
    read += page.length
    reporter.progress(`reconcile ${type}`, read)
    for (const o of page) ctx.seen.add(`${type}:${o.id}`)
    const links = await engine.state.getLinksByHubSpotIds(objectType, page.map((o) => o.id))
    const live = [...links.values()].filter((l) => !l.archived && l.module === ctx.key)
    const rows = new Map((await engine.activities!.readByIds(module, live.map((l) => l.crmid))).map((a) => [a.crmid, a]))
    const unlinked: HubSpotObject[] = []
    for (const object of page) {
      const link = links.get(object.id)
      if (!link) {
        unlinked.push(object)
        continue
      }
      if (link.archived || link.module !== ctx.key) continue
      const activity = rows.get(link.crmid)
      // a logged e-mail travels one way: its comment is a copy, trashing or deleting it leaves HubSpot's e-mail be
      if ((!activity || activity.deleted) && !SHAPES[type].canPush) continue
      if (!activity) {
        note(ctx, {class: 'brokenLink', module: ctx.key, crmid: link.crmid, hubspotId: object.id, reason: `${module} ${link.crmid} is gone from coreBOS`, action: 'archive-hubspot'})
        ctx.gone.push({link, side: 'crm'})
      } else if (activity.deleted) {
        note(ctx, {class: 'brokenLink', module: ctx.key, crmid: link.crmid, hubspotId: object.id, reason: `${module} ${link.crmid} is in coreBOS's recycle bin`, action: 'archive-hubspot'})
      } else comparePair(ctx, type, activity, object, link)
    }
    await onlyHubSpot(ctx, type, unlinked)
  }
}

/** A linked pair through the streams' three-way merge: what either side would write is drift. */
function comparePair(ctx: ModuleContext, type: EngagementType, activity: CrmActivity, object: HubSpotObject, link: Link): void {
  const {settings} = ctx.engine
  const mapper = shapeMapper(SHAPES[type], settings.timezone, ctx.engine.activityOwners)
  const record = asRecord(activity)
  const s = settlePair({
    mapper, record, object, link, reference: null, policy: settings.conflictPolicy, timezone: settings.timezone,
    uniqueProperty: settings.uniqueProperty, origin: 'crm', writes: {hubspot: true, crm: true},
  })
  const mapped = mapper.canPush ? mapper.toHubSpot(record).values : {}
  const conflicted = new Set(s.conflicts.map((c) => c.key))
  const changes: FieldDiff[] = []
  for (const [property, value] of Object.entries(s.hs)) {
    if (property === settings.uniqueProperty) continue
    const both = conflicted.has(property) || (mapper.pushSources.get(property) ?? []).some((f) => conflicted.has(f))
    changes.push({key: property, crm: value, hubspot: object.properties[property] ?? null, base: link.snapshot.hs[property] ?? null, changed: both ? 'both' : 'crm', winner: 'crm'})
  }
  for (const [field, value] of Object.entries(s.crm)) {
    const property = mapper.pullSources.get(field)?.[0] ?? field
    if (changes.some((c) => c.key === property)) continue
    const both = conflicted.has(field) || conflicted.has(property)
    changes.push({key: property, crm: mapped[property] ?? activity.fields[field] ?? null, hubspot: object.properties[property] ?? value, base: link.snapshot.hs[property] ?? null, changed: both ? 'both' : 'hubspot', winner: 'hubspot'})
  }
  if (changes.length === 0) note(ctx, {class: 'inSync', module: ctx.key, crmid: activity.crmid, hubspotId: object.id, reason: 'in sync', action: 'none'})
  else note(ctx, {class: 'different', module: ctx.key, crmid: activity.crmid, hubspotId: object.id, reason: `differs from the last sync (${changes.map((c) => c.key).join(', ')})`, action: 'update', changes})
}

/** Unlinked engagements associated with at least one synced record: the pull would create them. */
async function onlyHubSpot(ctx: ModuleContext, type: EngagementType, objects: HubSpotObject[]): Promise<void> {
  if (objects.length === 0) return
  const {engine} = ctx
  const onSynced = new Set<string>()
  for (const to of PARENT_TYPES) {
    const assoc = await engine.hubspot.readAssociations(asObjectType(type), to, objects.map((o) => o.id))
    const parentIds = [...new Set([...assoc.values()].flat())]
    if (parentIds.length === 0) continue
    const links = await engine.state.getLinksByHubSpotIds(to, parentIds)
    for (const [id, list] of assoc) if (list.some((p) => links.get(p) && !links.get(p)!.archived)) onSynced.add(id)
  }
  for (const o of objects) {
    if (!onSynced.has(o.id)) continue
    note(ctx, {class: 'onlyHubSpot', module: ctx.key, crmid: null, hubspotId: o.id, reason: `HubSpot ${type} ${o.id} on a synced record has no coreBOS ${ctx.module}`, action: 'create-crm'})
  }
}

/** Every coreBOS row of the module: links HubSpot's list did not show, and unlinked rows on synced parents. */
async function compareCoreBos(ctx: ModuleContext, reporter: Reporter): Promise<void> {
  const {engine, module} = ctx
  const archivedIds = new Map<EngagementType, Set<string> | null>()
  const archived = async (type: EngagementType): Promise<Set<string>> => {
    let ids = archivedIds.get(type)
    if (!ids) {
      ids = new Set()
      for await (const page of engine.hubspot.list(asObjectType(type), {properties: [engine.settings.uniqueProperty], archived: true})) for (const o of page) ids.add(o.id)
      archivedIds.set(type, ids)
    }
    return ids
  }
  let read = 0
  for await (const page of engine.activities!.readChanged(module, null, Math.max(BATCH, engine.settings.pageSize))) {
    ctx.report.read.crm += page.length
    read += page.length
    reporter.progress(`reconcile ${module}`, read)
    const links = await engine.state.getLinksByCrmids(ctx.key, page.map((a) => a.crmid))
    const parents = await linkedParents(engine, page.filter((a) => !a.deleted && !links.has(a.crmid)).flatMap((a) => a.parents))
    for (const a of page) {
      const link = links.get(a.crmid)
      if (link) {
        if (link.archived || ctx.seen.has(`${link.objectType}:${link.hubspotId}`)) continue
        const type = link.objectType as unknown as EngagementType
        // the engagement is not live in HubSpot: the pull's archived list trashes the row; a purged one only reconcile sees
        if (a.deleted) continue
        const wasArchived = (await archived(type)).has(link.hubspotId)
        note(ctx, {class: 'brokenLink', module: ctx.key, crmid: a.crmid, hubspotId: link.hubspotId, reason: `HubSpot ${type} ${link.hubspotId} is ${wasArchived ? 'archived' : 'gone'}`, action: 'mark-deleted'})
        if (!wasArchived) ctx.gone.push({link, side: 'hubspot'})
        continue
      }
      if (a.deleted) continue
      const type = engagementOf(module, a.fields.activitytype)
      if (!type || !SHAPES[type].canPush) continue
      if (!a.parents.some((p) => parents.has(`${p.module}:${p.crmid}`))) continue
      note(ctx, {class: 'onlyCrm', module: ctx.key, crmid: a.crmid, hubspotId: null, reason: `${module} ${a.crmid} on a synced record has no HubSpot ${type}`, action: 'create-hubspot'})
    }
  }
}

/** The repair: gone links retired, then the module's streams in full, pull before push as sync runs them. */
async function repair(ctx: ModuleContext, reporter: Reporter): Promise<void> {
  const {engine, module, key, report} = ctx
  // the streams count their API calls into their own reports; reconcileActivities counts them all
  const totals = applied(report, key)
  const pull = newReport('pull', false)
  const push = newReport('push', false)
  const options = {modules: [], activities: [module], full: true, dryRun: false}
  // its own report: the shared apply counts into it, and only what it returns is added below
  const retire = newReport('push', false)
  const retired = await retireGoneActivityLinks(passContext(engine, retire), ctx.gone)
  totals.archivedHubSpot += retired.archived
  totals.markedDeleted += retired.trashed
  totals.linksRetired += ctx.gone.length
  const pullCtx = passContext(engine, pull)
  for (const type of ENGAGEMENTS_OF[module]) await pullEngagements(pullCtx, type, options, pull, reporter)
  await pushActivities(passContext(engine, push), module, options, push, reporter)
  const sum = (r: PassReport, k: keyof ModuleCounts) => Object.values(r.modules).reduce((n, c) => n + (c?.[k] ?? 0), 0)
  totals.createdCrm += sum(pull, 'created')
  totals.updatedCrm += sum(pull, 'updated')
  totals.markedDeleted += sum(pull, 'markedDeleted')
  totals.createdHubSpot += sum(push, 'created')
  totals.updatedHubSpot += sum(push, 'updated')
  totals.archivedHubSpot += sum(push, 'archived')
  totals.linked += sum(push, 'linked')
  for (const r of [retire, pull, push]) {
    totals.failed += r.failures.length
    report.failures.push(...r.failures)
    report.warnings.push(...r.warnings)
  }
}
