/**
 * The pull pass: HubSpot → coreBOS, one object type at a time (companies, contacts, deals, so
 * contacts find their accounts and deals their related records already linked).
 *
 *   search objects modified in [watermark, now] (the watermark trails "now" by the search-lag
 *   margin) — or the list endpoint with --full or on a first pass
 *   → follow merges (hs_merged_object_ids) → resolve links, legacy hubspotid links, and the
 *   module a new contact lands in → three-way merge per field against the link's snapshot
 *   → coreBOS writes (create with hubspotcreated = 1, or update of the merged fields only)
 *   → links and snapshots; archived objects mark their coreBOS records.
 */
import {
  callsSince,
  emptyCounts,
  hubspotRecordUrl,
  type Engine,
  type ModuleCounts,
  type PassOptions,
  type PassReport,
} from './engine.js'
import {mergeFields} from './merge.js'
import type {Link, Reporter} from './ports.js'
import {failRecord, markDeletedInHubSpot, mergeCalls, saveLinksOrFail, summarize} from './push.js'
import {recordTimeMs} from './time.js'
import {MODIFIED_PROPERTY, type ControlValues, type CrmModule, type CrmRecord, type HubSpotObject, type HubSpotObjectType} from './types.js'

export const PULL_ORDER: HubSpotObjectType[] = ['companies', 'contacts', 'deals']
const PULL_BATCH = 200

/** The module whose watermark a stream uses, and the modules it can write. */
export const PULL_MODULES: Record<HubSpotObjectType, {watermark: CrmModule; modules: CrmModule[]}> = {
  companies: {watermark: 'Accounts', modules: ['Accounts']},
  contacts: {watermark: 'Contacts', modules: ['Contacts', 'Leads']},
  deals: {watermark: 'Potentials', modules: ['Potentials']},
}

interface PullCursor {
  mode: 'full' | 'incremental'
  /** modified date (ms) of the last object processed; the search resumes there */
  lastMs: number
  startedMs: number
}

/** Pseudo-fields pull fills from associations rather than from the maps. */
const REFERENCE_FIELD: Partial<Record<CrmModule, string>> = {Contacts: 'account_id', Potentials: 'related_to'}

