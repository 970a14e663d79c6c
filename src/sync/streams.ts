/**
 * The change streams. Each reads a page from its bookmark, resolves every item to its counterpart,
 * settles the pairs (settle.ts) and hands the page to the one apply (pipeline.ts), then checkpoints:
 *
 *   push, per module:       coreBOS records changed since the watermark (keyset) + ledger retries
 *   pull, per object type:  HubSpot objects modified since the watermark (search), or every object
 *                           (list) on a first pull or with --full + ledger retries; archived objects
 *
 * A bookmark has one encoding for every read mode, so any pass interrupted or stopped at --limit
 * resumes where it stopped; the watermark moves only when the whole stream was processed.
 */
import {callsSince, emptyCounts, hubspotRecordUrl, type Engine, type ModuleCounts, type PassOptions, type PassReport} from './engine.js'
import {checkArchived, readArchivedList} from './archived.js'
import {sendQueuedCarrierWrites} from './carrier-queue.js'
import {foldingWarnings} from './warnings.js'
import {ELIGIBILITY_FIELDS, eligibility, isEligible} from './eligibility.js'
import {applyWork, contactSetChanged, contactSetOfNewDeal, contactSetOnCreate, controlFieldsBehind, HeldAssociations, loadReferences, PassContext, referencedBy, referenceTypes, type Failure, type LinkReader, type Sink, type Work} from './pipeline.js'
import type {Link, Reporter, SearchPage} from './ports.js'
import {modifiedMs, type Settlement} from './settle.js'
import {FUTURE_WINDOW_MS, pushWatermarkMs, recordTimeMs, wallClockSpan} from './time.js'
import {
  MODIFIED_PROPERTY,
  OBJECT_TYPE_OF_MODULE,
  REFERENCE_FIELD,
  type CrmCursor,
  type CrmModule,
  type CrmRecord,
  type HubSpotObject,
  type HubSpotObjectType,
} from './types.js'

export const PUSH_ORDER: CrmModule[] = ['Accounts', 'Leads', 'Contacts', 'Potentials']
export const PULL_ORDER: HubSpotObjectType[] = ['companies', 'contacts', 'deals']
const BATCH = 100
/**
 * Push batches of one page that run at once. Two keep both coreBOS and HubSpot busy (one batch's
 * reads and settling while the other's writes are on the way); the batches of a page hold distinct
 * records, and the identity rules (e-mail, upsert on the crmid) decide the same in any order.
 */
const PUSH_BATCHES_IN_FLIGHT = 2

/**
 * Runs `work` over the items with at most `limit` at once, in order of start. Every started item
 * is awaited before the first failure is thrown, so nothing is still writing when the caller moves on.
 */
async function inFlight<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  let failure: {error: unknown} | null = null
  const lane = async () => {
    while (next < items.length && !failure) {
      const item = items[next++]
      try {
        await work(item)
      } catch (error) {
        failure ??= {error}
      }
    }
  }
  await Promise.all(Array.from({length: Math.min(limit, items.length)}, lane))
  if (failure) throw (failure as {error: unknown}).error
}
/** how many of a module's records dated in the future a pass names */
const FUTURE_SAMPLE = 3

/** The module whose watermark a pull stream uses, and the modules it can write. */
export const PULL_MODULES: Record<HubSpotObjectType, {watermark: CrmModule; modules: CrmModule[]}> = {
  companies: {watermark: 'Accounts', modules: ['Accounts']},
  contacts: {watermark: 'Contacts', modules: ['Contacts', 'Leads']},
  deals: {watermark: 'Potentials', modules: ['Potentials']},
}

/**
 * Where an unfinished stream resumes: push at a keyset position; pull at a modified date (search)
 * or a list cursor plus how many objects of that page were done (list).
 */
interface Bookmark {
  mode: 'full' | 'incremental'
  position?: CrmCursor
  maxSeen?: string | null
  lastMs?: number
  after?: string | null
  skip?: number
}

function readBookmark(raw: string | null, mode: Bookmark['mode']): Bookmark | null {
  if (!raw) return null
  try {
    const b = JSON.parse(raw) as Bookmark
    return b.mode === mode ? b : null
  } catch {
    return null
  }
}

