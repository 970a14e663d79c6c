/**
 * The push pass: coreBOS → HubSpot, one module at a time (Accounts first, so contacts and deals
 * find their companies linked). Plan, then apply, in batches of 100:
 *
 *   read changed records (watermark − lookback, keyset) + failures due for retry
 *   → plan create / update (changed properties only) / archive / skip, with the reason
 *   → conflict check of updates against HubSpot's current values (three-way merge)
 *   → batch upsert on the unique crmid property (creates), batch update by id (updates), archive
 *   → links, snapshots, control fields, ledger; checkpoint; associations
 *
 * The watermark only moves when the whole stream was processed; a failing record goes to the
 * ledger and is retried, never skipped.
 */
import {
  callsSince,
  emptyCounts,
  hubspotRecordUrl,
  type Engine,
  type ModuleCounts,
  type PassOptions,
  type PassReport,
  type PlanItem,
} from './engine.js'
import {mergeFields} from './merge.js'
import type {AssociationPair, Link, Reporter} from './ports.js'
import {epochMsToNaive, naiveToEpochMs, recordTimeMs} from './time.js'
import {OBJECT_TYPE_OF_MODULE, type ControlValues, type CrmCursor, type CrmModule, type CrmRecord, type HubSpotObjectType} from './types.js'

export const PUSH_ORDER: CrmModule[] = ['Accounts', 'Leads', 'Contacts', 'Potentials']
const BATCH = 100

interface PushCursor {
  mode: 'full' | 'incremental'
  position: CrmCursor
  /** the largest modifiedtime seen so far in this unfinished pass */
  maxSeen: string | null
}

/** The associations a record should have, as (object type → coreBOS crmids of the related records). */
function associationTargets(module: CrmModule, record: CrmRecord): Array<{crmid: number; modules: CrmModule[]}> {
  const ref = (field: string) => Number(record.fields[field] ?? 0)
  if (module === 'Contacts' && ref('account_id') > 0) return [{crmid: ref('account_id'), modules: ['Accounts']}]
  if (module === 'Potentials' && ref('related_to') > 0) return [{crmid: ref('related_to'), modules: ['Accounts', 'Contacts']}]
  return []
}

interface Planned {
  record: CrmRecord
  link: Link | undefined
  properties: Record<string, string>
  /** properties to send (all of them for creates) */
  send: Record<string, string>
  hubspotId: string | null
  action: 'create' | 'update' | 'archive' | 'skip' | 'associate'
  reason: string
}