export async function pullObjectType(
  engine: Engine,
  type: HubSpotObjectType,
  options: PassOptions,
  report: PassReport,
  reporter: Reporter,
): Promise<string> {
  const {state, settings, hubspot, clock} = engine
  const {watermark: wmModule, modules: allModules} = PULL_MODULES[type]
  const modules = allModules.filter((m) => options.modules.includes(m) && engine.mappers[m].canPull)
  for (const m of allModules) report.modules[m] ??= emptyCounts()
  if (modules.length === 0) {
    report.warnings.push(`${type}: no HubSpot2${allModules.join('/HubSpot2')} map selected, nothing pulled`)
    return 'no map'
  }
  // a stream feeding two modules only moves its watermark when both were handled
  const ownsWatermark = modules.length === allModules.length
  const watermark = await state.getWatermark(wmModule, 'pull')
  const startedMs = clock.nowMs()
  const resume = watermark.cursor ? (JSON.parse(watermark.cursor) as PullCursor) : null
  const full = options.full || (!watermark.value && options.sinceMs === undefined && !resume)
  const mode: PullCursor['mode'] = full ? 'full' : 'incremental'
  const lagMs = settings.pullLagSeconds * 1000
  const properties = pullPropertyList(engine, modules, type)
  const calls = hubspot.callCounts()

  let stream: AsyncIterable<HubSpotObject[]>
  if (resume && resume.mode === 'incremental' && mode === 'incremental' && options.sinceMs === undefined) {
    stream = hubspot.searchModified(type, {sinceMs: resume.lastMs, untilMs: startedMs, properties})
  } else if (full) {
    stream = hubspot.list(type, {properties})
  } else {
    const sinceMs = options.sinceMs ?? Date.parse(watermark.value!)
    stream = hubspot.searchModified(type, {sinceMs, untilMs: startedMs, properties})
  }

  // due failures first: re-read those objects by id
  const due = options.dryRun ? [] : (await Promise.all(modules.map((m) => state.dueFailures(m, 'pull', 10_000)))).flat()
  const dueIds = [...new Set(due.map((f) => f.hubspotId).filter((id): id is string => Boolean(id)))]
  const seen = new Set<string>()
  for (let i = 0; i < dueIds.length; i += 100) {
    const {found, missing} = await hubspot.read(type, dueIds.slice(i, i + 100), properties)
    for (const id of missing) for (const m of modules) await state.resolveFailure(m, 'pull', {hubspotId: id})
    await pullBatch(engine, type, modules, found, options, report)
    for (const o of found) seen.add(o.id)
  }

  let processed = 0
  let incomplete = false
  for await (const page of stream) {
    let objects = page.filter((o) => !seen.has(o.id))
    if (options.limit !== undefined && processed + objects.length >= options.limit) {
      incomplete = processed + objects.length > options.limit
      objects = objects.slice(0, options.limit - processed)
    }
    // a whole page at once: one association read covers up to 1,000 objects, a search page is 200
    for (let i = 0; i < objects.length; i += PULL_BATCH) await pullBatch(engine, type, modules, objects.slice(i, i + PULL_BATCH), options, report)
    processed += objects.length
    reporter.progress(type, processed)
    const last = objects[objects.length - 1]
    if (last && !options.dryRun && mode === 'incremental' && ownsWatermark) {
      const cursor: PullCursor = {mode, lastMs: modifiedMs(type, last), startedMs}
      await state.setWatermark(wmModule, 'pull', watermark.value, JSON.stringify(cursor))
    }
    if (options.limit !== undefined && processed >= options.limit) {
      incomplete = true
      break
    }
  }

  if (!incomplete) await pullArchived(engine, type, modules, options, report)

  if (!options.dryRun && ownsWatermark) {
    if (incomplete) report.incomplete.push(wmModule)
    // the next pass starts where HubSpot's search index was surely complete at this pass's start
    else await state.setWatermark(wmModule, 'pull', new Date(startedMs - lagMs).toISOString(), null)
  }
  mergeCalls(report, callsSince(calls, hubspot.callCounts()))
  const total = modules.map((m) => report.modules[m]!).reduce(addCounts, emptyCounts())
  return summarize(total, incomplete)
}

function addCounts(a: ModuleCounts, b: ModuleCounts): ModuleCounts {
  const out = {...a}
  for (const key of Object.keys(b) as Array<keyof ModuleCounts>) out[key] += b[key]
  return out
}

/** HubSpot's modified date of an object, in ms (0 when absent). */
export function modifiedMs(type: HubSpotObjectType, object: HubSpotObject): number {
  const raw = object.properties[MODIFIED_PROPERTY[type]] ?? object.updatedAt ?? ''
  const ms = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw)
  return Number.isNaN(ms) ? 0 : ms
}

function pullPropertyList(engine: Engine, modules: CrmModule[], type: HubSpotObjectType): string[] {
  const props = new Set<string>([engine.settings.uniqueProperty, MODIFIED_PROPERTY[type], 'hs_merged_object_ids'])
  if (type === 'contacts') props.add('lifecyclestage')
  for (const m of modules) {
    for (const p of engine.mappers[m].pullProperties) props.add(p)
    for (const p of engine.mappers[m].pushProperties) props.add(p)
  }
  return [...props]
}

/** Live, unlinked coreBOS Contacts and Leads with the e-mails of these HubSpot contacts. */
async function emailMatches(engine: Engine, objects: HubSpotObject[]): Promise<Map<string, CrmRecord[]>> {
  const emails = objects.map((o) => (o.properties.email ?? '').trim().toLowerCase()).filter(Boolean)
  const out = new Map<string, CrmRecord[]>()
  if (emails.length === 0) return out
  for (const module of ['Contacts', 'Leads'] as CrmModule[]) {
    const found = await engine.crm.findByEmails(module, emails)
    const candidates = [...found.values()].flat()
    const linked = await engine.state.getLinksByCrmids(
      module,
      candidates.map((r) => r.crmid),
    )
    for (const record of candidates) {
      if (linked.has(record.crmid) || record.fields.hubspotid) continue
      const email = (record.fields.email ?? '').trim().toLowerCase()
      ;(out.get(email) ?? out.set(email, []).get(email)!).push(record)
    }
  }
  return out
}