/** The sink of a push or pull pass: its report. */
export function passContext(engine: Engine, report: PassReport): PassContext {
  const warn = foldingWarnings(report.warnings)
  const sink: Sink = {
    direction: report.direction,
    dryRun: report.dryRun,
    counts: (module) => (report.modules[module] ??= emptyCounts()),
    plan: (item) => report.plan.push(item),
    conflict: (module, crmid, hubspotId, c) => report.conflicts.push({...c, module, crmid, hubspotId}),
    failure: (f) => report.failures.push(f),
    warn,
  }
  return new PassContext(engine, sink)
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

/** What a stream has ahead of it: the pending count, or --limit when that is less. */
function progressTotal(pending: number, limit: number | undefined): number {
  return limit === undefined ? pending : Math.min(pending, limit)
}

function mergeCalls(report: PassReport, calls: Record<string, number>): void {
  for (const [key, value] of Object.entries(calls)) report.apiCalls[key] = (report.apiCalls[key] ?? 0) + value
}

function hsProperties(engine: Engine, modules: CrmModule[], type: HubSpotObjectType): string[] {
  const props = new Set<string>([engine.settings.uniqueProperty, MODIFIED_PROPERTY[type], 'hs_merged_object_ids'])
  if (type === 'contacts') props.add('lifecyclestage').add('email')
  for (const m of modules) for (const p of [...engine.mappers[m].hsKeys, ...engine.mappers[m].pullProperties, ...engine.mappers[m].pushProperties]) props.add(p)
  return [...props]
}

// ---------------------------------------------------------------------------------------------
// push
// ---------------------------------------------------------------------------------------------

export async function pushModule(ctx: PassContext, module: CrmModule, options: PassOptions, report: PassReport, reporter: Reporter): Promise<string> {
  const {engine} = ctx
  const {crm, state, settings} = engine
  const mapper = engine.mappers[module]
  const counts = ctx.sink.counts(module)
  if (!mapper.canPush) {
    report.warnings.push(`${module}: no ${module}2HubSpot map, nothing pushed`)
    return 'no map'
  }
  const watermark = await state.getWatermark(module, 'push')
  const mode: Bookmark['mode'] = options.full ? 'full' : 'incremental'
  const resume = options.sinceMs === undefined ? readBookmark(watermark.cursor, mode) : null
  // the database's clock bounds the stream: a record dated after it is sent, but moves no watermark
  const nowMs = await crm.nowMs()
  const zone = settings.timezone
  const lastPresent = wallClockSpan(nowMs - FUTURE_WINDOW_MS, nowMs, zone).latest
  const storedMs = pushWatermarkMs(watermark.value, zone)
  // a watermark an older version left past the clock: nothing after its last pass was read for sure
  const markMs = storedMs !== null && storedMs > nowMs ? Math.min(nowMs, Date.parse(watermark.updatedAt ?? '') || nowMs) : storedMs
  // a naive start reads from the earliest wall time shown since then: the repeated hour is read again
  const from = (ms: number) => ({modifiedtime: wallClockSpan(ms, nowMs, zone).earliest, crmid: 0})
  let since: CrmCursor | null
  if (resume?.position) since = resume.position
  else if (options.sinceMs !== undefined) since = from(options.sinceMs)
  else if (options.full || markMs === null) since = null
  else since = from(Math.min(markMs, nowMs) - settings.pushLookbackSeconds * 1000)
  // the watermark never goes back, and never passes the database clock (a row of an older version may have)
  if (storedMs !== null && storedMs > nowMs && !resume && options.sinceMs === undefined && !options.full) {
    report.warnings.push(`${module}: the push watermark (${watermark.value}) was past the database clock, set by a record dated in the future; ` +
      'read again from the last push, and held at the clock from now on. Edits it held back before that are sent by one `cbhs push --full`')
  }
  let maxSeenMs: number | null = resume ? pushWatermarkMs(resume.maxSeen, zone) : markMs === null ? null : Math.min(markMs, nowMs)
  const future: CrmRecord[] = []
  const futureIds = new Set<number>()
  const saw = (r: CrmRecord) => {
    if (r.modifiedtime > lastPresent) {
      if (!futureIds.has(r.crmid) && future.length < FUTURE_SAMPLE) future.push(r)
      futureIds.add(r.crmid)
      return
    }
    const ms = recordTimeMs(r.modifiedtime, zone)
    if (maxSeenMs === null || ms > maxSeenMs) maxSeenMs = Math.min(ms, nowMs)
  }
  const maxSeen = () => (maxSeenMs === null ? null : new Date(maxSeenMs).toISOString())
  const calls = engine.hubspot.callCounts()
  const seen = new Set<number>()

  // failures due for retry come first, whatever the watermark says; they pass the same eligibility
  const due = ctx.dryRun ? [] : await state.dueFailures(module, 'push', 10_000)
  const dueIds = [...new Set(due.map((f) => f.crmid).filter((id): id is number => id !== null))]
  for (let i = 0; i < dueIds.length; i += BATCH) {
    const ids = dueIds.slice(i, i + BATCH)
    const records = await crm.readByIds(module, ids)
    const found = new Set(records.map((r) => r.crmid))
    await ctx.retire(module, ids.filter((id) => !found.has(id)).map((crmid) => ({crmid})))
    await pushBatch(ctx, module, records, true)
    for (const r of records) seen.add(r.crmid)
  }

  let processed = 0
  let incomplete = false
  const read = {since, optIn: settings.optIn[module], includeDeleted: true}
  const pageSize = Math.max(BATCH, settings.pageSize)
  let total: number | undefined
  let streamed = 0
  const stream = crm.readChanged(module, {...read, pageSize})
  let flushing: Promise<void> = Promise.resolve()
  try {
    for await (const page of stream) {
      if (total === undefined) {
        // progress has a total, a percent and an ETA: a first page that is not full is the whole
        // read (an idle pass, the look-back); a full one is counted with the read's own predicate
        total = progressTotal(page.length < pageSize ? page.length : await crm.countChanged(module, read), options.limit)
        reporter.progress(module, 0, total)
      }
      let last: CrmRecord | undefined
      const chunks: CrmRecord[][] = []
      for (let i = 0; i < page.length && !incomplete; i += BATCH) {
        const slice = page.slice(i, i + BATCH)
        let chunk = slice.filter((r) => !seen.has(r.crmid))
        // records already handled as ledger retries still move the watermark past themselves
        for (const r of slice) if (seen.has(r.crmid)) saw(r)
        streamed += slice.length - chunk.length
        if (options.limit !== undefined && processed + chunk.length > options.limit) {
          chunk = chunk.slice(0, options.limit - processed)
          incomplete = true
        }
        processed += chunk.length
        if (chunk.length > 0) chunks.push(chunk)
      }
      // the page's batches overlap (one settles while another waits on HubSpot or coreBOS); the
      // bookmark moves only once every batch of the page is done and its associations and links are
      // written, so a kill re-reads the page
      const held = new HeldAssociations()
      const references = pageReferenceLinks(ctx, module, chunks.flat())
      await inFlight(chunks, PUSH_BATCHES_IN_FLIGHT, async (chunk) => {
        await pushBatch(ctx, module, chunk, false, held, references)
        for (const r of chunk) saw(r)
        streamed += chunk.length
        // a record saved during the pass may join the read after the count
        reporter.progress(module, streamed, Math.max(total!, streamed))
      })
      last = chunks.at(-1)?.at(-1)
      const bookmark: Bookmark | null = last && !ctx.dryRun ? {mode, position: {modifiedtime: last.modifiedtime, crmid: last.crmid + 1}, maxSeen: maxSeen()} : null
      // the page's links are written while the next page is read and pushed; one page's at a time, in
      // order, so a bookmark never passes a page whose links are not written
      await flushing
      flushing = held.flush(ctx, module).then(() => (bookmark ? state.setWatermark(module, 'push', watermark.value, JSON.stringify(bookmark)) : undefined))
      // awaited before anything else is done with the stream; until then its failure waits there
      flushing.catch(() => undefined)
      if (incomplete) break
    }
    await flushing
  } finally {
    // a page that failed leaves nothing of the one before it still writing
    await flushing.catch(() => undefined)
  }
  if (futureIds.size > 0) report.warnings.push(`${futureDatedNote(module, futureIds.size, future)}: sent, and read again every pass until that time has come`)

  if (!incomplete) await archiveGoneRecords(ctx, module)
  if (!ctx.dryRun) {
    if (incomplete) report.incomplete.push(module)
    else await state.setWatermark(module, 'push', maxSeen() ?? watermark.value, null)
  }
  mergeCalls(report, callsSince(calls, engine.hubspot.callCounts()))
  return summarize(counts, incomplete)
}

/** 'Contacts: 2 records dated after the database clock (Contacts 101 at 2030-01-01 00:00:00, …)', for the pass and for status. */
export function futureDatedNote(module: CrmModule, count: number, sample: Array<{crmid: number; modifiedtime: string}>): string {
  const named = sample.map((r) => `${module} ${r.crmid} at ${r.modifiedtime}`).join(', ')
  return `${module}: ${count} ${count === 1 ? 'record' : 'records'} dated after the database clock (${named}${count > sample.length ? ', …' : ''})`
}

/**
 * The legacy integration's link of a record cbhs has not linked: its hubspotid, when that is a
 * HubSpot id. Anything else there (hand-typed, an import's junk) is not trusted as an id: the
 * record is matched or created as if it had none, and the warning names it.
 */
export function legacyHubSpotId(module: CrmModule, record: CrmRecord, warn: (message: string) => void): string | null {
  const value = record.fields.hubspotid?.trim() || null
  if (value === null || /^\d+$/.test(value)) return value
  warn(`${module} ${record.crmid}: hubspotid '${value}' is not a HubSpot id: ignored, and replaced by the id of the HubSpot ${OBJECT_TYPE_OF_MODULE[module]} it syncs with`)
  return null
}

/** Whether the record changed, in what push reads of it, since the last sync. */
function changedInCrm(engine: Engine, module: CrmModule, record: CrmRecord, link: Link): boolean {
  const mapper = engine.mappers[module]
  const fields = new Set([...[...mapper.pushSources.values()].flat(), ...(REFERENCE_FIELD[module] ? [REFERENCE_FIELD[module]!] : [])])
  for (const f of fields) if (!mapper.sameCrmValue(f, record.fields[f], link.snapshot.crm[f])) return true
  return contactSetChanged(module, record, link)
}

/** One batch (≤ 100 records) of one module: resolve, read what is needed from HubSpot, settle, apply. */
async function pushBatch(ctx: PassContext, module: CrmModule, all: CrmRecord[], retry: boolean, held?: HeldAssociations, references?: LinkReader): Promise<void> {
  const {engine} = ctx
  await engine.prepare(module)
  const type = OBJECT_TYPE_OF_MODULE[module]
  const counts = ctx.sink.counts(module)
  counts.read += all.length
  const waiting = await ctx.unchangedSinceFailure(module, all, (r) => ({crmid: r.crmid}), (r) => recordTimeMs(r.modifiedtime, engine.settings.timezone))
  counts.skipped += waiting.size
  const records = all.filter((r) => !waiting.has(r))
  const links = await engine.state.getLinksByCrmids(module, records.map((r) => r.crmid))
  const work: Work[] = []
  const retired: Array<{crmid: number}> = []
  const pairs: Array<{record: CrmRecord; link: Link | null; hubspotId: string; reason: string}> = []
  let creates: CrmRecord[] = []
  for (const record of records) {
    const link = links.get(record.crmid)
    const live = link && !link.archived ? link : null
    const e = eligibility(record, engine.settings.optIn[module])
    if (!e.eligible) {
      // a converted Lead keeps its HubSpot contact for the Contact it became
      if (e.why === 'trashed' && live) work.push({kind: 'archive', module, link: live, reason: 'trashed in coreBOS'})
      else {
        counts.skipped++
        if (retry) retired.push({crmid: record.crmid})
      }
      continue
    }
    if (live) {
      if (changedInCrm(engine, module, record, live)) pairs.push({record, link: live, hubspotId: live.hubspotId, reason: 'changed in coreBOS'})
      else if (controlFieldsBehind(record, live.hubspotId)) pairs.push({record, link: live, hubspotId: live.hubspotId, reason: 'hubspotid behind its link'})
      else counts.skipped++
      continue
    }
    const legacyId = link ? null : legacyHubSpotId(module, record, (m) => ctx.sink.warn(m))
    if (legacyId) pairs.push({record, link: null, hubspotId: legacyId, reason: 'linked by the legacy integration'})
    else creates.push(record)
  }
  await ctx.retire(module, retired)
  // independent round trips, made at once: the e-mail check of the creates, HubSpot's side of the pairs
  const [own, {found, gone}] = await Promise.all([
    type === 'contacts' ? withOwnEmail(ctx, module, creates, {crmids: new Set(records.map((r) => r.crmid)), links}) : creates,
    readPairs(ctx, module, pairs),
  ])
  creates = own
  for (const p of gone) {
    if (p.link) work.push({kind: 'mark-deleted', module, link: p.link, reason: 'archived or merged away in HubSpot'})
    else creates.push(p.record)
  }
  await settleAndCreate(ctx, module, found, creates, work, references)
  const outcome = await applyWork(ctx, module, work, undefined, held)
  await afterApply(ctx, module, work, held)

  // a new contact whose e-mail HubSpot already has: adopt that contact, settled by the policy
  if (outcome.adopt.length > 0) {
    const owners = await ctx.ownerOf(type, outcome.adopt.map((a) => a.hubspotId))
    const adopt: typeof pairs = []
    for (const a of outcome.adopt) {
      const owner = owners.get(a.hubspotId)
      // a converted or trashed Lead hands its HubSpot contact over to the record that now holds the e-mail
      if (owner && !(owner.module === module && owner.crmid === a.record.crmid) && !(await stillSyncs(engine, owner))) {
        if (!ctx.dryRun) await engine.state.deleteLink(owner.module, owner.crmid)
        ctx.release(type, a.hubspotId)
      } else if (owner && !(owner.module === module && owner.crmid === a.record.crmid)) {
        await ctx.fail({module, crmid: a.record.crmid, hubspotId: null, category: 'DUPLICATE_EMAIL', waitForChange: true,
          message: `${module} ${a.record.crmid} and ${owner.module} ${owner.crmid} share the e-mail ${a.record.fields.email ?? ''}; HubSpot contact ${a.hubspotId} is linked to ${owner.module} ${owner.crmid}`})
        continue
      }
      adopt.push({record: a.record, link: null, hubspotId: a.hubspotId, reason: 'HubSpot has a contact with this e-mail'})
    }
    const again = await readPairs(ctx, module, adopt)
    const more: Work[] = []
    await settleAndCreate(ctx, module, again.found, [], more, references)
    for (const p of again.gone) await ctx.fail({module, crmid: p.record.crmid, hubspotId: p.hubspotId, category: 'CHANGED_SINCE_READ', message: `HubSpot contact ${p.hubspotId} went away while ${module} ${p.record.crmid} was adopting it; retried next pass`})
    await applyWork(ctx, module, more, undefined, held)
    await afterApply(ctx, module, more, held)
  }
}

async function stillSyncs(engine: Engine, owner: {module: CrmModule; crmid: number}): Promise<boolean> {
  const [record] = await engine.crm.readByIds(owner.module, [owner.crmid])
  return Boolean(record && isEligible(record, engine.settings.optIn[owner.module]))
}

/**
 * The links of the records a push page refers to (a contact's account, a deal's contacts and
 * account), read once for the page when a batch first asks instead of once per batch. The streams of
 * the modules referred to ran earlier in the pass, so those links do not change while the page is
 * pushed; a record outside the page's references is read as it is asked for.
 */
function pageReferenceLinks(ctx: PassContext, module: CrmModule, records: CrmRecord[]): LinkReader {
  const refs = new Set(referencedBy(module, records).filter((id) => id > 0))
  const read = new Map<CrmModule, Promise<Map<number, Link>>>()
  return async (m, crmids) => {
    const outside = crmids.filter((id) => !refs.has(id))
    if (outside.length > 0) return ctx.engine.state.getLinksByCrmids(m, crmids)
    let page = read.get(m)
    if (!page) {
      page = ctx.engine.state.getLinksByCrmids(m, [...refs])
      read.set(m, page)
      page.catch(() => read.delete(m))
    }
    const links = await page
    const out = new Map<number, Link>()
    for (const id of crmids) {
      const link = links.get(id)
      if (link) out.set(id, link)
    }
    return out
  }
}

/** "A and B", "A, B and C" */
export function listNames(names: string[]): string {
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`
}

/**
 * HubSpot keeps one contact per e-mail, across Leads and Contacts: of the records that share one,
 * the one already linked (else the oldest eligible) goes ahead; the others fail naming all of them
 * and wait until one changes, so nothing of theirs is written into the other's contact.
 */
async function withOwnEmail(ctx: PassContext, module: CrmModule, creates: CrmRecord[], known: {crmids: Set<number>; links: Map<number, Link>}): Promise<CrmRecord[]> {
  const {engine} = ctx
  const emailOf = (r: CrmRecord) => (r.fields.email ?? '').trim().toLowerCase()
  const emails = [...new Set(creates.map(emailOf).filter(Boolean))]
  if (emails.length === 0) return creates
  const holders = new Map<string, Array<{module: CrmModule; crmid: number; linked: boolean}>>()
  // both modules are asked at once: two round trips in parallel instead of one after the other
  const modules = ['Leads', 'Contacts'] as CrmModule[]
  const byModule = await Promise.all(modules.map((m) => engine.crm.findByEmails(m, emails, {only: ELIGIBILITY_FIELDS})))
  for (const [i, m] of modules.entries()) {
    const found = byModule[i]!
    const records = [...found.values()].flat().filter((r) => isEligible(r, engine.settings.optIn[m]))
    // the batch's own links are read already: only records outside it are looked up
    const asked = m === module ? known.crmids : new Set<number>()
    const unknown = records.map((r) => r.crmid).filter((id) => !asked.has(id))
    const links = unknown.length > 0 ? await engine.state.getLinksByCrmids(m, unknown) : new Map<number, Link>()
    if (m === module) for (const [id, link] of known.links) links.set(id, link)
    for (const r of records) {
      const email = emailOf(r)
      ;(holders.get(email) ?? holders.set(email, []).get(email)!).push({module: m, crmid: r.crmid, linked: Boolean(links.get(r.crmid) && !links.get(r.crmid)!.archived)})
    }
  }
  const keep: CrmRecord[] = []
  for (const record of creates) {
    const email = emailOf(record)
    const group = (holders.get(email) ?? []).filter((h) => !(h.module === module && h.crmid === record.crmid))
    if (!email || group.length === 0) {
      keep.push(record)
      continue
    }
    const linked = group.find((h) => h.linked)
    const older = group.filter((h) => h.crmid < record.crmid)
    if (!linked && older.length === 0) {
      keep.push(record)
      continue
    }
    const winner = linked ?? older[0]
    const names = listNames([`${module} ${record.crmid}`, ...group.map((h) => `${h.module} ${h.crmid}`)])
    await ctx.fail({module, crmid: record.crmid, hubspotId: null, category: 'DUPLICATE_EMAIL', waitForChange: true,
      message: `${names} share the e-mail ${email}; HubSpot keeps one contact per e-mail and it goes to ${winner.module} ${winner.crmid}: merge them or change one e-mail`})
  }
  return keep
}

/** Reads the HubSpot objects of pairs; a merged-away id follows its survivor, a missing one is gone. */
async function readPairs<P extends {record: CrmRecord; link: Link | null; hubspotId: string}>(
  ctx: PassContext,
  module: CrmModule,
  pairs: P[],
): Promise<{found: Array<P & {object: HubSpotObject}>; gone: P[]}> {
  if (pairs.length === 0) return {found: [], gone: []}
  const {engine} = ctx
  const type = OBJECT_TYPE_OF_MODULE[module]
  const {found} = await engine.hubspot.read(type, pairs.map((p) => p.hubspotId), hsProperties(engine, [module], type))
  const byRequested = new Map(found.map((o) => [o.requestedId, o]))
  const survivors = found.filter((o) => o.id !== o.requestedId).map((o) => o.id)
  const owners = survivors.length > 0 ? await ctx.ownerOf(type, survivors) : new Map()
  const out: Array<P & {object: HubSpotObject}> = []
  const gone: P[] = []
  for (const p of pairs) {
    const object = byRequested.get(p.hubspotId)
    const owner = object ? owners.get(object.id) : undefined
    // merged into an object another record owns: this record's object is gone
    if (!object || (owner && !(owner.module === module && owner.crmid === p.record.crmid))) gone.push(p)
    else out.push({...p, object})
  }
  return {found: out, gone}
}

/** Settles the pairs and prepares the creates of one push batch, with their references. */
async function settleAndCreate(
  ctx: PassContext,
  module: CrmModule,
  pairs: Array<{record: CrmRecord; link: Link | null; object: HubSpotObject; hubspotId: string; reason: string}>,
  creates: CrmRecord[],
  work: Work[],
  references?: LinkReader,
): Promise<void> {
  const {engine} = ctx
  const mapper = engine.mappers[module]
  const field = REFERENCE_FIELD[module]
  // associations are read only where the reference may have changed; elsewhere it is carried over
  const compared = pairs.filter((p) => field && (!p.link || !mapper.sameCrmValue(field, p.record.fields[field], p.link.snapshot.crm[field]) || contactSetChanged(module, p.record, p.link)))
  const refs = await loadReferences(ctx, module, compared.map((p) => p.object.id), referencedBy(module, [...compared.map((p) => p.record), ...creates]), {linksOf: references})
  for (const p of pairs) {
    const settlement = ctx.settle(module, p, refs.view(p.object.id), 'push')
    if (await failedToSettle(ctx, module, p.record.crmid, p.object.id, settlement)) continue
    const reason = p.object.id !== p.hubspotId ? `HubSpot merged ${p.hubspotId} into ${p.object.id}` : p.reason
    work.push({kind: 'update', module, record: p.record, object: p.object, link: p.link, settlement, reason})
  }
  for (const record of creates) {
    const mapped = mapper.toHubSpot(record)
    for (const w of mapped.warnings) ctx.sink.warn(`${module} ${record.crmid}: ${w}`)
    if (mapped.errors.length > 0) {
      await ctx.fail({module, crmid: record.crmid, hubspotId: null, category: 'INVALID_VALUE', message: mapped.errors.map((e) => `${e.key}: ${e.message}`).join('; ')})
      continue
    }
    const ref = field ? Number(record.fields[field] ?? 0) || 0 : 0
    const target = ref > 0 ? refs.target(ref) : null
    const associate = target && 'id' in target ? [target] : []
    if (target && 'none' in target) ctx.sink.warn(`${module} ${record.crmid}: ${field} ${ref} ${target.none}: no association made`)
    const others = contactSetOnCreate(module, record, refs, (m) => ctx.sink.warn(m))
    const pending = target && 'pending' in target ? `${module} ${record.crmid} refers to ${field} ${ref}, which is not in HubSpot yet; retried next pass` : others.pending
    work.push({kind: 'create-hubspot', module, record, properties: {...mapped.values, [engine.settings.uniqueProperty]: String(record.crmid)}, associate: [...associate, ...others.associate], contactSet: others.contactSet, pending, reason: 'not in HubSpot yet'})
  }
}

/** A pair whose values cannot be converted fails as a whole; conversion warnings are reported once. */
async function failedToSettle(ctx: PassContext, module: CrmModule, crmid: number | null, hubspotId: string, settlement: Settlement): Promise<boolean> {
  for (const w of settlement.warnings) ctx.sink.warn(`${module} ${crmid ?? `(HubSpot ${hubspotId})`}: ${w}`)
  if (settlement.errors.length === 0) return false
  await ctx.fail({module, crmid, hubspotId, category: 'INVALID_VALUE', message: `${module} ${crmid} / HubSpot ${hubspotId}: ${settlement.errors.join('; ')}`})
  return true
}

/**
 * A reference whose target is not in HubSpot yet: the rest went through; the record is retried.
 * Its failure is recorded after its link (`held`: when the page's links are written), which
 * resolves the record's open entries.
 */
async function afterApply(ctx: PassContext, module: CrmModule, work: Work[], held?: HeldAssociations): Promise<void> {
  for (const w of work) {
    const pending = w.kind === 'update' ? w.settlement.pending : w.kind === 'create-hubspot' ? w.pending : undefined
    if (!pending) continue
    const crmid = w.kind === 'update' ? w.record.crmid : w.kind === 'create-hubspot' ? w.record.crmid : null
    const hubspotId = w.kind === 'update' ? w.object.id : null
    const failure: Failure = {module, crmid, hubspotId, category: 'ASSOCIATION_PENDING', message: pending}
    if (held) held.failAfter(failure)
    else await ctx.fail(failure)
  }
}

/**
 * Records gone without a modifiedtime change (cascaded trash, emptied recycle bin) are found through
 * their links and archived in HubSpot; a converted Lead's or an unticked record's link just retires.
 */
async function archiveGoneRecords(ctx: PassContext, module: CrmModule): Promise<void> {
  const {engine} = ctx
  const seen = new Set<number>()
  for (;;) {
    const gone = (await engine.state.linksWithGoneRecords(module, 1000)).filter((l) => !seen.has(l.crmid))
    if (gone.length === 0) return
    for (const l of gone) seen.add(l.crmid)
    const records = new Map((await engine.crm.readByIds(module, gone.map((l) => l.crmid))).map((r) => [r.crmid, r]))
    const archive = gone.filter((l) => {
      const r = records.get(l.crmid)
      return !r || (!r.converted && r.fields.hubspotsyncwith !== '0')
    })
    const retire = gone.filter((l) => !archive.includes(l))
    await applyWork(ctx, module, archive.map((link) => ({kind: 'archive', module, link, reason: 'trashed by cascade or purged in coreBOS'})))
    // links left alone are flagged archived too, or they would come back every pass
    if (!ctx.dryRun && retire.length > 0) await engine.state.saveLinks(retire.map((l) => ({...l, archived: true, syncedAt: ctx.nowIso()})))
    if (ctx.dryRun) return
  }
}

/** Reconcile's repair of records only in coreBOS: the push stream's own batch (identity checks, upsert, links). */
export function createInHubSpot(ctx: PassContext, module: CrmModule, records: CrmRecord[]): Promise<void> {
  return pushBatch(ctx, module, records, false)
}

/** Reconcile's repair of objects only in HubSpot: the pull stream's own batch. */
export function pullObjects(ctx: PassContext, type: HubSpotObjectType, objects: HubSpotObject[]): Promise<void> {
  return pullBatch(ctx, type, PULL_MODULES[type].modules, objects)
}

export function hsPropertiesOf(engine: Engine, type: HubSpotObjectType): string[] {
  return hsProperties(engine, PULL_MODULES[type].modules, type)
}

// ---------------------------------------------------------------------------------------------
// pull
// ---------------------------------------------------------------------------------------------

export async function pullObjectType(ctx: PassContext, type: HubSpotObjectType, options: PassOptions, report: PassReport, reporter: Reporter): Promise<string> {
  const {engine} = ctx
  const {state, settings, hubspot, clock} = engine
  const {watermark: wmModule, modules: allModules} = PULL_MODULES[type]
  const modules = allModules.filter((m) => options.modules.includes(m) && engine.mappers[m].canPull)
  for (const m of allModules) ctx.sink.counts(m)
  if (modules.length === 0) {
    report.warnings.push(`${type}: no HubSpot2${allModules.join('/HubSpot2')} map selected, nothing pulled`)
    return 'no map'
  }
  // a stream feeding two modules only moves its watermark when both were handled
  const ownsWatermark = modules.length === allModules.length
  const watermark = await state.getWatermark(wmModule, 'pull')
  const full = options.full || (!watermark.value && options.sinceMs === undefined)
  const mode: Bookmark['mode'] = full ? 'full' : 'incremental'
  const resume = options.sinceMs === undefined ? readBookmark(watermark.cursor, mode) : null
  const startedMs = clock.nowMs()
  const properties = hsProperties(engine, modules, type)
  const calls = hubspot.callCounts()

  // an idle pass's one search: what changed since the watermark and the archived check's count
  const sinceMs = full ? 0 : (resume?.lastMs ?? options.sinceMs ?? Date.parse(watermark.value!))
  const recent = full ? null : await hubspot.searchRecentWithCarriers(type, {sinceMs, untilMs: startedMs, properties, carrierProperty: settings.uniqueProperty})
  // before this pass links anything: every link counted was made by an earlier pass, which search shows by now
  if (!full) await checkArchived(ctx, type, modules, {remember: ownsWatermark, carriers: recent?.carriers})

  // due failures first: those objects are re-read by id
  const due = ctx.dryRun ? [] : (await Promise.all(modules.map((m) => state.dueFailures(m, 'pull', 10_000)))).flat()
  const dueIds = [...new Set(due.map((f) => f.hubspotId).filter((id): id is string => Boolean(id)))]
  const seen = new Set<string>()
  for (let i = 0; i < dueIds.length; i += BATCH) {
    const {found, missing} = await hubspot.read(type, dueIds.slice(i, i + BATCH), properties)
    for (const m of modules) await ctx.retire(m, missing.map((hubspotId) => ({hubspotId})))
    await pullBatch(ctx, type, modules, found)
    for (const o of found) seen.add(o.id)
  }

  let processed = 0
  let incomplete = false
  // the search's total when it says one (incremental); the list endpoint gives none: rate only
  let ahead: number | undefined
  const checkpoint = async (bookmark: Bookmark) => {
    if (!ctx.dryRun && ownsWatermark) await state.setWatermark(wmModule, 'pull', watermark.value, JSON.stringify(bookmark))
  }
  const take = async (page: HubSpotObject[]): Promise<number> => {
    let objects = page.filter((o) => !seen.has(o.id))
    let used = page.length
    if (options.limit !== undefined && processed + objects.length > options.limit) {
      objects = objects.slice(0, options.limit - processed)
      used = objects.length === 0 ? 0 : page.indexOf(objects[objects.length - 1]) + 1
      incomplete = true
    }
    for (let i = 0; i < objects.length; i += 200) await pullBatch(ctx, type, modules, objects.slice(i, i + 200))
    processed += objects.length
    reporter.progress(type, processed, ahead)
    if (options.limit !== undefined && processed >= options.limit) incomplete = true
    return used
  }
  // each page brings its objects' associations along (listed inline, or read with a search page)
  const associations = [...new Set(modules.flatMap((m) => referenceTypes(engine, m)))]
  if (full) {
    // the list endpoint has no cap; its cursor, and how much of that page was done, is the bookmark
    let after = resume?.after ?? undefined
    let skip = resume?.skip ?? 0
    ctx.queuesCarrierWrites = true
    try {
      for await (const page of hubspot.list(type, {properties, after, associations})) {
        const used = await take(page.slice(skip))
        const done = skip + used
        skip = 0
        const next: Bookmark = done < page.length ? {mode, after: after ?? null, skip: done} : {mode, after: page.next ?? null, skip: 0}
        await checkpoint(next)
        after = page.next
        if (incomplete || !page.next) break
      }
    } finally {
      ctx.queuesCarrierWrites = false
    }
  } else {
    // the one search's page comes without associations: the references' loader reads them
    const pages: Iterable<SearchPage> | AsyncIterable<SearchPage> = recent
      ? recent.objects.length > 0 ? [Object.assign(recent.objects, {total: recent.objects.length})] : []
      : hubspot.searchModified(type, {sinceMs, untilMs: startedMs, properties, associations})
    for await (const page of pages) {
      if (page.total !== undefined) ahead = progressTotal(page.total, options.limit)
      const used = await take(page)
      const last = page[used - 1]
      if (last) await checkpoint({mode, lastMs: modifiedMs(type, last)})
      if (incomplete) break
    }
  }

  if (full && !incomplete) await readArchivedList(ctx, type, modules, {remember: ownsWatermark})
  if (!ctx.dryRun && ownsWatermark) {
    if (incomplete) report.incomplete.push(wmModule)
    // the next pass starts where HubSpot's search index was surely complete at this pass's start
    else await state.setWatermark(wmModule, 'pull', new Date(startedMs - settings.pullLagSeconds * 1000).toISOString(), null)
  }
  mergeCalls(report, callsSince(calls, hubspot.callCounts()))
  const total = emptyCounts()
  for (const m of modules) for (const [k, v] of Object.entries(ctx.sink.counts(m))) total[k as keyof ModuleCounts] += v
  return summarize(total, incomplete)
}

/**
 * A pulling pass's last step, once every stream has had the budget it needed: the crmid write-backs
 * full pulls queued, as far as the 10-second budget has room for them now (carrier-queue.ts).
 */
export async function sendCarrierWrites(ctx: PassContext, report: PassReport): Promise<number> {
  const {hubspot} = ctx.engine
  const calls = hubspot.callCounts()
  let sent = 0
  for (const type of PULL_ORDER) sent += await sendQueuedCarrierWrites(ctx, type)
  mergeCalls(report, callsSince(calls, hubspot.callCounts()))
  return sent
}

/** The module a contact new to coreBOS lands in: by lifecycle stage, Leads for the early stages. */
export function landingModule(engine: Engine, type: HubSpotObjectType, object: HubSpotObject): CrmModule {
  if (type === 'companies') return 'Accounts'
  if (type === 'deals') return 'Potentials'
  const stage = (object.properties.lifecyclestage ?? '').toLowerCase()
  return engine.settings.leadLifecycleStages.includes(stage) ? 'Leads' : 'Contacts'
}

interface Resolved {
  object: HubSpotObject
  module: CrmModule
  record: CrmRecord | null
  link: Link | null
  reason: string
}

/**
 * The coreBOS counterpart of each object, by the same evidence in the same order everywhere: the
 * link, the record holding the object's id in hubspotid, the record named by the unique crmid
 * property, the e-mail. Only eligible records are adopted; two candidates are never guessed between.
 */
export async function resolveObjects(ctx: PassContext, type: HubSpotObjectType, objects: HubSpotObject[]): Promise<Resolved[]> {
  const {engine} = ctx
  const modules = PULL_MODULES[type].modules
  const links = await engine.state.getLinksByHubSpotIds(type, objects.map((o) => o.id))
  await followMerges(ctx, type, objects, links)
  const out: Resolved[] = []
  const records = new Map<string, CrmRecord>()
  const byModule = new Map<CrmModule, number[]>()
  for (const l of links.values()) if (!l.archived) (byModule.get(l.module) ?? byModule.set(l.module, []).get(l.module)!).push(l.crmid)

  const unlinked = objects.filter((o) => !links.has(o.id))
  const byHubSpotId = new Map<string, CrmRecord>()
  const byCrmid = new Map<number, CrmRecord>()
  if (unlinked.length > 0) {
    const crmids = [...new Set(unlinked.map((o) => Number(o.properties[engine.settings.uniqueProperty] ?? 0)).filter((n) => Number.isInteger(n) && n > 0))]
    for (const m of modules) {
      for (const [id, r] of await engine.crm.findByHubSpotIds(m, unlinked.map((o) => o.id))) if (!byHubSpotId.has(id)) byHubSpotId.set(id, r)
      if (crmids.length > 0) for (const r of await engine.crm.readByIds(m, crmids)) byCrmid.set(r.crmid, r)
    }
  }
  for (const [m, ids] of byModule) for (const r of await engine.crm.readByIds(m, ids)) records.set(`${m}:${r.crmid}`, r)
  const candidates = [...byHubSpotId.values(), ...byCrmid.values()]
  const candidateLinks = new Map<string, Link>()
  for (const m of modules) {
    const ids = candidates.filter((r) => r.module === m).map((r) => r.crmid)
    for (const [crmid, l] of await engine.state.getLinksByCrmids(m, ids)) candidateLinks.set(`${m}:${crmid}`, l)
  }
  const free = (r: CrmRecord | undefined) => {
    if (!r || !isEligible(r, engine.settings.optIn[r.module])) return undefined
    const l = candidateLinks.get(`${r.module}:${r.crmid}`)
    return l && !l.archived ? undefined : r
  }
  const byEmail = type === 'contacts' ? await emailCandidates(ctx, unlinked.filter((o) => !free(byHubSpotId.get(o.id)) && !free(byCrmid.get(Number(o.properties[engine.settings.uniqueProperty] ?? 0))))) : new Map()

  for (const object of objects) {
    const link = links.get(object.id)
    if (link) {
      if (link.archived) continue
      out.push({object, module: link.module, record: records.get(`${link.module}:${link.crmid}`) ?? null, link, reason: 'changed in HubSpot'})
      continue
    }
    const strong = free(byHubSpotId.get(object.id)) ?? free(byCrmid.get(Number(object.properties[engine.settings.uniqueProperty] ?? 0)))
    if (strong) {
      out.push({object, module: strong.module, record: strong, link: null, reason: 'linked by its HubSpot id or crmid'})
      continue
    }
    const email = (object.properties.email ?? '').trim().toLowerCase()
    const sameEmail: {eligible: CrmRecord[]; other: CrmRecord[]} = byEmail.get(email) ?? {eligible: [], other: []}
    const landing = landingModule(engine, type, object)
    if (sameEmail.eligible.length > 1) {
      const names = sameEmail.eligible.map((r) => `${r.module} ${r.crmid}`).join(', ')
      await ctx.fail({module: landing, crmid: null, hubspotId: object.id, category: 'AMBIGUOUS_MATCH', waitForChange: true,
        message: `HubSpot contact ${object.id} has the e-mail ${email} of several unlinked coreBOS records (${names}); link one with \`cbhs reconcile\` or merge them`})
      continue
    }
    if (sameEmail.eligible.length === 1) {
      out.push({object, module: sameEmail.eligible[0].module, record: sameEmail.eligible[0], link: null, reason: 'same e-mail as an unlinked record'})
      continue
    }
    if (sameEmail.other.length > 0) {
      // the person exists in coreBOS but is not in sync: neither adopted nor created again
      const r = sameEmail.other[0]
      ctx.sink.counts(r.module).skipped++
      ctx.sink.warn(`HubSpot contact ${object.id} has the e-mail of ${r.module} ${r.crmid}, which is ${eligibility(r, engine.settings.optIn[r.module]).eligible ? 'linked elsewhere' : 'not in sync'}; tick "Sync with HubSpot" on it to link them`)
      continue
    }
    out.push({object, module: landing, record: null, link: null, reason: 'new in HubSpot'})
  }
  return out
}

