/**
 * The steps every stream shares (DESIGN.md §3 "One pipeline"): a page of work items, resolved and
 * settled by the stream, is applied here — the HubSpot writer, the coreBOS writer, associations,
 * and the link writer, the only place that records a pair as synced (control fields, snapshot,
 * ledger resolution). A dry run goes through the same steps and reports instead of writing.
 */
import {hubspotRecordUrl, type Engine, type ModuleCounts, type ModuleMapper, type PlanItem} from './engine.js'
import {eligibility, isEligible} from './eligibility.js'
import type {FieldConflict} from './settle.js'
import type {AssociationPair, FailureResolution, Link, RecordUpdate, WriteResult} from './ports.js'
import {contactSetValue, createdSnapshot, settlePair, type ReferenceView, type Settlement, type Snapshot, type Values} from './settle.js'
import {hubspotRejections} from './validate.js'
import {CONTACT_SET_KEY, CONTACT_SET_MODULES, OBJECT_TYPE_OF_MODULE, REFERENCE_FIELD, type ControlValues, type CrmModule, type CrmRecord, type Direction, type HubSpotObject, type HubSpotObjectType} from './types.js'

/** Where a stream's outcomes go: the pass report for push and pull, the reconcile report for reconcile. */
export interface Sink {
  direction: Direction
  dryRun: boolean
  counts(module: CrmModule): ModuleCounts
  plan(item: PlanItem): void
  conflict(module: CrmModule, crmid: number, hubspotId: string, conflict: FieldConflict): void
  failure(failure: {module: CrmModule; crmid: number | null; hubspotId: string | null; category: string; message: string}): void
  warn(message: string): void
}

export interface Failure {
  module: CrmModule
  crmid: number | null
  hubspotId: string | null
  category: string
  message: string
  /** records that share an identity wait until one of them changes instead of retrying on a schedule */
  waitForChange?: boolean
}

/** One pass's shared state: the engine, where outcomes go, and which HubSpot object each record took. */
export class PassContext {
  /** `type:id` → the record that owns it in this pass (links saved or about to be) */
  private readonly owners = new Map<string, {module: CrmModule; crmid: number}>()
  /** how each settlement was made, so the coreBOS writer can settle its pair again against a re-read record */
  private readonly settledWith = new WeakMap<Settlement, (record: CrmRecord) => Settlement | Promise<Settlement>>()
  /** `module:direction` → whether the ledger may hold open entries (see mayHaveOpenFailures) */
  private readonly ledgerOpen = new Map<string, Promise<boolean>>()
  /** set by a full pull while it lists: the crmid write-backs are queued (carrier-queue.ts) instead of sent with each page */
  queuesCarrierWrites = false
  /** work keys whose apply writes elsewhere than a record module (the activity streams') */
  private readonly targets = new Map<CrmModule, ApplyTarget>()

  constructor(
    readonly engine: Engine,
    readonly sink: Sink,
  ) {}

  get dryRun(): boolean {
    return this.sink.dryRun
  }

  /** Work under this key is applied to this target from now on in the pass. */
  setTarget(key: CrmModule, target: ApplyTarget): void {
    this.targets.set(key, target)
  }

  targetOf(key: CrmModule): ApplyTarget {
    return this.targets.get(key) ?? recordTarget(this.engine, key)
  }

  async fail(f: Failure): Promise<void> {
    this.sink.counts(f.module).failed++
    this.sink.failure({module: f.module, crmid: f.crmid, hubspotId: f.hubspotId, category: f.category, message: f.message})
    if (!this.dryRun) {
      this.ledgerOpen.set(`${f.module}:${this.sink.direction}`, Promise.resolve(true))
      await this.engine.state.recordFailure({...f, direction: this.sink.direction})
    }
  }

  /**
   * Whether the ledger may hold open entries of a module and direction: probed once per context
   * (a pass's streams run one after another, and only this process writes the ledger while it
   * holds the pass lock), then kept true by fail(), so a back-fill with an empty ledger does not
   * ask it about every batch.
   */
  mayHaveOpenFailures(module: CrmModule, direction: Direction): Promise<boolean> {
    const key = `${module}:${direction}`
    let open = this.ledgerOpen.get(key)
    if (!open) {
      open = this.engine.state.hasOpenFailures(module, direction)
      open.catch(() => this.ledgerOpen.delete(key))
      this.ledgerOpen.set(key, open)
    }
    return open
  }

  /** Resolves the open ledger entries of these records, in both directions (nothing to ask when none is open). */
  async resolveFailures(module: CrmModule, keys: Array<{crmid?: number; hubspotId?: string}>, resolution?: FailureResolution): Promise<void> {
    if (this.dryRun || keys.length === 0) return
    for (const direction of ['push', 'pull'] as Direction[]) {
      if (await this.mayHaveOpenFailures(module, direction)) await this.engine.state.resolveFailures(module, direction, keys, resolution)
    }
  }

  /** A retried record that is no longer eligible leaves the ledger as such, in both directions. */
  async retire(module: CrmModule, keys: Array<{crmid?: number; hubspotId?: string}>): Promise<void> {
    await this.resolveFailures(module, keys, 'ineligible')
  }

  /**
   * Of these records, the ones whose failure waits for a change and that have not changed since it
   * was recorded: a stream that meets them again (the look-back, a search window) leaves them be.
   */
  async unchangedSinceFailure<T>(module: CrmModule, items: T[], key: (item: T) => {crmid?: number; hubspotId?: string}, changedMs: (item: T) => number): Promise<Set<T>> {
    if (items.length === 0 || !(await this.mayHaveOpenFailures(module, this.sink.direction))) return new Set()
    const keys = items.map(key)
    const waiting = await this.engine.state.waitingFailures(module, this.sink.direction, {
      crmids: keys.flatMap((k) => (k.crmid !== undefined ? [k.crmid] : [])),
      hubspotIds: keys.flatMap((k) => (k.hubspotId !== undefined ? [k.hubspotId] : [])),
    })
    if (waiting.length === 0) return new Set()
    const failedAt = new Map<string, number>()
    for (const f of waiting) {
      const ms = Date.parse(f.lastFailedAt)
      if (f.crmid !== null) failedAt.set(`c${f.crmid}`, ms)
      if (f.hubspotId !== null) failedAt.set(`h${f.hubspotId}`, ms)
    }
    const out = new Set<T>()
    for (const [i, item] of items.entries()) {
      const k = keys[i]
      const at = (k.crmid !== undefined ? failedAt.get(`c${k.crmid}`) : undefined) ?? (k.hubspotId !== undefined ? failedAt.get(`h${k.hubspotId}`) : undefined)
      if (at !== undefined && changedMs(item) <= at) out.add(item)
    }
    return out
  }