/** The module a contact new to coreBOS lands in: by lifecycle stage, Leads for the early stages. */
export function landingModule(engine: Engine, type: HubSpotObjectType, object: HubSpotObject): CrmModule {
  if (type === 'companies') return 'Accounts'
  if (type === 'deals') return 'Potentials'
  const stage = (object.properties.lifecyclestage ?? '').toLowerCase()
  return engine.settings.leadLifecycleStages.includes(stage) ? 'Leads' : 'Contacts'
}

interface Reference {
  crmid: number | null
  /** what push would create for this reference, so it does not create it again */
  association?: Record<string, string[]>
  pending?: string
}

interface Incoming {
  object: HubSpotObject
  module: CrmModule
  link: Link | undefined
  record: CrmRecord | undefined
}

async function pullBatch(
  engine: Engine,
  type: HubSpotObjectType,
  modules: CrmModule[],
  objects: HubSpotObject[],
  options: PassOptions,
  report: PassReport,
): Promise<void> {
  if (objects.length === 0) return
  const {state, crm} = engine
  for (const module of modules) await engine.prepare(module)
  const links = await state.getLinksByHubSpotIds(
    type,
    objects.map((o) => o.id),
  )
  await followMerges(engine, type, objects, links, options, report)

  // legacy links, and records a crashed pass created before it could save their link
  const unlinked = objects.filter((o) => !links.has(o.id)).map((o) => o.id)
  const adopted = new Map<string, CrmRecord>()
  if (unlinked.length > 0) {
    for (const m of PULL_MODULES[type].modules) {
      const found = await crm.findByHubSpotIds(m, unlinked)
      for (const [id, record] of found) if (!adopted.has(id)) adopted.set(id, record)
    }
  }
  const byEmail = type === 'contacts' ? await emailMatches(engine, objects.filter((o) => !links.has(o.id) && !adopted.has(o.id))) : new Map<string, CrmRecord[]>()

  const byModule = new Map<CrmModule, number[]>()
  for (const link of links.values()) (byModule.get(link.module) ?? byModule.set(link.module, []).get(link.module)!).push(link.crmid)
  const records = new Map<string, CrmRecord>()
  for (const [m, ids] of byModule) for (const r of await crm.readByIds(m, ids)) records.set(`${m}:${r.crmid}`, r)

  const incoming: Incoming[] = []
  for (const object of objects) {
    const link = links.get(object.id)
    if (link) {
      if (link.archived) continue
      incoming.push({object, module: link.module, link, record: records.get(`${link.module}:${link.crmid}`)})
      continue
    }
    const legacy = adopted.get(object.id)
    if (legacy) {
      incoming.push({object, module: legacy.module, link: undefined, record: legacy})
      continue
    }
    const sameEmail = byEmail.get((object.properties.email ?? '').trim().toLowerCase()) ?? []
    if (sameEmail.length > 1) {
      const module = landingModule(engine, type, object)
      const names = sameEmail.map((r) => `${r.module} ${r.crmid}`).join(', ')
      await failRecord(engine, report, (report.modules[module] ??= emptyCounts()), options, module, null, object.id, 'AMBIGUOUS_MATCH',
        `HubSpot contact ${object.id} has the e-mail ${object.properties.email} of several unlinked coreBOS records (${names}); link one with \`cbhs reconcile\` or merge them`)
      continue
    }
    if (sameEmail.length === 1) {
      // the person already exists in coreBOS, unlinked: adopt the record rather than create a duplicate
      incoming.push({object, module: sameEmail[0].module, link: undefined, record: sameEmail[0]})
      continue
    }
    incoming.push({object, module: landingModule(engine, type, object), link: undefined, record: undefined})
  }
  const selected = incoming.filter((i) => modules.includes(i.module))
  const references = await resolveReferences(engine, type, selected)

  const creates = new Map<CrmModule, Array<{item: Incoming; fields: Record<string, string | null>; echo: Record<string, string>}>>()
  const saved: Link[] = []
  const resolved: Array<{module: CrmModule; hubspotId: string}> = []
  const updates = new Map<CrmModule, Array<{crmid: number; fields: Record<string, string | null>; link: Link; hubspotId: string}>>()
  const now = await crm.now()
  const nowIso = new Date(engine.clock.nowMs()).toISOString()
  for (const item of selected) {
    const counts = (report.modules[item.module] ??= emptyCounts())
    counts.read++
    const mapper = engine.mappers[item.module]
    const mapped = mapper.toCrm(item.object, item.record?.fields)
    for (const w of mapped.warnings) report.warnings.push(`${type} ${item.object.id}: ${w}`)
    if (mapped.errors.length > 0) {
      await failRecord(engine, report, counts, options, item.module, item.record?.crmid ?? null, item.object.id, 'INVALID_VALUE',
        `HubSpot ${type} ${item.object.id}: ${mapped.errors.map((e) => `${e.key}: ${e.message}`).join('; ')}`)
      continue
    }
    const fields: Record<string, string | null> = {...mapped.values}
    const referenceField = REFERENCE_FIELD[item.module]
    const reference = references.get(item.object.id)
    if (referenceField && reference?.crmid) fields[referenceField] = String(reference.crmid)

    if (!item.record) {
      if (item.link) {
        // linked, but the coreBOS record was purged: push archives the object; nothing to write here
        counts.skipped++
        continue
      }
      if (item.module === 'Potentials' && !fields.related_to) {
        const why = reference?.pending
          ? `its ${reference.pending} is not in coreBOS yet; retried next pass`
          : 'it has no associated contact or company (coreBOS needs related_to)'
        await failRecord(engine, report, counts, options, item.module, null, item.object.id, 'RELATED_PENDING', `HubSpot deal ${item.object.id} waits: ${why}`)
        continue
      }
      const filled = fillRequired(item.module, item.object, fields, report.warnings)
      if (options.dryRun) {
        counts.created++
        report.plan.push({module: item.module, crmid: null, hubspotId: item.object.id, action: 'create', reason: 'new in HubSpot',
          changes: Object.entries(fields).map(([key, value]) => ({key, old: null, new: value}))})
        continue
      }
      ;(creates.get(item.module) ?? creates.set(item.module, []).get(item.module)!).push({item, fields, echo: echoOfFilled(engine, item.module, item.object, filled)})
      continue
    }

    const record = item.record
    if (record.deleted || record.fields.hubspotsyncwith === '0' || record.fields.hubspotdeleted === '1') {
      counts.skipped++
      continue
    }
    // the same stand-ins as on create, so an empty HubSpot value never empties a mandatory field
    const filledIn = fillRequired(item.module, item.object, fields, null)
    const stoodIn = echoOfFilled(engine, item.module, item.object, filledIn)
    // adopting a record (legacy hubspotid, same e-mail) there is no common base: the policy settles every difference
    const snapshot = item.link?.snapshot ?? {crm: {}, hs: {}}
    const baseFromHubSpot = mapper.toCrm({id: item.object.id, properties: snapshot.hs}, record.fields).values as Record<string, string | null>
    if (referenceField) baseFromHubSpot[referenceField] = snapshot.crm[referenceField] ?? null
    const keys = Object.keys(fields).filter((k) => !(referenceField === k && !reference?.crmid))
    const newest = Date.parse(item.object.updatedAt ?? '') >= recordTimeMs(record.modifiedtime, engine.settings.timezone) ? 'hubspot' : 'crm'
    const merged = mergeFields({
      equal: (key, a, b) => mapper.sameCrmValue(key, a, b),
      from: 'hubspot',
      base: baseFromHubSpot,
      currentBase: snapshot.crm,
      incoming: fields,
      current: record.fields,
      keys,
      policy: engine.settings.conflictPolicy,
      newest,
    })
    for (const c of merged.conflicts) {
      report.conflicts.push({...c, module: item.module, crmid: record.crmid, hubspotId: item.object.id})
      counts.conflicts++
    }
    const write: Record<string, string | null> = {}
    for (const [k, v] of Object.entries(merged.write)) if (!mapper.sameCrmValue(k, v, record.fields[k])) write[k] = v
    const link = linkFor(item, record.crmid, type, nowIso, {...record.fields, ...write}, mapper.pullFields, reference)
    Object.assign(link.snapshot.hs, stoodIn)
    if (Object.keys(write).length === 0) {
      counts.skipped++
      // a legacy link, or HubSpot normalised a value: remember the new state without writing
      if (!options.dryRun && (!item.link || !sameSnapshot(item.link, link))) saved.push(link)
      continue
    }
    counts.updated++
    // a stand-in that replaces the record's (empty) value is an adjustment the user must hear of
    for (const [field, value] of Object.entries(filledIn)) {
      if (write[field] === value) report.warnings.push(`HubSpot ${item.object.id}: no ${field}; stored '${value}' in ${item.module} ${record.crmid}`)
    }
    if (options.dryRun) {
      report.plan.push({module: item.module, crmid: record.crmid, hubspotId: item.object.id, action: 'update', reason: 'changed in HubSpot',
        changes: Object.entries(write).map(([key, value]) => ({key, old: record.fields[key] ?? null, new: value}))})
      continue
    }
    ;(updates.get(item.module) ?? updates.set(item.module, []).get(item.module)!).push({crmid: record.crmid, fields: write, link, hubspotId: item.object.id})
  }

  // the page's updates in one transaction per module; a record coreBOS refuses fails alone
  for (const [module, list] of updates) {
    const results = await crm.updateMany(module, list, engine.settings.userId)
    const counts = report.modules[module]!
    const written: Array<{crmid: number; values: ControlValues}> = []
    for (let i = 0; i < results.length; i++) {
      const u = list[i]
      if (!results[i].ok) {
        counts.updated--
        await failRecord(engine, report, counts, options, module, u.crmid, u.hubspotId, 'WRITE_FAILED', results[i].error ?? 'not written')
        continue
      }
      written.push({crmid: u.crmid, values: {hubspotlastsync: now, hubspotid: u.hubspotId}})
      saved.push(u.link)
      resolved.push({module, hubspotId: u.hubspotId})
    }
    await crm.setControlMany(module, written)
  }

  for (const [module, list] of creates) {
    const counts = report.modules[module]!
    const results = await crm.create(
      module,
      list.map(({item, fields}) => ({
        fields,
        control: {
          hubspotid: item.object.id,
          hubspotcreated: '1',
          hubspotsyncwith: '1',
          hubspotrecord: hubspotRecordUrl(engine.settings.portalId, type, item.object.id),
          hubspotlastsync: now,
        },
      })),
      engine.settings.userId,
    )
    for (let i = 0; i < results.length; i++) {
      const {item, fields, echo} = list[i]
      const result = results[i]
      if (!result.ok) {
        await failRecord(engine, report, counts, options, module, null, item.object.id, 'WRITE_FAILED', `HubSpot ${type} ${item.object.id}: ${result.error ?? 'not written'}`)
        continue
      }
      counts.created++
      const link = linkFor(item, result.crmid, type, nowIso, fields, engine.mappers[module].pullFields, references.get(item.object.id))
      Object.assign(link.snapshot.hs, echo)
      saved.push(link)
      resolved.push({module, hubspotId: item.object.id})
    }
  }
  for (const module of new Set(resolved.map((r) => r.module))) {
    await state.resolveFailures(module, 'pull', resolved.filter((r) => r.module === module))
  }
  if (options.dryRun) return
  await writeBackCrmids(engine, type, saved)
  await saveLinksOrFail(engine, saved, (link, message) =>
    failRecord(engine, report, (report.modules[link.module] ??= emptyCounts()), options, link.module, link.crmid, link.hubspotId, 'LINK_CONFLICT', message),
  )
}