export async function pushModule(
  engine: Engine,
  module: CrmModule,
  options: PassOptions,
  report: PassReport,
  reporter: Reporter,
): Promise<string> {
  const {crm, state, settings} = engine
  const mapper = engine.mappers[module]
  const counts = (report.modules[module] ??= emptyCounts())
  if (!mapper.canPush) {
    report.warnings.push(`${module}: no ${module}2HubSpot map, nothing pushed`)
    return 'no map'
  }
  const watermark = await state.getWatermark(module, 'push')
  const resume = watermark.cursor ? (JSON.parse(watermark.cursor) as PushCursor) : null
  const mode: PushCursor['mode'] = options.full ? 'full' : 'incremental'
  let since: CrmCursor | null
  if (resume && resume.mode === mode && !options.sinceMs) since = resume.position
  else if (options.sinceMs !== undefined) since = {modifiedtime: epochMsToNaive(options.sinceMs, settings.timezone), crmid: 0}
  else if (options.full || !watermark.value) since = null
  else {
    const from = naiveToEpochMs(watermark.value, settings.timezone) - settings.pushLookbackSeconds * 1000
    since = {modifiedtime: epochMsToNaive(from, settings.timezone), crmid: 0}
  }
  let maxSeen = resume && resume.mode === mode ? resume.maxSeen : watermark.value
  const seen = new Set<number>()
  const calls = engine.hubspot.callCounts()

  // failures due for retry come first, whatever the watermark says
  const due = options.dryRun ? [] : await state.dueFailures(module, 'push', 10_000)
  const dueIds = due.map((f) => f.crmid).filter((id): id is number => id !== null)
  for (let i = 0; i < dueIds.length; i += BATCH) {
    const records = await crm.readByIds(module, dueIds.slice(i, i + BATCH))
    const found = new Set(records.map((r) => r.crmid))
    for (const id of dueIds.slice(i, i + BATCH)) if (!found.has(id)) await state.resolveFailure(module, 'push', {crmid: id})
    const work = newPageWork()
    await pushBatch(engine, module, records, options, report, counts, work)
    await finishPage(engine, module, work, report, counts, options)
    for (const r of records) seen.add(r.crmid)
  }

  let processed = 0
  let incomplete = false
  const stream = crm.readChanged(module, {
    since,
    optIn: settings.optIn[module],
    includeDeleted: true,
    pageSize: Math.max(BATCH, settings.pageSize),
  })
  pages: for await (const page of stream) {
    const work = newPageWork()
    let last: CrmRecord | undefined
    for (let i = 0; i < page.length; i += BATCH) {
      const slice = page.slice(i, i + BATCH)
      // records already handled as ledger retries still move the watermark past themselves
      for (const r of slice) if (seen.has(r.crmid) && (!maxSeen || r.modifiedtime > maxSeen)) maxSeen = r.modifiedtime
      let chunk = slice.filter((r) => !seen.has(r.crmid))
      if (options.limit !== undefined && processed + chunk.length > options.limit) {
        chunk = chunk.slice(0, options.limit - processed)
        incomplete = true
      }
      if (chunk.length > 0) {
        await pushBatch(engine, module, chunk, options, report, counts, work)
        processed += chunk.length
        last = chunk[chunk.length - 1]
        if (!maxSeen || last.modifiedtime > maxSeen) maxSeen = last.modifiedtime
        reporter.progress(`${module}`, processed)
      }
      if (incomplete) break
    }
    // associations for the whole page in one call per type, then links, then the checkpoint:
    // the checkpoint never passes a record whose link or associations are not saved yet
    await finishPage(engine, module, work, report, counts, options)
    if (last && !options.dryRun) {
      const cursor: PushCursor = {mode, position: {modifiedtime: last.modifiedtime, crmid: last.crmid + 1}, maxSeen}
      await state.setWatermark(module, 'push', watermark.value, JSON.stringify(cursor))
    }
    if (incomplete) break pages
  }

  if (!incomplete) await archiveGoneRecords(engine, module, options, report, counts)

  if (!options.dryRun) {
    if (incomplete) report.incomplete.push(module)
    else await state.setWatermark(module, 'push', maxSeen ?? watermark.value, null)
  }
  mergeCalls(report, callsSince(calls, engine.hubspot.callCounts()))
  return summarize(counts, incomplete)
}

export function summarize(counts: ModuleCounts, incomplete: boolean): string {
  const parts = [`${counts.read} read`, `${counts.created} created`, `${counts.updated} updated`]
  if (counts.archived) parts.push(`${counts.archived} archived`)
  if (counts.markedDeleted) parts.push(`${counts.markedDeleted} marked deleted`)
  if (counts.linked) parts.push(`${counts.linked} linked`)
  if (counts.conflicts) parts.push(`${counts.conflicts} conflicts`)
  if (counts.failed) parts.push(`${counts.failed} failed`)
  if (incomplete) parts.push('stopped at --limit, resumes next pass')
  return parts.join(', ')
}

export function mergeCalls(report: PassReport, calls: Record<string, number>): void {
  for (const [key, value] of Object.entries(calls)) report.apiCalls[key] = (report.apiCalls[key] ?? 0) + value
}