  /**
   * Dry run: what this pass would create, on either side. A later reference to one of them is
   * what the real pass would have linked by then, not a pending one: the plan names it instead.
   */
  private readonly plannedCreates = new Set<string>()

  planCreate(created: {module: CrmModule; crmid: number} | {module: CrmModule; hubspotId: string}): void {
    this.plannedCreates.add('crmid' in created ? `crm:${created.module}:${created.crmid}` : `hs:${created.module}:${created.hubspotId}`)
  }

  /** the stand-in id a dry run's plan shows for the HubSpot object it would create for a record */
  plannedId(module: CrmModule, crmid: number): string | undefined {
    return this.dryRun && this.plannedCreates.has(`crm:${module}:${crmid}`) ? `(new, ${module} ${crmid})` : undefined
  }

  /** the stand-in crmid a dry run's plan shows for the record it would create from a HubSpot object */
  plannedCrmid(module: CrmModule, type: HubSpotObjectType, hubspotId: string): string | undefined {
    return this.dryRun && this.plannedCreates.has(`hs:${module}:${hubspotId}`) ? `(new, from HubSpot ${type} ${hubspotId})` : undefined
  }

  claim(type: HubSpotObjectType, id: string, owner: {module: CrmModule; crmid: number}): void {
    this.owners.set(`${type}:${id}`, owner)
  }

  release(type: HubSpotObjectType, id: string): void {
    this.owners.delete(`${type}:${id}`)
  }

  /** The record that owns a HubSpot object, from this pass's claims or the links table. */
  async ownerOf(type: HubSpotObjectType, ids: string[]): Promise<Map<string, {module: CrmModule; crmid: number}>> {
    return (await this.ownersAndLinks(type, ids)).owners
  }

  /** ownerOf, with the links it read for the ids this pass has not claimed (archived ones included). */
  async ownersAndLinks(type: HubSpotObjectType, ids: string[]): Promise<{owners: Map<string, {module: CrmModule; crmid: number}>; links: Map<string, Link>}> {
    const owners = new Map<string, {module: CrmModule; crmid: number}>()
    const unknown: string[] = []
    for (const id of ids) {
      const own = this.owners.get(`${type}:${id}`)
      if (own) owners.set(id, own)
      else unknown.push(id)
    }
    const links = unknown.length > 0 ? await this.engine.state.getLinksByHubSpotIds(type, unknown) : new Map<string, Link>()
    for (const [id, link] of links) if (!link.archived) owners.set(id, {module: link.module, crmid: link.crmid})
    return {owners, links}
  }

  /**
   * Settles a pair with this pass's policy and settings (settle.ts); `finish` completes what the
   * stream adds to a settlement (pull's stand-ins), and runs again when the pair is settled again.
   */
  settle(
    module: CrmModule,
    pair: {record: CrmRecord; object: HubSpotObject; link: Link | null},
    reference: ReferenceView | undefined,
    stream: 'push' | 'pull' | 'reconcile',
    finish?: (settlement: Settlement, record: CrmRecord) => void,
  ): Settlement {
    const {settings} = this.engine
    // reconcile has no origin: a tie of whole seconds goes to HubSpot, whose clock has the finer grain
    const origin = stream === 'push' ? 'crm' : 'hubspot'
    const writes = {hubspot: stream !== 'pull', crm: stream !== 'push'}
    const settlement = settlePair({mapper: this.engine.mappers[module], ...pair, reference: reference ?? null, policy: settings.conflictPolicy, timezone: settings.timezone, uniqueProperty: settings.uniqueProperty, origin, writes})
    finish?.(settlement, pair.record)
    this.settledWith.set(settlement, (record) => this.settle(module, {...pair, record}, reference, stream, finish))
    return settlement
  }

  /**
   * How a settlement a stream made outside `settle` (the activity streams') is made again with the
   * record as it is now, for the coreBOS writer's re-merge.
   */
  settlesAgainWith(settlement: Settlement, again: (record: CrmRecord) => Settlement | Promise<Settlement>): void {
    this.settledWith.set(settlement, again)
  }

  /** The pair of a settlement settled again, by the same stream and policy, with the record as it is now. */
  async settleAgain(settlement: Settlement, record: CrmRecord): Promise<Settlement | undefined> {
    return this.settledWith.get(settlement)?.(record)
  }

  nowIso(): string {
    return new Date(this.engine.clock.nowMs()).toISOString()
  }
}

// ---------------------------------------------------------------------------------------------
// apply targets
// ---------------------------------------------------------------------------------------------

/**
 * What a stream's work is applied to. Work, counts and ledger entries go under a key: a record
 * module is its own target; the activity streams set theirs (activities.ts), whose key may differ
 * from the module their links name (a pull's engagement type).
 */
export interface ApplyTarget {
  /** the module links are recorded under */
  linkModule: CrmModule
  type: HubSpotObjectType
  /** cuts the snapshots the link writer records */
  mapper: ModuleMapper
  /** whether the record carries hubspotid and the other control fields */
  controlFields: boolean
  /** the keys whose open ledger entries a synced or archived pair resolves, in both directions */
  ledgerKeys: CrmModule[]
  /** compare-and-set updates (RecordUpdate's `expected`): a record saved since it was read comes back stale */
  updateMany(updates: RecordUpdate[]): Promise<WriteResult[]>
  /** the records of stale updates as they are now, those no longer synced (gone, trashed, opted out) left out */
  readAgain(crmids: number[]): Promise<CrmRecord[]>
  create(creates: CreateInCrm[], control: (create: CreateInCrm) => ControlValues): Promise<WriteResult[]>
  /** HubSpot says the object is gone: what becomes of its coreBOS side (before the link is archived) */
  markDeleted(links: Link[]): Promise<void>
}