/**
 * Objects that came from HubSpot learn their coreBOS id (the unique property push upserts on), so
 * HubSpot shows it and a later upsert of the same record finds the same object.
 */
export async function writeBackCrmids(engine: Engine, type: HubSpotObjectType, links: Link[]): Promise<void> {
  const unique = engine.settings.uniqueProperty
  const missing = links.filter((l) => l.snapshot.hs[unique] !== String(l.crmid))
  if (missing.length === 0) return
  const {errors} = await engine.hubspot.update(
    type,
    missing.map((l) => ({id: l.hubspotId, properties: {[unique]: String(l.crmid)}})),
  )
  const failed = new Set(errors.map((e) => e.key))
  for (const link of missing) if (!failed.has(link.hubspotId)) link.snapshot.hs[unique] = String(link.crmid)
}

function sameSnapshot(a: Link, b: Link): boolean {
  return JSON.stringify(a.snapshot) === JSON.stringify(b.snapshot) && JSON.stringify(a.associations) === JSON.stringify(b.associations)
}

function linkFor(
  item: Incoming,
  crmid: number,
  type: HubSpotObjectType,
  nowIso: string,
  crmValues: Record<string, string | null>,
  pullFields: string[],
  reference: Reference | undefined,
): Link {
  const crm: Record<string, string | null> = {}
  for (const f of [...pullFields, 'account_id', 'related_to']) if (crmValues[f] !== undefined) crm[f] = crmValues[f] ?? null
  return {
    module: item.module,
    crmid,
    objectType: type,
    hubspotId: item.object.id,
    snapshot: {crm, hs: {...item.object.properties}},
    associations: reference?.association ?? item.link?.associations ?? {},
    archived: false,
    syncedAt: nowIso,
  }
}