/** Plans and applies one batch (≤ 100 records) of one module. */
async function pushBatch(
  engine: Engine,
  module: CrmModule,
  records: CrmRecord[],
  options: PassOptions,
  report: PassReport,
  counts: ModuleCounts,
  work: PageWork,
): Promise<void> {
  const {state, settings, hubspot} = engine
  await engine.prepare(module)
  const mapper = engine.mappers[module]
  const type = OBJECT_TYPE_OF_MODULE[module]
  counts.read += records.length
  const links = await state.getLinksByCrmids(
    module,
    records.map((r) => r.crmid),
  )
  const fail = (record: CrmRecord, category: string, message: string, hubspotId: string | null = null) =>
    failRecord(engine, report, counts, options, module, record.crmid, hubspotId, category, message)

  const planned: Planned[] = []
  for (const record of records) {
    const link = links.get(record.crmid)
    if (record.deleted) {
      if (link && !link.archived && !record.converted) {
        planned.push({record, link, properties: {}, send: {}, hubspotId: link.hubspotId, action: 'archive', reason: 'trashed in coreBOS'})
      } else {
        // a converted Lead keeps its HubSpot contact: the Contact it became takes the link over (see adoptExisting)
        planned.push({record, link, properties: {}, send: {}, hubspotId: link?.hubspotId ?? null, action: 'skip', reason: record.converted ? 'converted lead' : 'deleted, never synced'})
      }
      continue
    }
    if (record.fields.hubspotdeleted === '1') {
      planned.push({record, link, properties: {}, send: {}, hubspotId: link?.hubspotId ?? null, action: 'skip', reason: 'deleted in HubSpot'})
      continue
    }
    const mapped = mapper.toHubSpot(record)
    for (const warning of mapped.warnings) report.warnings.push(`${module} ${record.crmid}: ${warning}`)
    if (mapped.errors.length > 0) {
      await fail(record, 'INVALID_VALUE', mapped.errors.map((e) => `${e.key}: ${e.message}`).join('; '), link?.hubspotId ?? null)
      continue
    }
    const properties = {...mapped.values, [settings.uniqueProperty]: String(record.crmid)}
    const legacyId = record.fields.hubspotid?.trim() || null
    if (!link || link.archived) {
      if (legacyId && !link) {
        // linked by the legacy integration: verify and update that object instead of creating another
        planned.push({record, link, properties, send: properties, hubspotId: legacyId, action: 'update', reason: 'linked by the legacy integration'})
      } else {
        planned.push({record, link: undefined, properties, send: properties, hubspotId: null, action: 'create', reason: 'not in HubSpot yet'})
      }
      continue
    }
    const send: Record<string, string> = {}
    for (const [key, value] of Object.entries(properties)) {
      if (mapper.createOnly.has(key)) continue
      if (!mapper.sameHubSpotValue(key, value, link.snapshot.hs[key])) send[key] = value
    }
    if (Object.keys(send).length > 0) {
      planned.push({record, link, properties, send, hubspotId: link.hubspotId, action: 'update', reason: 'changed in coreBOS'})
    } else {
      planned.push({record, link, properties, send, hubspotId: link.hubspotId, action: 'associate', reason: 'unchanged'})
    }
  }

  await checkConflicts(engine, module, planned, report, counts)

  if (options.dryRun) {
    for (const p of planned) {
      if (p.action === 'associate' || p.action === 'skip') {
        counts.skipped++
        continue
      }
      report.plan.push(planItem(module, p))
      if (p.action === 'create') counts.created++
      else if (p.action === 'update') counts.updated++
      else counts.archived++
    }
    return
  }

  const now = await engine.crm.now()
  const {saved, succeeded, claimed} = work
  const controls: Array<{crmid: number; values: ControlValues}> = []
  const resolved: Array<{crmid: number}> = []
  const onSuccess = async (p: Planned, hubspotId: string, hs: Record<string, string | null>) => {
    const link: Link = {
      module,
      crmid: p.record.crmid,
      objectType: type,
      hubspotId,
      snapshot: {crm: pickFields(p.record, mapper.pullFields), hs: {...(p.link?.snapshot.hs ?? {}), ...hs}},
      associations: p.link?.archived ? {} : (p.link?.associations ?? {}),
      archived: false,
      syncedAt: new Date(engine.clock.nowMs()).toISOString(),
    }
    saved.push(link)
    succeeded.push({planned: p, link})
    controls.push({
      crmid: p.record.crmid,
      values: {
        hubspotid: hubspotId,
        hubspotrecord: hubspotRecordUrl(settings.portalId, type, hubspotId),
        hubspotlastsync: now,
        ...(p.record.fields.hubspotsyncwith === null || p.record.fields.hubspotsyncwith === '' ? {hubspotsyncwith: '1'} : {}),
      },
    })
    resolved.push({crmid: p.record.crmid})
  }

  // creates: upsert on the unique crmid property, so a rerun after a crash finds what it made
  const creates = await withoutSharedEmails(engine, module, planned.filter((p) => p.action === 'create'), report, counts, options)
  if (creates.length > 0) {
    const {results, errors} = await hubspot.upsert(
      type,
      creates.map((p) => ({key: String(p.record.crmid), properties: p.send})),
    )
    const byKey = new Map(creates.map((p) => [String(p.record.crmid), p]))
    for (const r of results) {
      const p = byKey.get(r.key)
      if (!p) continue
      await onSuccess(p, r.id, {...p.send, ...pickDefined(r.properties, Object.keys(p.send))})
      if (r.isNew) counts.created++
      else counts.linked++
    }
    for (const e of errors) {
      const p = byKey.get(e.key)
      if (!p) continue
      const existingId = (e as {existingId?: string}).existingId
      if (e.category === 'CONFLICT' && existingId && type === 'contacts') {
        const adopted = await adoptExisting(engine, module, p, existingId, report, counts, options, claimed)
        if (adopted) {
          await onSuccess(p, existingId, p.send)
          counts.linked++
        }
        continue
      }
      await fail(p.record, e.category, e.message)
    }
  }

  // updates by object id: legacy links have no crmid property yet, and ids are what links keep
  const updates = planned.filter((p) => p.action === 'update' && p.hubspotId)
  if (updates.length > 0) {
    const {results, errors} = await hubspot.update(
      type,
      updates.map((p) => ({id: p.hubspotId!, properties: p.send})),
    )
    const byId = new Map(updates.map((p) => [p.hubspotId!, p]))
    for (const r of results) {
      const p = byId.get(r.key)
      if (!p) continue
      await onSuccess(p, r.id, {...p.send, ...pickDefined(r.properties, Object.keys(p.send))})
      counts.updated++
    }
    for (const e of errors) {
      const p = byId.get(e.key)
      if (p) await fail(p.record, e.category, e.message, p.hubspotId)
    }
  }

  const unchanged = planned.filter((x) => x.action === 'associate')
  for (const p of unchanged) {
    counts.skipped++
    succeeded.push({planned: p, link: {...p.link!}})
  }

  const archives = planned.filter((p) => p.action === 'archive')
  if (archives.length > 0) {
    const {errors} = await hubspot.archive(
      type,
      archives.map((p) => p.hubspotId!),
    )
    const failed = new Set(errors.map((e) => e.key))
    for (const e of errors) {
      const p = archives.find((a) => a.hubspotId === e.key)
      if (p) await fail(p.record, e.category, e.message, p.hubspotId)
    }
    for (const p of archives) {
      if (failed.has(p.hubspotId!)) continue
      saved.push({...p.link!, archived: true, syncedAt: new Date(engine.clock.nowMs()).toISOString()})
      counts.archived++
      resolved.push({crmid: p.record.crmid})
    }
  }
  await engine.crm.setControlMany(module, controls)
  await state.resolveFailures(module, 'push', resolved)
  counts.skipped += planned.filter((p) => p.action === 'skip').length

}