function recordTarget(engine: Engine, module: CrmModule): ApplyTarget {
  const {crm, settings} = engine
  return {
    linkModule: module,
    type: OBJECT_TYPE_OF_MODULE[module],
    mapper: engine.mappers[module],
    controlFields: true,
    ledgerKeys: [module],
    updateMany: (updates) => crm.updateMany(module, updates, settings.userId),
    readAgain: async (crmids) => (await crm.readByIds(module, crmids)).filter((r) => isEligible(r, settings.optIn[module])),
    create: (creates, control) => crm.create(module, creates.map((c) => ({fields: c.fields, control: control(c)})), settings.userId),
    // the coreBOS record stays, marked, and stops syncing
    async markDeleted(links) {
      const now = await crm.now()
      await crm.setControlMany(module, links.map((l) => ({crmid: l.crmid, values: {hubspotdeleted: '1', hubspotdeletedon: now, hubspotsyncwith: '0'}})))
    },
  }
}

// ---------------------------------------------------------------------------------------------
// work items
// ---------------------------------------------------------------------------------------------

/** A pair that exists on both sides (linked, or being adopted), settled field by field. */
export interface UpdateWork {
  kind: 'update'
  module: CrmModule
  record: CrmRecord
  object: HubSpotObject
  link: Link | null
  settlement: Settlement
  reason: string
}

/** A record HubSpot does not have yet: upserted on the unique crmid property. */
export interface CreateInHubSpot {
  kind: 'create-hubspot'
  module: CrmModule
  record: CrmRecord
  properties: Record<string, string>
  associate: Array<{type: HubSpotObjectType; id: string}>
  /** the reference's target is not in HubSpot yet */
  pending?: string
  /** Potentials: the other contacts associated at creation (crmids), for the snapshot */
  contactSet?: number[]
  reason: string
}

/** An object coreBOS does not have yet. */
export interface CreateInCrm {
  kind: 'create-crm'
  module: CrmModule
  object: HubSpotObject
  fields: Values
  associations: Record<string, string[]>
  /** Potentials: the deal's other linked contacts, related to the new potential (vtiger_contpotentialrel) */
  contacts?: number[]
  reason: string
}

export interface ArchiveWork {
  kind: 'archive'
  module: CrmModule
  link: Link
  reason: string
}

export interface MarkDeletedWork {
  kind: 'mark-deleted'
  module: CrmModule
  link: Link
  reason: string
}

export type Work = UpdateWork | CreateInHubSpot | CreateInCrm | ArchiveWork | MarkDeletedWork

export interface ApplyOutcome {
  /** creates HubSpot refused because the e-mail belongs to an unlinked object: adopt those next */
  adopt: Array<{record: CrmRecord; hubspotId: string}>
}

/** A synced pair as the link writer records it. */
interface Synced {
  module: CrmModule
  crmid: number
  hubspotId: string
  snapshot: Snapshot
  /** control fields beyond hubspotid, hubspotrecord and hubspotlastsync (the opt-in box of a record synced first) */
  control: ControlValues
  previous: Link | null
  /** only the snapshot changed: the control fields stay as they are */
  quiet?: boolean
  /** the object is new to this pass's links (HubSpot created it in this very call, or the pull found it unlinked): none is looked up */
  fresh?: boolean
}

function changesOf(values: Record<string, string | null>, old: Record<string, string | null | undefined>, side: 'hubspot' | 'crm'): PlanItem['changes'] {
  return Object.entries(values).map(([key, value]) => ({key, old: old[key] ?? null, new: value, side}))
}

type AssociationOp = {pair: AssociationPair; type: HubSpotObjectType; remove: boolean; module: CrmModule; crmid: number}

/**
 * A push page's associations, and the pairs and failures that wait on them: the batches of a page
 * hand theirs over, and `flush` sends them in one call per type (HubSpot takes 2,000 a call, one
 * batch brings 100 at most) before the link writer records those pairs. So no link claims an
 * association a kill left unsent (the page is read again), and only these small entries are held
 * until the page is done, not its records.
 */
export class HeldAssociations {
  private ops: AssociationOp[] = []
  private synced: Synced[] = []
  private failures: Failure[] = []

  hold(ops: AssociationOp[], synced: Synced[]): void {
    this.ops.push(...ops)
    this.synced.push(...synced)
  }

  /** a failure recorded after the link writer, which resolves the ledger entries of what it records */
  failAfter(failure: Failure): void {
    this.failures.push(failure)
  }

  async flush(ctx: PassContext, module: CrmModule): Promise<void> {
    const {ops, synced, failures} = this
    this.ops = []
    this.synced = []
    this.failures = []
    await applyAssociations(ctx, OBJECT_TYPE_OF_MODULE[module], ops)
    await recordSynced(ctx, module, ctx.targetOf(module), synced)
    for (const f of failures) await ctx.fail(f)
  }
}

/**
 * Applies one page of one module's work, in an order that lets a crash anywhere resume safely.
 * With `held` (push), the associations and the link writer wait for the page's flush.
 */