/**
 * coreBOS cannot store a contact without a last name or a lead without a company; HubSpot can.
 * Returns what was filled in, which must not be sent back to HubSpot as if the user had typed it.
 */
export function fillRequired(
  module: CrmModule,
  object: HubSpotObject,
  fields: Record<string, string | null>,
  warnings: string[] | null,
): Record<string, string> {
  const filled: Record<string, string> = {}
  const fill = (field: string, value: string) => {
    // on updates only a value HubSpot sent counts: an absent property says nothing
    if (fields[field] || (warnings === null && !(field in fields))) return
    fields[field] = value
    filled[field] = value
    warnings?.push(`HubSpot ${object.id}: no ${field}; stored '${value}' in ${module}`)
  }
  if (module === 'Contacts' || module === 'Leads') {
    const email = object.properties.email ?? ''
    fill('lastname', email ? email.split('@')[0] : `HubSpot ${object.id}`)
  }
  if (module === 'Leads') fill('company', object.properties.company || '?')
  if (module === 'Accounts') fill('accountname', object.properties.name || object.properties.domain || `HubSpot company ${object.id}`)
  if (module === 'Potentials') fill('potentialname', `HubSpot deal ${object.id}`)
  return filled
}

/** The HubSpot values push would derive from filled-in fields, recorded as already in sync. */
export function echoOfFilled(engine: Engine, module: CrmModule, object: HubSpotObject, filled: Record<string, string>): Record<string, string> {
  if (Object.keys(filled).length === 0) return {}
  const mapper = engine.mappers[module]
  const {values} = mapper.toHubSpot({module, crmid: 0, modifiedtime: '', deleted: false, fields: filled})
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(values)) if (value !== '' && !mapper.createOnly.has(key) && !object.properties[key]) out[key] = value
  return out
}