/** What the batches of one page leave for its end: links to save, associations to sync. */
interface PageWork {
  saved: Link[]
  succeeded: Array<{planned: Planned; link: Link}>
  /** HubSpot contacts adopted in this page, so two records never take one */
  claimed: Map<string, number>
}

function newPageWork(): PageWork {
  return {saved: [], succeeded: [], claimed: new Map()}
}

async function finishPage(engine: Engine, module: CrmModule, work: PageWork, report: PassReport, counts: ModuleCounts, options: PassOptions): Promise<void> {
  if (options.dryRun) return
  const reassociated = await syncAssociations(engine, module, work.succeeded, report, counts, options)
  const toSave = [...work.saved, ...reassociated.filter((l) => !work.saved.includes(l))]
  await saveLinksOrFail(engine, toSave, (link, message) => failRecord(engine, report, counts, options, module, link.crmid, link.hubspotId, 'LINK_CONFLICT', message))
}

/**
 * Saves links in one go; if one would give a HubSpot object to a second record, the links are
 * saved one by one and only the offending ones fail, so one record never stops the batch.
 */
export async function saveLinksOrFail(engine: Engine, links: Link[], onConflict: (link: Link, message: string) => Promise<void>): Promise<void> {
  if (links.length === 0) return
  const isConflict = (error: unknown) => (error as {code?: string}).code === 'LINK_CONFLICT'
  try {
    await engine.state.saveLinks(links)
  } catch (error) {
    if (!isConflict(error)) throw error
    for (const link of links) {
      try {
        await engine.state.saveLinks([link])
      } catch (single) {
        if (!isConflict(single)) throw single
        await onConflict(link, (single as Error).message)
      }
    }
  }
}