/** Live coreBOS Contacts and Leads with the e-mails of these contacts, not linked to anything. */
async function emailCandidates(ctx: PassContext, objects: HubSpotObject[]): Promise<Map<string, {eligible: CrmRecord[]; other: CrmRecord[]}>> {
  const {engine} = ctx
  const emails = [...new Set(objects.map((o) => (o.properties.email ?? '').trim().toLowerCase()).filter(Boolean))]
  const out = new Map<string, {eligible: CrmRecord[]; other: CrmRecord[]}>()
  if (emails.length === 0) return out
  for (const module of ['Contacts', 'Leads'] as CrmModule[]) {
    const found = [...(await engine.crm.findByEmails(module, emails)).values()].flat()
    const linked = await engine.state.getLinksByCrmids(module, found.map((r) => r.crmid))
    for (const record of found) {
      const link = linked.get(record.crmid)
      if (link && !link.archived) continue
      const email = (record.fields.email ?? '').trim().toLowerCase()
      const entry = out.get(email) ?? out.set(email, {eligible: [], other: []}).get(email)!
      if (isEligible(record, engine.settings.optIn[module])) entry.eligible.push(record)
      else entry.other.push(record)
    }
  }
  return out
}

async function pullBatch(ctx: PassContext, type: HubSpotObjectType, modules: CrmModule[], all: HubSpotObject[]): Promise<void> {
  if (all.length === 0) return
  const {engine} = ctx
  for (const m of modules) await engine.prepare(m)
  let objects = all
  for (const m of modules) {
    const waiting = await ctx.unchangedSinceFailure(m, objects, (o) => ({hubspotId: o.id}), (o) => modifiedMs(type, o))
    ctx.sink.counts(m).skipped += waiting.size
    objects = objects.filter((o) => !waiting.has(o))
  }
  const resolved = await resolveObjects(ctx, type, objects)
  for (const module of modules) {
    const items = resolved.filter((r) => r.module === module)
    const counts = ctx.sink.counts(module)
    counts.read += items.length
    const mapper = engine.mappers[module]
    const pairs: Array<Resolved & {record: CrmRecord}> = []
    const creates: Resolved[] = []
    const retired: Array<{hubspotId: string}> = []
    for (const item of items) {
      if (!item.record) {
        // linked, but the coreBOS record was purged: push archives the object
        if (item.link) counts.skipped++
        else creates.push(item)
        continue
      }
      if (!isEligible(item.record, engine.settings.optIn[module])) {
        counts.skipped++
        retired.push({hubspotId: item.object.id})
        continue
      }
      pairs.push(item as Resolved & {record: CrmRecord})
    }
    await ctx.retire(module, retired)
    const refs = await loadReferences(ctx, module, [...pairs, ...creates].map((i) => i.object.id), referencedBy(module, pairs.map((p) => p.record)), {inline: items.map((i) => i.object)})
    const work: Work[] = []
    for (const p of pairs) {
      // stand-ins are part of the settlement, so a settlement made again (compare-and-set) has them too
      const settlement = ctx.settle(module, p, refs.view(p.object.id), 'pull', (s, record) => {
        if (s.errors.length === 0) standInsFor(ctx, module, p.object, s.crm, record.crmid)
      })
      if (await failedToSettle(ctx, module, p.record.crmid, p.object.id, settlement)) continue
      work.push({kind: 'update', module, record: p.record, object: p.object, link: p.link, settlement, reason: p.reason})
    }
    for (const c of creates) {
      const mapped = mapper.toCrm(c.object)
      for (const w of mapped.warnings) ctx.sink.warn(`HubSpot ${type} ${c.object.id}: ${w}`)
      if (mapped.errors.length > 0) {
        await ctx.fail({module, crmid: null, hubspotId: c.object.id, category: 'INVALID_VALUE', message: `HubSpot ${type} ${c.object.id}: ${mapped.errors.map((e) => `${e.key}: ${e.message}`).join('; ')}`})
        continue
      }
      const fields = {...mapped.values}
      const field = REFERENCE_FIELD[module]
      const ref = refs.preferred(c.object.id)
      if (field && ref !== undefined) fields[field] = String(ref)
      if (module === 'Potentials' && !fields.related_to) {
        const waiting = Object.values(refs.view(c.object.id)?.current ?? {}).some((ids) => ids.length > 0)
        const why = waiting ? 'its associated contact or company is not in coreBOS yet; retried next pass' : 'it has no associated contact or company (coreBOS needs related_to)'
        await ctx.fail({module, crmid: null, hubspotId: c.object.id, category: 'RELATED_PENDING', message: `HubSpot deal ${c.object.id} waits: ${why}`})
        continue
      }
      fillRequired(module, c.object, fields, (m) => ctx.sink.warn(m))
      const view = refs.view(c.object.id)
      const contacts = contactSetOfNewDeal(module, view, typeof ref === 'number' ? ref : undefined)
      work.push({kind: 'create-crm', module, object: c.object, fields, associations: view ? {...view.current} : {}, contacts, reason: c.reason})
    }
    await applyWork(ctx, module, work)
    await afterApply(ctx, module, work)
  }
}