/**
 * The coreBOS record a contact's account or a deal's related_to points at, from HubSpot's
 * associations. A deal follows relateDealWith (Contacts by default) and falls back to the other;
 * an associated object not linked yet makes the deal wait.
 */
async function resolveReferences(
  engine: Engine,
  type: HubSpotObjectType,
  items: Incoming[],
): Promise<Map<string, Reference>> {
  const out = new Map<string, Reference>()
  if (type === 'companies' || items.length === 0) return out
  const ids = items.filter((i) => i.module !== 'Leads').map((i) => i.object.id)
  if (ids.length === 0) return out
  const order: HubSpotObjectType[] =
    type === 'contacts' ? ['companies'] : engine.settings.relateDealWith === 'Accounts' ? ['companies', 'contacts'] : ['contacts', 'companies']
  const assoc = new Map<HubSpotObjectType, Map<string, string[]>>()
  const relatedLinks = new Map<string, Link>()
  for (const toType of order) {
    const found = await engine.hubspot.readAssociations(type, toType, ids)
    assoc.set(toType, found)
    const targets = [...new Set([...found.values()].flat())]
    if (targets.length > 0) {
      const links = await engine.state.getLinksByHubSpotIds(toType, targets)
      for (const [id, link] of links) if (!link.archived && link.module !== 'Leads') relatedLinks.set(`${toType}:${id}`, link)
    }
  }
  for (const id of ids) {
    let pending: string | undefined
    let found: Reference | undefined
    for (const toType of order) {
      const targets = assoc.get(toType)?.get(id) ?? []
      const linked = targets.map((t) => relatedLinks.get(`${toType}:${t}`)).find(Boolean)
      if (linked) {
        found = {crmid: linked.crmid, association: {[toType]: [linked.hubspotId]}}
        break
      }
      if (targets.length > 0) pending ??= `associated ${toType === 'companies' ? 'company' : 'contact'} ${targets[0]}`
    }
    out.set(id, found ?? {crmid: null, pending})
  }
  return out
}