function pickFields(record: CrmRecord, fields: string[]): Record<string, string | null> {
  const out: Record<string, string | null> = {}
  for (const f of fields) out[f] = record.fields[f] ?? null
  return out
}

function pickDefined(values: Record<string, string | null>, keys: string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const key of keys) {
    const value = values[key]
    if (value !== undefined && value !== null) out[key] = value
  }
  return out
}

function planItem(module: CrmModule, p: Planned): PlanItem {
  const base = p.link?.snapshot.hs ?? {}
  return {
    module,
    crmid: p.record.crmid,
    hubspotId: p.hubspotId,
    action: p.action === 'associate' ? 'skip' : p.action,
    reason: p.reason,
    changes: Object.entries(p.send).map(([key, value]) => ({key, old: base[key] ?? null, new: value})),
  }
}

/**
 * Reads the current HubSpot values of objects about to be updated: a field HubSpot changed too
 * since the last sync is a conflict for the policy; a gone object marks the coreBOS record; a
 * merged-away id moves the link to the survivor.
 */
async function checkConflicts(engine: Engine, module: CrmModule, planned: Planned[], report: PassReport, counts: ModuleCounts): Promise<void> {
  const updates = planned.filter((p) => p.action === 'update' && p.hubspotId)
  if (updates.length === 0) return
  const type = OBJECT_TYPE_OF_MODULE[module]
  const keys = [...new Set(updates.flatMap((p) => Object.keys(p.send)))]
  const {found, missing} = await engine.hubspot.read(
    type,
    updates.map((p) => p.hubspotId!),
    [...keys, modifiedProperty(type)],
  )
  const byRequested = new Map(found.map((o) => [o.requestedId, o]))
  for (const p of updates) {
    const object = byRequested.get(p.hubspotId!)
    if (!object || missing.includes(p.hubspotId!)) {
      if (!p.link) {
        // a legacy hubspotid that no longer exists: start afresh
        p.action = 'create'
        p.hubspotId = null
        p.reason = 'legacy HubSpot id not found; creating'
        continue
      }
      p.action = 'skip'
      p.reason = 'gone in HubSpot'
      await markDeletedInHubSpot(engine, module, p.record.crmid, p.link, report, counts)
      continue
    }
    if (object.id !== p.hubspotId) {
      p.reason = `HubSpot merged ${p.hubspotId} into ${object.id}`
      p.hubspotId = object.id
    }
    if (!p.link) continue
    const updatedMs = Date.parse(object.updatedAt ?? object.properties[modifiedProperty(type)] ?? '') || 0
    const crmMs = recordTimeMs(p.record.modifiedtime, engine.settings.timezone)
    const mapper = engine.mappers[module]
    const merged = mergeFields({
      equal: (key, a, b) => mapper.sameHubSpotValue(key, a, b),
      from: 'crm',
      base: p.link.snapshot.hs,
      incoming: p.send,
      current: object.properties,
      keys: Object.keys(p.send),
      policy: engine.settings.conflictPolicy,
      newest: crmMs >= updatedMs ? 'crm' : 'hubspot',
    })
    for (const c of merged.conflicts) {
      report.conflicts.push({...c, module, crmid: p.record.crmid, hubspotId: p.hubspotId!})
      counts.conflicts++
    }
    const send: Record<string, string> = {}
    for (const [key, value] of Object.entries(merged.write)) send[key] = value ?? ''
    p.send = send
    if (Object.keys(send).length === 0) {
      p.action = 'associate'
      p.reason = 'HubSpot holds the winning values'
    }
  }
}