/** A mandatory field HubSpot emptied keeps a stand-in, with a warning, rather than failing coreBOS's save. */
function standInsFor(ctx: PassContext, module: CrmModule, object: HubSpotObject, write: Record<string, string | null>, crmid: number): void {
  const emptied: Record<string, string | null> = {}
  for (const [k, v] of Object.entries(write)) if (v === null || v === '') emptied[k] = v
  if (Object.keys(emptied).length === 0) return
  const filled = fillRequired(module, object, emptied, null)
  for (const [field, value] of Object.entries(filled)) {
    write[field] = value
    ctx.sink.warn(`HubSpot ${object.id}: no ${field}; stored '${value}' in ${module} ${crmid}`)
  }
}

/**
 * coreBOS cannot store a contact without a last name or a lead without a company; HubSpot can.
 * Fills those in `fields` (on updates only fields present, i.e. that HubSpot emptied) and says so.
 */
export function fillRequired(module: CrmModule, object: HubSpotObject, fields: Record<string, string | null>, warn: ((message: string) => void) | null): Record<string, string> {
  const filled: Record<string, string> = {}
  const fill = (field: string, value: string) => {
    if (fields[field] || (warn === null && !(field in fields))) return
    fields[field] = value
    filled[field] = value
    warn?.(`HubSpot ${object.id}: no ${field}; stored '${value}' in ${module}`)
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

/**
 * A survivor lists the ids merged into it. Links to those ids move to the survivor (the oldest
 * coreBOS record keeps it when the survivor has none); other coreBOS records linked to merged-away
 * ids are marked deleted in HubSpot, their data stays.
 */
async function followMerges(ctx: PassContext, type: HubSpotObjectType, objects: HubSpotObject[], links: Map<string, Link>): Promise<void> {
  const {engine} = ctx
  for (const survivor of objects.filter((o) => o.properties.hs_merged_object_ids)) {
    const oldIds = (survivor.properties.hs_merged_object_ids ?? '').split(';').map((s) => s.trim()).filter((id) => id && id !== survivor.id)
    const oldLinks = [...(await engine.state.getLinksByHubSpotIds(type, oldIds)).values()].filter((l) => !l.archived).sort((a, b) => a.crmid - b.crmid)
    if (oldLinks.length === 0) continue
    const keeper = links.has(survivor.id) ? undefined : oldLinks.shift()
    for (const gone of oldLinks) await applyWork(ctx, gone.module, [{kind: 'mark-deleted', module: gone.module, link: gone, reason: `HubSpot merged ${gone.hubspotId} into ${survivor.id}`}])
    if (!keeper) continue
    ctx.sink.counts(keeper.module).linked++
    const moved: Link = {...keeper, hubspotId: survivor.id}
    if (ctx.dryRun) {
      ctx.sink.plan({module: keeper.module, crmid: keeper.crmid, hubspotId: survivor.id, action: 'relink', reason: `HubSpot merged ${keeper.hubspotId} into ${survivor.id}`, changes: []})
    } else {
      await engine.state.deleteLink(keeper.module, keeper.crmid)
      await engine.state.saveLinks([moved])
      await engine.crm.setControl(keeper.module, keeper.crmid, {hubspotid: survivor.id, hubspotrecord: hubspotRecordUrl(engine.settings.portalId, type, survivor.id)})
    }
    links.set(survivor.id, moved)
  }
}