export async function applyWork(ctx: PassContext, module: CrmModule, work: Work[], target = ctx.targetOf(module), held?: HeldAssociations): Promise<ApplyOutcome> {
  const outcome: ApplyOutcome = {adopt: []}
  if (work.length === 0) return outcome
  const {engine} = ctx
  const {type} = target
  const counts = ctx.sink.counts(module)
  // what HubSpot would surely refuse fails now, the same in a dry run as in the real pass
  work = await withoutRefused(ctx, module, type, work)
  const of = <K extends Work['kind']>(kind: K) => work.filter((w): w is Extract<Work, {kind: K}> => w.kind === kind)

  if (ctx.dryRun) {
    for (const w of work) reportPlanned(ctx, w)
    return outcome
  }

  const synced: Synced[] = []
  const associations: AssociationOp[] = []

  const marks = of('mark-deleted')
  if (marks.length > 0) {
    await target.markDeleted(marks.map((m) => m.link))
    await engine.state.saveLinks(marks.map((m) => ({...m.link, archived: true, syncedAt: ctx.nowIso()})))
    counts.markedDeleted += marks.length
  }

  const archives = of('archive')
  if (archives.length > 0) {
    const {errors} = await engine.hubspot.archive(type, archives.map((a) => a.link.hubspotId))
    const failed = new Map(errors.map((e) => [e.key, e]))
    for (const a of archives) {
      const e = failed.get(a.link.hubspotId)
      if (e) await ctx.fail({module, crmid: a.link.crmid, hubspotId: a.link.hubspotId, category: e.category, message: e.message})
    }
    const done = archives.filter((a) => !failed.has(a.link.hubspotId))
    await engine.state.saveLinks(done.map((a) => ({...a.link, archived: true, syncedAt: ctx.nowIso()})))
    counts.archived += done.length
    await resolveLedger(ctx, target, done.map((a) => ({crmid: a.link.crmid, hubspotId: a.link.hubspotId})))
  }

  // pairs: coreBOS first (a record coreBOS refuses fails alone), then HubSpot
  const {updates, refused} = await writeCrm(ctx, module, target, of('update'))
  for (const u of updates) {
    const {relate} = u.settlement
    if (refused.has(u) || (relate.add.length === 0 && relate.remove.length === 0)) continue
    try {
      await engine.crm.relateContacts(u.record.crmid, relate)
    } catch (error) {
      refused.add(u)
      await ctx.fail({module, crmid: u.record.crmid, hubspotId: u.object.id, category: 'WRITE_FAILED', message: `related contacts: ${(error as Error).message}`})
    }
  }
  const hsWrites = updates.filter((u) => !refused.has(u) && Object.keys(u.settlement.hs).length > 0)
  const hsFailed = new Map<string, {category: string; message: string}>()
  const hsResults = new Map<string, Record<string, string | null>>()
  if (hsWrites.length > 0) {
    const {results, errors} = await engine.hubspot.update(type, hsWrites.map((u) => ({id: u.object.id, properties: u.settlement.hs})))
    for (const e of errors) hsFailed.set(e.key, e)
    for (const r of results) hsResults.set(r.key, r.properties)
  }
  const unchanged: Array<{crmid: number; hubspotId: string}> = []
  for (const u of updates) {
    if (refused.has(u)) continue
    const e = hsFailed.get(u.object.id)
    if (e) {
      await ctx.fail({module, crmid: u.record.crmid, hubspotId: u.object.id, category: e.category, message: e.message})
      continue
    }
    const next = {...u.settlement.next, hs: {...u.settlement.next.hs, ...defined(hsResults.get(u.object.id), Object.keys(u.settlement.hs))}}
    counts.conflicts += u.settlement.conflicts.length
    for (const c of u.settlement.conflicts) ctx.sink.conflict(module, u.record.crmid, u.object.id, c)
    const controlled = !target.controlFields || !controlFieldsBehind(u.record, u.object.id)
    if (!wroteSomething(u.settlement) && u.link && controlled && sameSnapshot(target.mapper, u.link, next)) {
      // in sync already: nothing to record but that a retry of it is over
      counts.skipped++
      unchanged.push({crmid: u.record.crmid, hubspotId: u.object.id})
      continue
    }
    const wrote = wroteSomething(u.settlement)
    // an adopted pair counts as linked, whatever its settlement wrote
    if (!u.link) counts.linked++
    else if (wrote) counts.updated++
    else counts.skipped++
    for (const a of u.settlement.associate) associations.push({pair: {fromId: u.object.id, toId: a.id}, type: a.type, remove: false, module, crmid: u.record.crmid})
    for (const a of u.settlement.dissociate) associations.push({pair: {fromId: u.object.id, toId: a.id}, type: a.type, remove: true, module, crmid: u.record.crmid})
    // nothing written, only the snapshot learns what both sides hold: no control field changes
    synced.push({module, crmid: u.record.crmid, hubspotId: u.object.id, snapshot: next, control: optInBox(u.record), previous: u.link, quiet: !wrote && u.link !== null && controlled})
  }

  // creates in HubSpot: upsert on the unique crmid property, so a rerun after a crash finds what it made
  const hsCreates = of('create-hubspot')
  if (hsCreates.length > 0) {
    const {results, errors} = await engine.hubspot.upsert(type, hsCreates.map((c) => ({key: String(c.record.crmid), properties: c.properties})))
    const byKey = new Map(hsCreates.map((c) => [String(c.record.crmid), c]))
    const returned = new Map<string, string>()
    for (const r of results) {
      const c = byKey.get(r.key)
      if (!c) continue
      // HubSpot answered one object for two records: neither may write into the other's
      const twice = returned.get(r.id)
      if (twice) {
        await ctx.fail({module, crmid: c.record.crmid, hubspotId: r.id, category: 'SHARED_IDENTITY', waitForChange: true,
          message: `${module} ${c.record.crmid} and ${module} ${twice} resolved to one HubSpot ${type} ${r.id}; it stays with ${module} ${twice}`})
        continue
      }
      returned.set(r.id, r.key)
      if (r.isNew) counts.created++
      else counts.linked++
      for (const a of c.associate) associations.push({pair: {fromId: r.id, toId: a.id}, type: a.type, remove: false, module, crmid: c.record.crmid})
      const associated: Record<string, string[]> = {}
      for (const a of c.associate) (associated[a.type] ??= []).push(a.id)
      const {mapper} = target
      synced.push({
        module,
        crmid: c.record.crmid,
        hubspotId: r.id,
        snapshot: createdSnapshot(mapper, withContactSet(c.record.fields, c.contactSet), {...c.properties, ...defined(r.properties, Object.keys(c.properties))}, associated),
        control: optInBox(c.record),
        previous: null,
        fresh: r.isNew,
      })
    }
    for (const e of errors) {
      const c = byKey.get(e.key)
      if (!c) continue
      if (e.category === 'CONFLICT' && e.existingId && type === 'contacts') outcome.adopt.push({record: c.record, hubspotId: e.existingId})
      else await ctx.fail({module, crmid: c.record.crmid, hubspotId: null, category: e.category, message: e.message})
    }
  }

  // creates in coreBOS, recorded with hubspotcreated = 1; then HubSpot learns the new crmid
  const crmCreates = of('create-crm')
  if (crmCreates.length > 0) {
    const now = target.controlFields ? await engine.crm.now() : ''
    const results = await target.create(crmCreates, (c) => ({hubspotid: c.object.id, hubspotcreated: '1', hubspotsyncwith: '1', hubspotrecord: hubspotRecordUrl(engine.settings.portalId, type, c.object.id), hubspotlastsync: now}))
    const created: Array<{work: CreateInCrm; crmid: number}> = []
    for (const [i, result] of results.entries()) {
      const c = crmCreates[i]
      if (!result.ok) {
        await ctx.fail({module, crmid: null, hubspotId: c.object.id, category: 'WRITE_FAILED', message: `HubSpot ${type} ${c.object.id}: ${result.error ?? 'not written'}`})
        continue
      }
      counts.created++
      created.push({work: c, crmid: result.crmid})
      if (c.contacts && c.contacts.length > 0) await engine.crm.relateContacts(result.crmid, {add: c.contacts, remove: []})
    }
    const unique = engine.settings.uniqueProperty
    const writeBack = created.filter((c) => c.work.object.properties[unique] !== String(c.crmid))
    // a stream that queues the write-backs (carrier-queue.ts): the snapshot claims them as sent, as
    // the pass after would otherwise re-save every link it made for that one value; one that never
    // lands is written again by the next settlement of the pair, which checks the unique property
    // against the crmid whatever the snapshot says (settle.ts)
    const queued = ctx.queuesCarrierWrites
    if (queued && writeBack.length > 0) await engine.state.queueCarrierWrites(type, writeBack.map((c) => c.work.object.id))
    const {errors} = writeBack.length > 0 && !queued ? await engine.hubspot.update(type, writeBack.map((c) => ({id: c.work.object.id, properties: {[unique]: String(c.crmid)}}))) : {errors: []}
    const notWritten = new Set(errors.map((e) => e.key))
    for (const c of created) {
      const hs = {...c.work.object.properties}
      if (!notWritten.has(c.work.object.id)) hs[unique] = String(c.crmid)
      // the resolution found no link to the object, and the insert wrote the control fields: neither is done again
      synced.push({module, crmid: c.crmid, hubspotId: c.work.object.id, snapshot: createdSnapshot(target.mapper, withContactSet(c.work.fields, c.work.contacts), hs, c.work.associations), control: {}, previous: null, fresh: true, quiet: true})
    }
  }

  if (held) held.hold(associations, synced)
  else {
    await applyAssociations(ctx, type, associations)
    await recordSynced(ctx, module, target, synced)
  }
  await resolveLedger(ctx, target, unchanged)
  return outcome
}