function modifiedProperty(type: HubSpotObjectType): string {
  return type === 'contacts' ? 'lastmodifieddate' : 'hs_lastmodifieddate'
}

/** HubSpot says the object is gone: the coreBOS record stays, marked, and stops syncing. */
export async function markDeletedInHubSpot(
  engine: Engine,
  module: CrmModule,
  crmid: number,
  link: Link,
  report: PassReport,
  counts: ModuleCounts,
): Promise<void> {
  counts.markedDeleted++
  if (report.dryRun) {
    report.plan.push({module, crmid, hubspotId: link.hubspotId, action: 'mark-deleted', reason: 'archived or merged away in HubSpot', changes: []})
    return
  }
  await engine.crm.setControl(module, crmid, {hubspotdeleted: '1', hubspotdeletedon: await engine.crm.now(), hubspotsyncwith: '0'})
  await engine.state.saveLinks([{...link, archived: true, syncedAt: new Date(engine.clock.nowMs()).toISOString()}])
}

/**
 * HubSpot refused a new contact because its e-mail belongs to another contact. If nobody owns that
 * contact, or its owner is a Lead that was converted or deleted, this record takes it over;
 * otherwise two coreBOS records share an e-mail, which the ledger reports naming both.
 */
async function adoptExisting(
  engine: Engine,
  module: CrmModule,
  p: Planned,
  existingId: string,
  report: PassReport,
  counts: ModuleCounts,
  options: PassOptions,
  claimed: Map<string, number>,
): Promise<boolean> {
  const claimer = claimed.get(existingId)
  if (claimer !== undefined) {
    await failRecord(engine, report, counts, options, module, p.record.crmid, existingId, 'DUPLICATE_EMAIL',
      `${module} ${p.record.crmid} and ${module} ${claimer} share the e-mail ${p.send.email ?? ''}; HubSpot contact ${existingId} went to ${module} ${claimer}`)
    return false
  }
  const owners = await engine.state.getLinksByHubSpotIds('contacts', [existingId])
  const owner = owners.get(existingId)
  if (owner && !(owner.module === module && owner.crmid === p.record.crmid)) {
    const [ownerRecord] = await engine.crm.readByIds(owner.module, [owner.crmid])
    const ownerGone = !ownerRecord || ownerRecord.deleted || ownerRecord.converted
    if (!ownerGone) {
      await failRecord(
        engine,
        report,
        counts,
        options,
        module,
        p.record.crmid,
        existingId,
        'DUPLICATE_EMAIL',
        `${module} ${p.record.crmid} and ${owner.module} ${owner.crmid} share the e-mail ${p.send.email ?? ''}; HubSpot contact ${existingId} is linked to ${owner.module} ${owner.crmid}`,
      )
      return false
    }
    await engine.state.deleteLink(owner.module, owner.crmid)
  }
  const {errors} = await engine.hubspot.update('contacts', [{id: existingId, properties: p.send}])
  if (errors.length > 0) {
    await failRecord(engine, report, counts, options, module, p.record.crmid, existingId, errors[0].category, errors[0].message)
    return false
  }
  claimed.set(existingId, p.record.crmid)
  return true
}