/**
 * A survivor lists the ids merged into it. Links to those ids move to the survivor (the oldest
 * coreBOS record keeps it when the survivor has none); other coreBOS records linked to merged-away
 * ids are marked deleted in HubSpot, their data stays.
 */
async function followMerges(
  engine: Engine,
  type: HubSpotObjectType,
  objects: HubSpotObject[],
  links: Map<string, Link>,
  options: PassOptions,
  report: PassReport,
): Promise<void> {
  const merged = objects.filter((o) => o.properties.hs_merged_object_ids)
  if (merged.length === 0) return
  for (const survivor of merged) {
    const oldIds = (survivor.properties.hs_merged_object_ids ?? '').split(';').map((s) => s.trim()).filter((id) => id && id !== survivor.id)
    if (oldIds.length === 0) continue
    const oldLinks = [...(await engine.state.getLinksByHubSpotIds(type, oldIds)).values()].filter((l) => !l.archived)
    if (oldLinks.length === 0) continue
    oldLinks.sort((a, b) => a.crmid - b.crmid)
    let keeper: Link | undefined
    if (!links.has(survivor.id)) keeper = oldLinks.shift()
    for (const gone of oldLinks) await markDeletedInHubSpot(engine, gone.module, gone.crmid, gone, report, (report.modules[gone.module] ??= emptyCounts()))
    if (keeper) {
      const moved: Link = {...keeper, hubspotId: survivor.id}
      const counts = (report.modules[keeper.module] ??= emptyCounts())
      counts.linked++
      if (options.dryRun) {
        report.plan.push({module: keeper.module, crmid: keeper.crmid, hubspotId: survivor.id, action: 'relink', reason: `HubSpot merged ${keeper.hubspotId} into ${survivor.id}`, changes: []})
        continue
      }
      await engine.state.deleteLink(keeper.module, keeper.crmid)
      await engine.state.saveLinks([moved])
      await engine.crm.setControl(keeper.module, keeper.crmid, {
        hubspotid: survivor.id,
        hubspotrecord: hubspotRecordUrl(engine.settings.portalId, type, survivor.id),
      })
      links.set(survivor.id, moved)
    }
  }
}

/** Objects archived in HubSpot mark their coreBOS records; the records themselves stay. */
async function pullArchived(engine: Engine, type: HubSpotObjectType, modules: CrmModule[], options: PassOptions, report: PassReport): Promise<void> {
  for await (const page of engine.hubspot.list(type, {properties: [engine.settings.uniqueProperty], archived: true})) {
    const links = await engine.state.getLinksByHubSpotIds(
      type,
      page.map((o) => o.id),
    )
    for (const link of links.values()) {
      if (link.archived || !modules.includes(link.module)) continue
      await markDeletedInHubSpot(engine, link.module, link.crmid, link, report, (report.modules[link.module] ??= emptyCounts()))
    }
  }
}