/** How many times a record saved in coreBOS while its write was on the way is read and merged again. */
const MAX_REMERGES = 3

/**
 * The coreBOS writer. Every update is compare-and-set on the modifiedtime its record was read with:
 * a record a user saved since is read again and settled again (the conflict policy decides, and the
 * conflicts are the new settlement's), then written against its new modifiedtime. Returns the updates
 * as they stand after that, and those that were not written.
 */
async function writeCrm(ctx: PassContext, module: CrmModule, target: ApplyTarget, initial: UpdateWork[]): Promise<{updates: UpdateWork[]; refused: Set<UpdateWork>}> {
  const updates = [...initial]
  const refused = new Set<UpdateWork>()
  const dropped = new Set<UpdateWork>()
  let pending = updates.map((u, i) => ({u, i})).filter(({u}) => Object.keys(u.settlement.crm).length > 0)
  for (let round = 0; pending.length > 0; round++) {
    const results = await target.updateMany(pending.map(({u}) => ({crmid: u.record.crmid, fields: u.settlement.crm, expected: {modifiedtime: u.record.modifiedtime, fields: asRead(u.record, u.settlement.crm)}})))
    const stale: typeof pending = []
    for (const [k, result] of results.entries()) {
      if (result.ok) continue
      const {u} = pending[k]
      if (result.stale && round < MAX_REMERGES) {
        stale.push(pending[k])
        continue
      }
      refused.add(u)
      const category = result.stale ? 'CHANGED_SINCE_READ' : 'WRITE_FAILED'
      const message = result.stale ? `${result.error ?? `${module} ${u.record.crmid} changed since it was read`}; saved again and again while cbhs wrote it, retried next pass` : (result.error ?? 'not written')
      await ctx.fail({module, crmid: u.record.crmid, hubspotId: u.object.id, category, message})
    }
    if (stale.length === 0) break
    const fresh = new Map((await target.readAgain(stale.map(({u}) => u.record.crmid))).map((r) => [r.crmid, r]))
    pending = []
    for (const {u, i} of stale) {
      const record = fresh.get(u.record.crmid)
      // gone or no longer in sync since: nothing of this pair is written now; its stream meets it again
      if (!record) {
        dropped.add(u)
        ctx.sink.counts(module).skipped++
        continue
      }
      const settlement = await ctx.settleAgain(u.settlement, record)
      if (!settlement) throw new Error(`${module} ${u.record.crmid}: a settlement the pass context did not make`)
      if (settlement.errors.length > 0) {
        refused.add(u)
        await ctx.fail({module, crmid: record.crmid, hubspotId: u.object.id, category: 'INVALID_VALUE', message: `${module} ${record.crmid} / HubSpot ${u.object.id}: ${settlement.errors.join('; ')}`})
        continue
      }
      const again: UpdateWork = {...u, record, settlement}
      updates[i] = again
      if (Object.keys(settlement.crm).length > 0) pending.push({u: again, i})
    }
  }
  return {updates: updates.filter((u) => !dropped.has(u)), refused}
}

/** The record's values, as read, of the fields a write is about to change. */
function asRead(record: CrmRecord, write: Values): Record<string, string | null> {
  const out: Record<string, string | null> = {}
  for (const field of Object.keys(write)) out[field] = record.fields[field] ?? null
  return out
}

/**
 * Whether a pair's snapshot already says what it would say now. coreBOS values compare the way the
 * streams compare them (the mapper's rule): an empty number or reference that coreBOS stores as 0
 * is the value cbhs wrote, not a new one to record; in HubSpot an empty string is no value, and no
 * association list is an empty one.
 */