/**
 * HubSpot keeps one contact per e-mail: of the new records in a batch that share one, the oldest
 * goes ahead and the others fail, each naming the record it collides with.
 */
async function withoutSharedEmails(
  engine: Engine,
  module: CrmModule,
  creates: Planned[],
  report: PassReport,
  counts: ModuleCounts,
  options: PassOptions,
): Promise<Planned[]> {
  if (OBJECT_TYPE_OF_MODULE[module] !== 'contacts') return creates
  const first = new Map<string, Planned>()
  const keep: Planned[] = []
  for (const p of [...creates].sort((a, b) => a.record.crmid - b.record.crmid)) {
    const email = (p.send.email ?? '').trim().toLowerCase()
    const earlier = email ? first.get(email) : undefined
    if (!earlier) {
      if (email) first.set(email, p)
      keep.push(p)
      continue
    }
    await failRecord(engine, report, counts, options, module, p.record.crmid, null, 'DUPLICATE_EMAIL',
      `${module} ${p.record.crmid} and ${module} ${earlier.record.crmid} share the e-mail ${email}; HubSpot keeps one contact per e-mail`)
  }
  return keep
}

export async function failRecord(
  engine: Engine,
  report: PassReport,
  counts: ModuleCounts,
  options: PassOptions,
  module: CrmModule,
  crmid: number | null,
  hubspotId: string | null,
  category: string,
  message: string,
): Promise<void> {
  counts.failed++
  report.failures.push({module, crmid, hubspotId, category, message})
  if (!options.dryRun) {
    await engine.state.recordFailure({module, direction: report.direction, crmid, hubspotId, category, message})
  }
}

/**
 * Creates and removes the associations a record's references call for (contact → its account,
 * deal → its related account or contact), comparing with what was synced last. A target not
 * linked yet goes to the ledger, so the record is retried once its target exists in HubSpot.
 */