function sameSnapshot(mapper: Pick<ModuleMapper, 'sameCrmValue'>, link: Link, next: Snapshot): boolean {
  const canon = (v: unknown) => JSON.stringify(Array.isArray(v) ? [...v].sort() : (v ?? null))
  const same = (a: Record<string, unknown>, b: Record<string, unknown>, equal: (k: string, x: unknown, y: unknown) => boolean) => {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)])
    for (const k of keys) if (!equal(k, a[k], b[k])) return false
    return true
  }
  const crmValue = (k: string, x: unknown, y: unknown) => mapper.sameCrmValue(k, x as string | null, y as string | null)
  const hsValue = (_k: string, x: unknown, y: unknown) => canon(x === '' ? null : x) === canon(y === '' ? null : y)
  const associated = (_k: string, x: unknown, y: unknown) => canon(x ?? []) === canon(y ?? [])
  return same(link.snapshot.crm, next.crm, crmValue) && same(link.snapshot.hs, next.hs, hsValue) && same(link.associations, next.associations, associated)
}

/**
 * A record whose control fields lag behind its link: the link was saved, and the pass stopped
 * before it wrote hubspotid and the rest into the record. Whoever meets one writes them again.
 */
export function controlFieldsBehind(record: CrmRecord, hubspotId: string): boolean {
  return (record.fields.hubspotid ?? '') !== hubspotId
}

function wroteSomething(s: Settlement): boolean {
  return Object.keys(s.crm).length > 0 || Object.keys(s.hs).length > 0 || s.associate.length > 0 || s.dissociate.length > 0 || s.relate.add.length > 0 || s.relate.remove.length > 0
}

/** The fields of a record just created on one side, with the contact set it was created with (Potentials). */
function withContactSet(fields: Values, contacts: number[] | undefined): Values {
  return contacts === undefined ? fields : {...fields, [CONTACT_SET_KEY]: contactSetValue(contacts)}
}

/** A record synced for the first time under default-on gets its box ticked, so coreBOS shows it syncing. */
function optInBox(record: CrmRecord): ControlValues {
  const box = record.fields.hubspotsyncwith
  return box === null || box === undefined || box === '' ? {hubspotsyncwith: '1'} : {}
}

function defined(values: Record<string, string | null> | undefined, keys: string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const key of keys) {
    const value = values?.[key]
    if (value !== undefined && value !== null) out[key] = value
  }
  return out
}

/** The work HubSpot would take; each item it would refuse (validate.ts) fails, before any call. */
async function withoutRefused(ctx: PassContext, module: CrmModule, type: HubSpotObjectType, work: Work[]): Promise<Work[]> {
  const keep: Work[] = []
  for (const w of work) {
    const write =
      w.kind === 'create-hubspot' ? {crmid: w.record.crmid, hubspotId: null, properties: w.properties, creating: true}
      : w.kind === 'update' ? {crmid: w.record.crmid, hubspotId: w.object.id, properties: w.settlement.hs, creating: false}
      : null
    const rejections = write ? hubspotRejections(type, write.properties, write) : []
    if (!write || rejections.length === 0) {
      keep.push(w)
      continue
    }
    await ctx.fail({module, crmid: write.crmid, hubspotId: write.hubspotId, category: rejections[0].category, message: rejections.map((r) => r.message).join('; ')})
  }
  return keep
}

function reportPlanned(ctx: PassContext, w: Work): void {
  const counts = ctx.sink.counts(w.module)
  switch (w.kind) {
    case 'update': {
      const s = w.settlement
      counts.conflicts += s.conflicts.length
      for (const c of s.conflicts) ctx.sink.conflict(w.module, w.record.crmid, w.object.id, c)
      if (!wroteSomething(s)) {
        if (!w.link) {
          counts.linked++
          ctx.sink.plan({module: w.module, crmid: w.record.crmid, hubspotId: w.object.id, action: 'link', reason: w.reason, changes: []})
        } else counts.skipped++
        return
      }
      if (w.link) counts.updated++
      else counts.linked++
      const changes = [...changesOf(s.hs, w.object.properties, 'hubspot'), ...changesOf(s.crm, w.record.fields, 'crm')]
      for (const a of s.associate) changes.push({key: `association:${a.type}`, old: null, new: a.id, side: 'hubspot'})
      for (const a of s.dissociate) changes.push({key: `association:${a.type}`, old: a.id, new: null, side: 'hubspot'})
      for (const c of s.relate.add) changes.push({key: CONTACT_SET_KEY, old: null, new: String(c), side: 'crm'})
      for (const c of s.relate.remove) changes.push({key: CONTACT_SET_KEY, old: String(c), new: null, side: 'crm'})
      ctx.sink.plan({module: w.module, crmid: w.record.crmid, hubspotId: w.object.id, action: w.link ? 'update' : 'link', reason: w.reason, changes})
      return
    }
    case 'create-hubspot':
      counts.created++
      ctx.planCreate({module: w.module, crmid: w.record.crmid})
      ctx.sink.plan({module: w.module, crmid: w.record.crmid, hubspotId: null, action: 'create', reason: w.reason, changes: changesOf(w.properties, {}, 'hubspot')})
      return
    case 'create-crm':
      counts.created++
      ctx.planCreate({module: w.module, hubspotId: w.object.id})
      ctx.sink.plan({module: w.module, crmid: null, hubspotId: w.object.id, action: 'create', reason: w.reason, changes: changesOf(w.fields, {}, 'crm')})
      return
    case 'archive':
      counts.archived++
      ctx.sink.plan({module: w.module, crmid: w.link.crmid, hubspotId: w.link.hubspotId, action: 'archive', reason: w.reason, changes: []})
      return
    case 'mark-deleted':
      counts.markedDeleted++
      ctx.sink.plan({module: w.module, crmid: w.link.crmid, hubspotId: w.link.hubspotId, action: 'mark-deleted', reason: w.reason, changes: []})
  }
}

async function applyAssociations(
  ctx: PassContext,
  from: HubSpotObjectType,
  ops: AssociationOp[],
): Promise<void> {
  for (const remove of [false, true]) {
    for (const to of ['companies', 'contacts', 'deals'] as HubSpotObjectType[]) {
      const list = ops.filter((o) => o.remove === remove && o.type === to)
      if (list.length === 0) continue
      const call = remove ? ctx.engine.hubspot.removeAssociations(from, to, list.map((o) => o.pair)) : ctx.engine.hubspot.createAssociations(from, to, list.map((o) => o.pair))
      const {errors} = await call
      const failed = new Set(errors.map((e) => e.key))
      for (const e of errors) ctx.sink.warn(`association ${from}→${to} ${e.key}: ${e.message}`)
      for (const o of list) {
        if (failed.has(o.pair.fromId) || failed.has(`${o.pair.fromId}-${o.pair.toId}`)) continue
        const counts = ctx.sink.counts(o.module)
        if (remove) counts.associationsRemoved++
        else counts.associationsCreated++
      }
    }
  }
}

/**
 * The link writer: the one place a pair becomes "synced". A HubSpot object already owned by another
 * record is refused before anything is recorded, so no record gets the id of an object it does not own.
 */
async function recordSynced(ctx: PassContext, module: CrmModule, target: ApplyTarget, synced: Synced[]): Promise<void> {
  if (synced.length === 0) return
  const {engine} = ctx
  const {type, linkModule} = target
  // one read of the links serves both: who owns each object, and which retired link still holds one
  const {owners, links: held} = await ctx.ownersAndLinks(type, synced.filter((s) => !s.fresh).map((s) => s.hubspotId))
  // a retired link (converted Lead, trashed record) gives its object up to the record that takes it now
  if (!ctx.dryRun) {
    for (const s of synced) {
      const old = held.get(s.hubspotId)
      if (old?.archived && !owners.has(s.hubspotId) && !(old.module === linkModule && old.crmid === s.crmid)) await engine.state.deleteLink(old.module, old.crmid)
    }
  }
  const accepted: Synced[] = []
  for (const s of synced) {
    const owner = owners.get(s.hubspotId)
    if (owner && !(owner.module === linkModule && owner.crmid === s.crmid) && s.previous?.hubspotId !== s.hubspotId) {
      await ctx.fail({module, crmid: s.crmid, hubspotId: s.hubspotId, category: 'SHARED_IDENTITY', waitForChange: true,
        message: `${module} ${s.crmid} resolved to HubSpot ${type} ${s.hubspotId}, which belongs to ${owner.module} ${owner.crmid}`})
      continue
    }
    ctx.claim(type, s.hubspotId, {module: linkModule, crmid: s.crmid})
    accepted.push(s)
  }
  const syncedAt = ctx.nowIso()
  const links: Link[] = accepted.map((s) => ({module: linkModule, crmid: s.crmid, objectType: type, hubspotId: s.hubspotId, snapshot: {crm: s.snapshot.crm, hs: s.snapshot.hs}, associations: s.snapshot.associations, archived: false, syncedAt}))
  const saved = await saveLinksOrFail(engine, links, (link, message) =>
    ctx.fail({module, crmid: link.crmid, hubspotId: link.hubspotId, category: 'SHARED_IDENTITY', waitForChange: true, message}),
  )
  const ok = accepted.filter((s) => saved.has(s.crmid))
  // a saved link answers who owns its object from now on: the claim would only grow with the pass
  // (a million-record back-fill held a million of them)
  for (const s of ok) ctx.release(type, s.hubspotId)
  const control = target.controlFields ? ok.filter((s) => !s.quiet) : []
  if (control.length > 0) {
    const now = await engine.crm.now()
    await engine.crm.setControlMany(
      module,
      control.map((s) => ({crmid: s.crmid, values: {hubspotid: s.hubspotId, hubspotrecord: hubspotRecordUrl(engine.settings.portalId, type, s.hubspotId), hubspotlastsync: now, ...s.control}})),
    )
  }
  await resolveLedger(ctx, target, ok.map((s) => ({crmid: s.crmid, hubspotId: s.hubspotId})))
}

async function resolveLedger(ctx: PassContext, target: ApplyTarget, keys: Array<{crmid: number; hubspotId: string}>): Promise<void> {
  for (const key of target.ledgerKeys) await ctx.resolveFailures(key, keys.flatMap((k) => [{crmid: k.crmid}, {hubspotId: k.hubspotId}]))
}


/**
 * Saves links in one go; if one would give a HubSpot object to a second record, they are saved one
 * by one and only the offending ones fail. Returns the crmids saved.
 */
export async function saveLinksOrFail(engine: Engine, links: Link[], onConflict: (link: Link, message: string) => Promise<void>): Promise<Set<number>> {
  const saved = new Set<number>()
  if (links.length === 0) return saved
  const isConflict = (error: unknown) => (error as {code?: string}).code === 'LINK_CONFLICT'
  try {
    await engine.state.saveLinks(links)
    for (const l of links) saved.add(l.crmid)
  } catch (error) {
    if (!isConflict(error)) throw error
    for (const link of links) {
      try {
        await engine.state.saveLinks([link])
        saved.add(link.crmid)
      } catch (single) {
        if (!isConflict(single)) throw single
        await onConflict(link, (single as Error).message)
      }
    }
  }
  return saved
}

// ---------------------------------------------------------------------------------------------
// references: what a contact's company or a deal's contact/company is on the other side
// ---------------------------------------------------------------------------------------------

/** The types a module's reference may point at, in the order a pull prefers them. */
export function referenceTypes(engine: Engine, module: CrmModule): HubSpotObjectType[] {
  if (module === 'Contacts') return ['companies']
  if (module === 'Potentials') return engine.settings.relateDealWith === 'Accounts' ? ['companies', 'contacts'] : ['contacts', 'companies']
  return []
}

const MODULE_OF_TYPE: Partial<Record<HubSpotObjectType, CrmModule>> = {companies: 'Accounts', contacts: 'Contacts'}

/**
 * Reads, for a page of one module, the associations of its objects and the links on both ends of
 * every reference, and returns each object's view. Objects not listed get no view (not compared).
 */
export interface References {
  /** the view of one object's reference; undefined when its associations were not read */
  view(hubspotId: string): ReferenceView | undefined
  target: ReferenceView['target']
  /**
   * the coreBOS crmid HubSpot's associations of an object name, by the module's type preference;
   * in a dry run, the stand-in of a record the pass would create first
   */
  preferred(hubspotId: string): number | string | undefined
}

/** The crmids a page of records refers to through the module's reference field, and a potential's other contacts. */
export function referencedBy(module: CrmModule, records: CrmRecord[]): number[] {
  const field = REFERENCE_FIELD[module]
  return field ? records.flatMap((r) => [Number(r.fields[field] ?? 0) || 0, ...(r.relatedContacts ?? [])]) : []
}