async function syncAssociations(
  engine: Engine,
  module: CrmModule,
  items: Array<{planned: Planned; link: Link}>,
  report: PassReport,
  counts: ModuleCounts,
  options: PassOptions,
): Promise<Link[]> {
  if (module !== 'Contacts' && module !== 'Potentials') return []
  const type = OBJECT_TYPE_OF_MODULE[module]
  const targets = items.map((i) => ({item: i, targets: associationTargets(module, i.planned.record)}))
  const wanted = new Set(targets.flatMap((t) => t.targets.map((x) => x.crmid)))
  // keyed by module too: a reference may hold the crmid of a record of another module (bad data,
  // e.g. a contact's account_id pointing at a contact), which must not become a contact→contact association
  const relatedLinks = new Map<string, Link>()
  for (const m of ['Accounts', 'Contacts'] as CrmModule[]) {
    if (wanted.size === 0) break
    const found = await engine.state.getLinksByCrmids(m, [...wanted])
    for (const [crmid, link] of found) if (!link.archived) relatedLinks.set(`${m}:${crmid}`, link)
  }
  const toCreate = new Map<HubSpotObjectType, AssociationPair[]>()
  const toRemove = new Map<HubSpotObjectType, AssociationPair[]>()
  const changedLinks: Link[] = []
  for (const {item, targets: ts} of targets) {
    const desired: Record<string, string[]> = {}
    let pending = false
    for (const t of ts) {
      const related = t.modules.map((m) => relatedLinks.get(`${m}:${t.crmid}`)).find(Boolean)
      if (!related) {
        pending = true
        continue
      }
      ;(desired[related.objectType] ??= []).push(related.hubspotId)
    }
    const current = item.link.associations
    let changed = false
    for (const toType of ['companies', 'contacts'] as HubSpotObjectType[]) {
      const want = new Set(desired[toType] ?? [])
      const have = new Set(current[toType] ?? [])
      for (const toId of want) {
        if (have.has(toId)) continue
        changed = true
        ;(toCreate.get(toType) ?? toCreate.set(toType, []).get(toType)!).push({fromId: item.link.hubspotId, toId})
      }
      for (const toId of have) {
        if (want.has(toId) || pending) continue
        changed = true
        ;(toRemove.get(toType) ?? toRemove.set(toType, []).get(toType)!).push({fromId: item.link.hubspotId, toId})
      }
    }
    if (changed) {
      item.link.associations = pending ? {...current, ...desired} : desired
      changedLinks.push(item.link)
    }
    if (pending && !options.dryRun) {
      await failRecord(engine, report, counts, options, module, item.planned.record.crmid, item.link.hubspotId, 'ASSOCIATION_PENDING',
        `${module} ${item.planned.record.crmid} refers to a record not in HubSpot yet (${ts.map((t) => t.crmid).join(', ')}); retried next pass`)
    }
  }
  if (options.dryRun) return []
  for (const [toType, pairs] of toCreate) {
    const {errors} = await engine.hubspot.createAssociations(type, toType, pairs)
    counts.associationsCreated += pairs.length - errors.length
    for (const e of errors) report.warnings.push(`${module}: association ${type}→${toType} ${e.key}: ${e.message}`)
  }
  for (const [toType, pairs] of toRemove) {
    const {errors} = await engine.hubspot.removeAssociations(type, toType, pairs)
    counts.associationsRemoved += pairs.length - errors.length
  }
  return changedLinks
}

/**
 * Records gone without a modifiedtime change (cascaded trash, emptied recycle bin, converted
 * leads) are found through their links and archived in HubSpot.
 */
async function archiveGoneRecords(engine: Engine, module: CrmModule, options: PassOptions, report: PassReport, counts: ModuleCounts): Promise<void> {
  const type = OBJECT_TYPE_OF_MODULE[module]
  for (;;) {
    const gone = await engine.state.linksWithGoneRecords(module, 1000)
    if (gone.length === 0) return
    const records = await engine.crm.readByIds(
      module,
      gone.map((l) => l.crmid),
    )
    const byId = new Map(records.map((r) => [r.crmid, r]))
    // a converted lead's contact is handed over, not archived; an unticked record is left alone
    const archive = gone.filter((l) => {
      const r = byId.get(l.crmid)
      return !r || (!r.converted && r.fields.hubspotsyncwith !== '0')
    })
    const leave = gone.filter((l) => !archive.includes(l))
    if (options.dryRun) {
      for (const l of archive) report.plan.push({module, crmid: l.crmid, hubspotId: l.hubspotId, action: 'archive', reason: 'trashed by cascade or purged in coreBOS', changes: []})
      counts.archived += archive.length
      return
    }
    const {errors} = archive.length > 0 ? await engine.hubspot.archive(type, archive.map((l) => l.hubspotId)) : {errors: []}
    const failed = new Set(errors.map((e) => e.key))
    for (const e of errors) await failRecord(engine, report, counts, options, module, archive.find((l) => l.hubspotId === e.key)?.crmid ?? null, e.key, e.category, e.message)
    const now = new Date(engine.clock.nowMs()).toISOString()
    const done = archive.filter((l) => !failed.has(l.hubspotId)).map((l) => ({...l, archived: true, syncedAt: now}))
    // links left alone are flagged archived too, or they would come back every pass
    await engine.state.saveLinks([...done, ...leave.map((l) => ({...l, archived: true, syncedAt: now}))])
    counts.archived += done.length
    if (failed.size > 0 && done.length + leave.length === 0) return
  }
}