/** A potential's contacts beside the one related_to holds. */
function otherContacts(module: CrmModule, record: CrmRecord): number[] {
  const relatedTo = Number(record.fields[REFERENCE_FIELD[module] ?? ''] ?? 0) || 0
  return (record.relatedContacts ?? []).filter((c) => c !== relatedTo)
}

/** Whether a potential's other contacts differ from the set its link last synced (then its associations are read). */
export function contactSetChanged(module: CrmModule, record: CrmRecord, link: Link | null): boolean {
  if (!CONTACT_SET_MODULES.has(module)) return false
  return !link || contactSetValue(otherContacts(module, record)) !== (link.snapshot.crm[CONTACT_SET_KEY] ?? '')
}

/** What a record created in HubSpot is associated with beyond its reference: a potential's other contacts. */
export function contactSetOnCreate(module: CrmModule, record: CrmRecord, refs: References, warn: (message: string) => void): {associate: Array<{type: HubSpotObjectType; id: string}>; contactSet?: number[]; pending?: string} {
  if (!CONTACT_SET_MODULES.has(module)) return {associate: []}
  const associate: Array<{type: HubSpotObjectType; id: string}> = []
  const contactSet: number[] = []
  let pending: string | undefined
  for (const crmid of otherContacts(module, record)) {
    const target = refs.target(crmid)
    if ('pending' in target) pending ??= `${module} ${record.crmid} relates Contact ${crmid}, which is not in HubSpot yet; retried next pass`
    else if ('none' in target) warn(`${module} ${record.crmid}: related contact ${crmid} ${target.none}: no association made`)
    else {
      associate.push(target)
      contactSet.push(crmid)
    }
  }
  return {associate, contactSet, pending}
}

/** A deal new to coreBOS: its linked contacts beside the one that becomes related_to. */
export function contactSetOfNewDeal(module: CrmModule, view: ReferenceView | undefined, relatedTo: number | undefined): number[] | undefined {
  if (!CONTACT_SET_MODULES.has(module) || !view) return undefined
  const out: number[] = []
  for (const id of view.current.contacts ?? []) {
    const crmid = view.crmOf('contacts', id)
    if (crmid !== undefined && crmid !== relatedTo) out.push(crmid)
  }
  return out
}

/** How loadReferences reads the links of referenced records; a push page passes one that read them for the whole page. */
export type LinkReader = (module: CrmModule, crmids: number[]) => Promise<Map<number, Link>>

/**
 * `inline`: objects whose list page brought their associations along; only the others (and types
 * not brought) are read from the associations API. `linksOf`: the referenced records' links, when
 * the caller read them for more than this batch.
 */
export async function loadReferences(
  ctx: PassContext,
  module: CrmModule,
  objectIds: string[],
  referenced: number[],
  {inline = [], linksOf}: {inline?: HubSpotObject[]; linksOf?: LinkReader} = {},
): Promise<References> {
  const views = new Map<string, ReferenceView>()
  const field = REFERENCE_FIELD[module]
  if (!field) return {view: () => undefined, target: () => ({none: 'is no reference'}), preferred: () => undefined}
  const {engine} = ctx
  const type = OBJECT_TYPE_OF_MODULE[module]
  const types = referenceTypes(engine, module)
  const associations = new Map<HubSpotObjectType, Map<string, string[]>>()
  const crmOf = new Map<string, number>()
  for (const to of types) {
    const found = new Map<string, string[]>()
    for (const o of inline) if (o.associations?.[to]) found.set(o.id, o.associations[to]!)
    const unread = objectIds.filter((id) => !found.has(id))
    if (unread.length > 0) for (const [id, ids] of await engine.hubspot.readAssociations(type, to, unread)) found.set(id, ids)
    associations.set(to, found)
    const targets = [...new Set([...found.values()].flat())]
    if (targets.length === 0) continue
    for (const [id, link] of await engine.state.getLinksByHubSpotIds(to, targets)) {
      // a contact's association with another contact, or one to a Lead, is no reference coreBOS can hold
      if (!link.archived && link.module === MODULE_OF_TYPE[to]) crmOf.set(`${to}:${id}`, link.crmid)
    }
  }
  const refs = [...new Set(referenced.filter((n) => n > 0))]
  const targets = new Map<number, {type: HubSpotObjectType; id: string} | {pending: true} | {none: string}>()
  if (refs.length > 0) {
    for (const to of types) {
      const m = MODULE_OF_TYPE[to]!
      const links = await (linksOf ? linksOf(m, refs) : engine.state.getLinksByCrmids(m, refs))
      for (const [crmid, link] of links) {
        if (targets.has(crmid) && 'id' in targets.get(crmid)!) continue
        targets.set(crmid, link.archived ? {none: `is archived in HubSpot (${m} ${crmid})`} : {type: to, id: link.hubspotId})
      }
    }
    // a reference to a record that will never reach HubSpot is no reason to retry forever
    const unlinked = refs.filter((r) => !targets.has(r))
    for (const to of types) {
      if (unlinked.length === 0) break
      const m = MODULE_OF_TYPE[to]!
      for (const r of await engine.crm.readByIds(m, unlinked)) {
        const e = eligibility(r, engine.settings.optIn[m])
        // a dry run did not create the target it planned earlier in the pass: the real pass would have
        const planned = ctx.plannedId(m, r.crmid)
        targets.set(r.crmid, planned ? {type: to, id: planned} : e.eligible ? {pending: true} : {none: `(${m}) is ${e.why}`})
      }
    }
  }
  const target: ReferenceView['target'] = (crmid) => targets.get(crmid) ?? {none: 'is not a record cbhs syncs'}
  for (const id of objectIds) {
    const current: Record<string, string[]> = {}
    for (const to of types) current[to] = associations.get(to)?.get(id) ?? []
    views.set(id, {field, types, current, target, crmOf: (to, hubspotId) => crmOf.get(`${to}:${hubspotId}`)})
  }
  return {
    view: (id) => views.get(id),
    target,
    preferred(id) {
      for (const to of types) {
        for (const other of associations.get(to)?.get(id) ?? []) {
          const crmid = crmOf.get(`${to}:${other}`) ?? ctx.plannedCrmid(MODULE_OF_TYPE[to]!, to, other)
          if (crmid !== undefined) return crmid
        }
      }
      return undefined
    },
  }
}

