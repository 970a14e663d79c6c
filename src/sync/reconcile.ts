/**
 * Reconcile: a diff of both sides (the go-live check) and, with apply, the repair of what
 * incremental passes cannot see (associations changed without a modified date, cascades, purges,
 * drift after an outage).
 *
 * One object type at a time (companies, contacts, deals, so references find their targets linked):
 *
 *   1. stream every coreBOS record of the type's modules into a compact index: crmid, flags,
 *      the match key (e-mail, domain, name), the crm reference, the link's HubSpot id and a hash
 *      of the record's values mapped to HubSpot — never the record itself
 *   2. stream every HubSpot object (list endpoint) and classify it against the index; a pair whose
 *      hashes differ (or that needs an association check) is compared in batches, re-reading only
 *      those coreBOS records
 *   3. what the stream did not see: links to gone objects, records only in coreBOS, duplicates
 *   4. with apply: repair the items of this type (links, merged values, creates, associations)
 *
 * Memory is the index (≈ 200 bytes a record) plus the items kept for --details or apply.
 */
import {createHash} from 'node:crypto'
import {callsSince, emptyCounts, hubspotRecordUrl, type Engine, type ModuleCounts, type ModuleMapper} from './engine.js'
import {isEligible} from './eligibility.js'
import {applyWork, controlFieldsBehind, loadReferences, PassContext, referencedBy, type Sink, type UpdateWork, type Work} from './pipeline.js'
import {foldingWarnings} from './warnings.js'
import type {ReferenceView} from './settle.js'
import {modifiedMs} from './settle.js'
import {createInHubSpot, hsPropertiesOf, landingModule, legacyHubSpotId, pullObjects} from './streams.js'
import type {Link, Reporter} from './ports.js'
import {recordTimeMs} from './time.js'
import {MODIFIED_PROPERTY, REFERENCE_FIELD, type ConflictPolicy, type CrmModule, type Direction, type CrmRecord, type HubSpotObject, type HubSpotObjectType} from './types.js'

export const RECONCILE_ORDER: HubSpotObjectType[] = ['companies', 'contacts', 'deals']
export const TYPE_MODULES: Record<HubSpotObjectType, CrmModule[]> = {
  companies: ['Accounts'],
  contacts: ['Contacts', 'Leads'],
  deals: ['Potentials'],
}

export const RECONCILE_CLASSES = [
  'inSync',
  'different',
  'match',
  'ambiguous',
  'onlyCrm',
  'onlyHubSpot',
  'brokenLink',
  'associationDrift',
  'duplicate',
] as const
export type ReconcileClass = (typeof RECONCILE_CLASSES)[number]

/** Per module: one count per class, plus records outside sync (not opted in, opted out, marked deleted). */
export type ReconcileCounts = Record<ReconcileClass, number> & {notOptedIn: number; excluded: number}

export interface ApplyCounts {
  linked: number
  updatedCrm: number
  updatedHubSpot: number
  createdCrm: number
  createdHubSpot: number
  archivedHubSpot: number
  markedDeleted: number
  relinked: number
  linksRetired: number
  associationsRepaired: number
  failed: number
}

export interface FieldDiff {
  /** the HubSpot property (values compared in HubSpot's form) */
  key: string
  crm: string | null
  hubspot: string | null
  /** the value at the last sync; absent for unlinked matches */
  base?: string | null
  changed: 'crm' | 'hubspot' | 'both' | 'unknown'
  winner: 'crm' | 'hubspot'
}

export interface AssociationDiff {
  /** HubSpot id the coreBOS reference stands for (null: no reference) */
  crm: string | null
  /** what HubSpot has, as type:id */
  hubspot: string[]
  /** as last synced; null when never synced */
  base: string[] | null
  changed: 'crm' | 'hubspot' | 'both' | 'unknown'
  winner: 'crm' | 'hubspot'
}

export interface ReconcileItem {
  class: ReconcileClass
  module: CrmModule
  crmid: number | null
  hubspotId: string | null
  reason: string
  /** what apply does (or did) about it */
  action: 'link' | 'update' | 'create-hubspot' | 'create-crm' | 'mark-deleted' | 'archive-hubspot' | 'relink' | 'retire-link' | 'repair-associations' | 'none'
  changes?: FieldDiff[]
  association?: AssociationDiff
  /** the other records involved (duplicates, ambiguous matches) */
  candidates?: {crmids?: number[]; hubspotIds?: string[]}
  /** merge survivor for relinks */
  target?: string
}

export interface ReconcileOptions {
  modules: CrmModule[]
  apply: boolean
  /** keep the per-record items in the report (--details, --json, --output) */
  details: boolean
}

export interface ReconcileReport {
  apply: boolean
  policy: ConflictPolicy
  modules: Partial<Record<CrmModule, ReconcileCounts>>
  applied: Partial<Record<CrmModule, ApplyCounts>>
  items: ReconcileItem[]
  failures: Array<{module: CrmModule; crmid: number | null; hubspotId: string | null; category: string; message: string}>
  warnings: string[]
  read: {crm: number; hubspot: number}
  apiCalls: Record<string, number>
}

export function emptyReconcileCounts(): ReconcileCounts {
  const out = {notOptedIn: 0, excluded: 0} as ReconcileCounts
  for (const c of RECONCILE_CLASSES) out[c] = 0
  return out
}

export function emptyApplyCounts(): ApplyCounts {
  return {
    linked: 0,
    updatedCrm: 0,
    updatedHubSpot: 0,
    createdCrm: 0,
    createdHubSpot: 0,
    archivedHubSpot: 0,
    markedDeleted: 0,
    relinked: 0,
    linksRetired: 0,
    associationsRepaired: 0,
    failed: 0,
  }
}

export function newReconcileReport(options: ReconcileOptions, policy: ConflictPolicy): ReconcileReport {
  return {apply: options.apply, policy, modules: {}, applied: {}, items: [], failures: [], warnings: [], read: {crm: 0, hubspot: 0}, apiCalls: {}}
}

// ---------------------------------------------------------------------------------------------
// the compact index
// ---------------------------------------------------------------------------------------------

const DELETED = 1
const CONVERTED = 2
/** eligible by the one rule (eligibility.ts); the other flags are the record's raw facts */
const OPTED_IN = 4
const OPTED_OUT = 8
const HS_DELETED = 16
const LINK_ARCHIVED = 32
const MAP_ERROR = 64
/** a candidate of an ambiguous match: a person decides, so it is neither linked nor created */
const AMBIGUOUS = 128
/** linked, but the record's control fields lag behind the link (pipeline.ts controlFieldsBehind) */
const CONTROL_BEHIND = 256

interface Entry {
  module: CrmModule
  crmid: number
  flags: number
  /** e-mail (contacts, leads) or domain (accounts), normalised */
  key: string | null
  /** accounts: the normalised name */
  name: string | null
  /** hash of the values mapped to HubSpot */
  hash: string
  /** account_id / related_to crmid, 0 when none */
  ref: number
  /** HubSpot id of the live link */
  linkedTo: string | null
  /** the legacy hubspotid control field, when there is no link */
  legacyId: string | null
  /** the linked object was seen in HubSpot's list */
  seen: boolean
  /** unlinked HubSpot objects that matched this record */
  claims: number
  /** modifiedtime as epoch ms, for the 'newest' policy */
  mt: number
}

const PAIR_BATCH = 200
const APPLY_BATCH = 100
/** a contact's reference, and the types a deal's reference may point to */

interface TypeContext {
  engine: Engine
  /** the pipeline's context: reference views for the diff, then the repairs */
  pass: PassContext
  /** the same for the repairs that write coreBOS from HubSpot: their failures are the pull's */
  pullPass: PassContext
  /** pairs the repairs failed (module:crmid), for the apply counts */
  failed: Set<string>
  type: HubSpotObjectType
  modules: CrmModule[]
  options: ReconcileOptions
  report: ReconcileReport
  /** property types, for the hash's normalisation */
  propTypes: Map<string, string>
  entries: Map<CrmModule, Map<number, Entry>>
  byKey: Map<string, Entry[]>
  byName: Map<string, Entry[]>
  byLegacy: Map<string, Entry>
  byLink: Map<string, Entry>
  /** items this type's apply step works through */
  work: ReconcileItem[]
  /** class given to each unlinked HubSpot object, so a merge found later can take it back */
  unlinkedClass: Map<string, {module: CrmModule; cls: ReconcileClass}>
  /** crmids whose broken link was reported during the stream */
  brokenSeen: Set<string>
}

function counts(report: ReconcileReport, module: CrmModule): ReconcileCounts {
  return (report.modules[module] ??= emptyReconcileCounts())
}

export function applied(report: ReconcileReport, module: CrmModule): ApplyCounts {
  return (report.applied[module] ??= emptyApplyCounts())
}

function selected(ctx: TypeContext, module: CrmModule): boolean {
  return ctx.options.modules.includes(module)
}

/** Counts an item and keeps it when it is reported in detail or applied. */
function classify(ctx: TypeContext, item: ReconcileItem): void {
  if (!selected(ctx, item.module)) return
  counts(ctx.report, item.module)[item.class]++
  if (item.class === 'inSync') return
  if (ctx.options.apply && item.action !== 'none') ctx.work.push(item)
  if (ctx.options.details) ctx.report.items.push(item)
}

export function normalizeEmail(value: string | null | undefined): string | null {
  const v = (value ?? '').trim().toLowerCase()
  return v.includes('@') ? v : null
}

export function normalizeDomain(value: string | null | undefined): string | null {
  let v = (value ?? '').trim().toLowerCase()
  if (!v) return null
  v = v.replace(/^[a-z]+:\/\//, '').replace(/^www\./, '')
  v = v.split(/[/?#:]/)[0]
  return v.includes('.') ? v : null
}

export function normalizeName(value: string | null | undefined): string | null {
  const v = (value ?? '')
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z0-9]+/g, ' ')
    .trim()
  return v || null
}

/** The properties compared: what push writes on updates (create-only constants never drift). */
function compareKeys(engine: Engine, mapper: ModuleMapper): string[] {
  return mapper.pushProperties.filter((p) => !mapper.createOnly.has(p) && p !== engine.settings.uniqueProperty)
}

/**
 * A canonical form for hashing only: numbers as numbers, instants as epoch ms, multi-valued
 * enumerations sorted. Equal hashes skip the exact comparison; different ones are compared with
 * the mapper's own equality, so this only has to be right about what is equal.
 */
function canonical(value: string | null | undefined, propType: string | undefined): string {
  const v = value ?? ''
  if (v === '') return ''
  if (propType === 'number' && /^-?\d+(\.\d+)?$/.test(v)) return String(Number(v))
  if (propType === 'date' || propType === 'datetime') {
    const ms = /^\d+$/.test(v) ? Number(v) : Date.parse(v)
    if (Number.isFinite(ms)) return propType === 'date' ? new Date(ms).toISOString().slice(0, 10) : String(ms)
  }
  if (propType === 'enumeration' && v.includes(';')) return v.split(';').sort().join(';')
  if (propType === 'bool') return v.toLowerCase()
  return v
}

function hashValues(values: Record<string, string | null | undefined>, keys: string[], propTypes: Map<string, string>): string {
  const h = createHash('sha1')
  for (const k of keys) h.update(`${k}\u0000${canonical(values[k], propTypes.get(k))}\u0001`)
  return h.digest('base64').slice(0, 12)
}

function winnerOf(policy: ConflictPolicy, crmMs: number, hsMs: number): 'crm' | 'hubspot' {
  if (policy === 'crm') return 'crm'
  if (policy === 'hubspot') return 'hubspot'
  return crmMs >= hsMs ? 'crm' : 'hubspot'
}

function addEntryToIndex(ctx: TypeContext, entry: Entry): void {
  ctx.entries.get(entry.module)!.set(entry.crmid, entry)
  const live = !(entry.flags & (DELETED | HS_DELETED))
  if (entry.linkedTo) ctx.byLink.set(entry.linkedTo, entry)
  if (!live) return
  if (entry.key) (ctx.byKey.get(entry.key) ?? ctx.byKey.set(entry.key, []).get(entry.key)!).push(entry)
  if (entry.name) (ctx.byName.get(entry.name) ?? ctx.byName.set(entry.name, []).get(entry.name)!).push(entry)
  if (entry.legacyId && !entry.linkedTo) ctx.byLegacy.set(entry.legacyId, entry)
}

async function buildIndex(ctx: TypeContext, reporter: Reporter): Promise<void> {
  const {engine} = ctx
  let read = 0
  for (const module of ctx.modules) {
    ctx.entries.set(module, new Map())
    const mapper = engine.mappers[module]
    const keys = compareKeys(engine, mapper)
    const stream = engine.crm.readChanged(module, {since: null, optIn: 'any', includeDeleted: true, pageSize: Math.max(200, engine.settings.pageSize)})
    for await (const page of stream) {
      const links = await engine.state.getLinksByCrmids(
        module,
        page.map((r) => r.crmid),
      )
      for (const record of page) {
        const link = links.get(record.crmid)
        const syncwith = record.fields.hubspotsyncwith
        let flags = 0
        if (record.deleted) flags |= DELETED
        if (record.converted) flags |= CONVERTED
        if (isEligible(record, engine.settings.optIn[module])) flags |= OPTED_IN
        if (syncwith === '0') flags |= OPTED_OUT
        if (record.fields.hubspotdeleted === '1') flags |= HS_DELETED
        if (link?.archived) flags |= LINK_ARCHIVED
        else if (link && controlFieldsBehind(record, link.hubspotId)) flags |= CONTROL_BEHIND
        const mapped = mapper.canPush ? mapper.toHubSpot(record) : {values: {}, errors: [], warnings: []}
        if (mapped.errors.length > 0) flags |= MAP_ERROR
        const refField = REFERENCE_FIELD[module]
        ctx.report.read.crm++
        addEntryToIndex(ctx, {
          module,
          crmid: record.crmid,
          flags,
          key: module === 'Accounts' ? normalizeDomain(record.fields.website) : normalizeEmail(record.fields.email),
          name: module === 'Accounts' ? normalizeName(record.fields.accountname) : module === 'Potentials' ? normalizeName(record.fields.potentialname) : null,
          hash: hashValues(mapped.values, keys, ctx.propTypes),
          ref: refField ? Number(record.fields[refField] ?? 0) || 0 : 0,
          linkedTo: link && !link.archived ? link.hubspotId : null,
          // said for a record that would sync with it; junk is no id for any other either
          legacyId: legacyHubSpotId(module, record, !link && flags & OPTED_IN && !record.deleted ? (m) => ctx.pass.sink.warn(m) : () => undefined),
          seen: false,
          claims: 0,
          mt: recordTimeMs(record.modifiedtime, engine.settings.timezone),
        })
      }
      read += page.length
      reporter.progress(`${ctx.type}: coreBOS`, read)
    }
  }
}

// ---------------------------------------------------------------------------------------------
// classification
// ---------------------------------------------------------------------------------------------

interface Pair {
  entry: Entry
  object: HubSpotObject
  link: Link | null
}

function hubspotProperties(engine: Engine, type: HubSpotObjectType, modules: CrmModule[]): string[] {
  const props = new Set<string>([engine.settings.uniqueProperty, MODIFIED_PROPERTY[type]])
  if (type === 'contacts') props.add('email').add('lifecyclestage')
  if (type === 'companies') props.add('domain').add('website').add('name')
  if (type === 'deals') props.add('dealname')
  for (const m of modules) for (const p of engine.mappers[m].pushProperties) props.add(p)
  return [...props]
}

function isLive(entry: Entry): boolean {
  return !(entry.flags & (DELETED | HS_DELETED))
}

async function streamHubSpot(ctx: TypeContext, reporter: Reporter): Promise<void> {
  const {engine, type} = ctx
  const properties = hubspotProperties(engine, type, ctx.modules)
  let buffer: Pair[] = []
  let read = 0
  for await (const page of engine.hubspot.list(type, {properties})) {
    ctx.report.read.hubspot += page.length
    const links = await engine.state.getLinksByHubSpotIds(
      type,
      page.map((o) => o.id),
    )
    for (const object of page) {
      const link = links.get(object.id)
      if (link) {
        if (link.archived) {
          if (selected(ctx, link.module)) counts(ctx.report, link.module).excluded++
          continue
        }
        const entry = ctx.entries.get(link.module)?.get(link.crmid)
        if (!entry || entry.flags & DELETED) {
          ctx.brokenSeen.add(`${link.module}:${link.crmid}`)
          const converted = entry && entry.flags & CONVERTED
          const optedOut = entry && entry.flags & OPTED_OUT
          classify(ctx, {
            class: 'brokenLink',
            module: link.module,
            crmid: link.crmid,
            hubspotId: object.id,
            reason: !entry ? 'coreBOS record purged' : converted ? 'lead converted in coreBOS' : 'trashed in coreBOS',
            action: converted || optedOut ? 'retire-link' : 'archive-hubspot',
          })
          if (entry) entry.seen = true
          continue
        }
        entry.seen = true
        buffer.push({entry, object, link})
      } else {
        const pair = matchUnlinked(ctx, object)
        if (pair) buffer.push(pair)
      }
      if (buffer.length >= PAIR_BATCH) {
        await classifyPairs(ctx, buffer)
        buffer = []
      }
    }
    read += page.length
    reporter.progress(`${type}: HubSpot`, read)
  }
  if (buffer.length > 0) await classifyPairs(ctx, buffer)
}

/** An unlinked HubSpot object: a match candidate, ambiguous, or only in HubSpot. */
function matchUnlinked(ctx: TypeContext, object: HubSpotObject): Pair | null {
  const {engine, type} = ctx
  const note = (module: CrmModule, cls: ReconcileClass) => ctx.unlinkedClass.set(object.id, {module, cls})
  // cbhs's own crmid property (a create whose link was lost) and the legacy hubspotid are certain
  let strong: Entry | undefined = ctx.byLegacy.get(object.id)
  const crmidProp = Number(object.properties[engine.settings.uniqueProperty] ?? 0)
  if (!strong && crmidProp > 0) {
    for (const m of ctx.modules) {
      const e = ctx.entries.get(m)?.get(crmidProp)
      if (e && isLive(e) && !e.linkedTo) strong = e
    }
  }
  let candidates: Entry[]
  let by: string
  if (strong) {
    candidates = [strong]
    by = strong.legacyId === object.id ? 'legacy hubspotid' : engine.settings.uniqueProperty
  } else if (type === 'contacts') {
    const email = normalizeEmail(object.properties.email)
    candidates = email ? (ctx.byKey.get(email) ?? []) : []
    by = 'e-mail'
  } else if (type === 'companies') {
    const domain = normalizeDomain(object.properties.domain) ?? normalizeDomain(object.properties.website)
    candidates = domain ? (ctx.byKey.get(domain) ?? []) : []
    by = 'domain'
    if (candidates.length === 0) {
      const name = normalizeName(object.properties.name)
      candidates = name ? (ctx.byName.get(name) ?? []) : []
      by = 'name'
    }
  } else {
    // deals have no natural key; a name unique on both sides is the best evidence, anything else stays ambiguous
    const name = normalizeName(object.properties.dealname)
    candidates = name ? (ctx.byName.get(name) ?? []) : []
    by = 'deal name'
  }
  if (candidates.length === 0) {
    const module = landingModule(engine, type, object)
    note(module, 'onlyHubSpot')
    classify(ctx, {class: 'onlyHubSpot', module, crmid: null, hubspotId: object.id, reason: 'not in coreBOS', action: engine.mappers[module].canPull ? 'create-crm' : 'none'})
    return null
  }
  const linked = candidates.filter((e) => e.linkedTo)
  const unlinked = candidates.filter((e) => !e.linkedTo)
  const first = candidates[0]
  const ambiguous = (reason: string) => {
    for (const e of candidates) e.flags |= AMBIGUOUS
    note(first.module, 'ambiguous')
    classify(ctx, {
      class: 'ambiguous',
      module: first.module,
      crmid: null,
      hubspotId: object.id,
      reason,
      action: 'none',
      candidates: {crmids: candidates.map((e) => e.crmid)},
    })
    return null
  }
  if (unlinked.length === 0) {
    return ambiguous(`same ${by} as ${linked.map((e) => `${e.module} ${e.crmid}`).join(', ')}, already linked to HubSpot ${linked.map((e) => e.linkedTo).join(', ')}`)
  }
  if (unlinked.length > 1) return ambiguous(`same ${by} as ${unlinked.length} coreBOS records: ${unlinked.map((e) => `${e.module} ${e.crmid}`).join(', ')}`)
  const entry = unlinked[0]
  if (entry.flags & OPTED_OUT) return ambiguous(`same ${by} as ${entry.module} ${entry.crmid}, which is opted out of sync`)
  entry.claims++
  if (entry.claims > 1) return ambiguous(`${entry.module} ${entry.crmid} matches more than one HubSpot object by ${by}`)
  note(entry.module, 'match')
  return {entry, object, link: null}
}

/**
 * Compares pairs (linked, or matched by key): values where the hashes differ, associations for
 * contacts and deals. Reads the coreBOS records, links and HubSpot associations of the batch.
 */
async function classifyPairs(ctx: TypeContext, pairs: Pair[]): Promise<void> {
  const {engine, type} = ctx
  const policy = engine.settings.conflictPolicy
  const records = await readRecords(engine, pairs.filter((p) => needsRecord(ctx, p)).map((p) => p.entry))
  const views = new Map<string, ReferenceView>()
  // Contacts and Potentials carry references; Leads and Accounts do not
  for (const module of ['Contacts', 'Potentials'] as CrmModule[]) {
    const mine = pairs.filter((p) => p.entry.module === module)
    if (mine.length === 0) continue
    const refs = await loadReferences(ctx.pass, module, mine.map((p) => p.object.id), mine.map((p) => p.entry.ref))
    for (const p of mine) views.set(p.object.id, refs.view(p.object.id)!)
  }
  for (const pair of pairs) {
    const {entry, object, link} = pair
    const mapper = engine.mappers[entry.module]
    const record = records.get(`${entry.module}:${entry.crmid}`)
    const hsMs = modifiedMs(type, object)
    const crmMs = entry.mt
    const changes: FieldDiff[] = []
    let invalid: string | null = null
    if (record) {
      const mapped = mapper.toHubSpot(record)
      if (mapped.errors.length > 0) invalid = mapped.errors.map((e) => `${e.key}: ${e.message}`).join('; ')
      for (const key of compareKeys(engine, mapper)) {
        const crm = mapped.values[key] ?? null
        const hubspot = object.properties[key] ?? null
        if (mapper.sameHubSpotValue(key, crm, hubspot)) continue
        if (!link) {
          changes.push({key, crm, hubspot, changed: 'unknown', winner: winnerOf(policy, crmMs, hsMs)})
          continue
        }
        const base = link.snapshot.hs[key] ?? null
        const crmChanged = !mapper.sameHubSpotValue(key, crm, base)
        const hsChanged = !mapper.sameHubSpotValue(key, hubspot, base)
        const changed = crmChanged && hsChanged ? 'both' : crmChanged ? 'crm' : hsChanged ? 'hubspot' : 'unknown'
        const winner = changed === 'crm' ? 'crm' : changed === 'hubspot' ? 'hubspot' : winnerOf(policy, crmMs, hsMs)
        changes.push({key, crm, hubspot, base, changed, winner})
      }
    }
    const view = views.get(object.id)
    const association = view ? associationDiff(entry, link, view, policy, crmMs, hsMs) : null
    const base = {module: entry.module, crmid: entry.crmid, hubspotId: object.id}
    if (!link) {
      const what = [changes.length > 0 ? `${changes.length} field(s) differ` : 'same values', association ? 'associations differ' : ''].filter(Boolean)
      classify(ctx, {...base, class: 'match', reason: `unlinked on both sides; ${what.join(', ')}`, action: 'link', changes, ...(association ? {association} : {})})
      continue
    }
    if (invalid) {
      classify(ctx, {...base, class: 'different', reason: `coreBOS value cannot be mapped: ${invalid}`, action: 'none', changes})
      continue
    }
    if (changes.length > 0) {
      const sides = [...new Set(changes.map((c) => c.changed))].join('/')
      classify(ctx, {...base, class: 'different', reason: `${changes.length} field(s) differ (changed: ${sides})`, action: 'update', changes, ...(association ? {association} : {})})
    } else if (association) {
      classify(ctx, {...base, class: 'associationDrift', reason: `associations differ (changed: ${association.changed})`, action: 'repair-associations', association})
    } else if (entry.flags & CONTROL_BEHIND) {
      classify(ctx, {...base, class: 'different', reason: `hubspotid and the other control fields lag behind the link (a pass stopped between the two writes)`, action: 'update', changes})
    } else {
      classify(ctx, {...base, class: 'inSync', reason: '', action: 'none'})
    }
  }
}

function needsRecord(ctx: TypeContext, pair: Pair): boolean {
  const mapper = ctx.engine.mappers[pair.entry.module]
  if (!mapper.canPush) return false
  if (pair.entry.flags & MAP_ERROR) return true
  return hashValues(pair.object.properties, compareKeys(ctx.engine, mapper), ctx.propTypes) !== pair.entry.hash
}

async function readRecords(engine: Engine, entries: Entry[]): Promise<Map<string, CrmRecord>> {
  const out = new Map<string, CrmRecord>()
  const byModule = new Map<CrmModule, number[]>()
  for (const e of entries) (byModule.get(e.module) ?? byModule.set(e.module, []).get(e.module)!).push(e.crmid)
  for (const [module, ids] of byModule) for (const r of await engine.crm.readByIds(module, ids)) out.set(`${module}:${r.crmid}`, r)
  return out
}

/**
 * Whether the coreBOS reference and HubSpot's associations agree: the reference's object is among
 * the associations (HubSpot may hold more than coreBOS can say), or neither side names a linked
 * record. Which side changed is judged against the associations the link last synced.
 */
function associationDiff(entry: Entry, link: Link | null, view: ReferenceView, policy: ConflictPolicy, crmMs: number, hsMs: number): AssociationDiff | null {
  const all = view.types.flatMap((t) => (view.current[t] ?? []).map((id) => `${t}:${id}`))
  const linked = all.filter((k) => view.crmOf(k.split(':')[0] as HubSpotObjectType, k.split(':')[1]) !== undefined)
  const target = entry.ref > 0 ? view.target(entry.ref) : null
  // a reference to a record not in HubSpot (yet, or ever): push reports it; nothing to compare
  if (target && !('id' in target)) return null
  const crmTarget = target ? `${target.type}:${target.id}` : null
  if (crmTarget ? linked.includes(crmTarget) : linked.length === 0) return null
  const base = link ? view.types.flatMap((t) => (link.associations[t] ?? []).map((id) => `${t}:${id}`)) : null
  let changed: AssociationDiff['changed'] = 'unknown'
  if (base) {
    const baseSet = new Set(base)
    const hsChanged = all.length !== baseSet.size || all.some((t) => !baseSet.has(t))
    const crmChanged = crmTarget ? !baseSet.has(crmTarget) : baseSet.size > 0
    changed = hsChanged && crmChanged ? 'both' : hsChanged ? 'hubspot' : crmChanged ? 'crm' : 'unknown'
  }
  const winner = changed === 'crm' ? 'crm' : changed === 'hubspot' ? 'hubspot' : winnerOf(policy, crmMs, hsMs)
  return {crm: crmTarget, hubspot: all, base, changed, winner}
}

/**
 * Of the coreBOS records that share one e-mail, the one push sends (streams.ts withOwnEmail): the
 * linked one, else the oldest opted in. None when a HubSpot contact has that e-mail: that match is
 * ambiguous, and a person decides.
 */
function emailHolder(group: Entry[]): Entry | undefined {
  if (group.some((e) => e.claims > 0 || e.flags & AMBIGUOUS)) return undefined
  return group.find((e) => e.linkedTo) ?? group.filter((e) => isLive(e) && e.flags & OPTED_IN).sort((a, b) => a.crmid - b.crmid)[0]
}

/** What the stream did not see: gone objects, records only in coreBOS, duplicates, double claims. */
async function afterStream(ctx: TypeContext): Promise<void> {
  const {engine, type} = ctx
  const gone: Entry[] = []
  for (const [module, entries] of ctx.entries) {
    for (const entry of entries.values()) {
      if (entry.linkedTo && !entry.seen) {
        if (entry.flags & DELETED) {
          classify(ctx, {class: 'brokenLink', module, crmid: entry.crmid, hubspotId: entry.linkedTo, reason: 'gone on both sides', action: 'retire-link'})
        } else gone.push(entry)
        continue
      }
      if (entry.linkedTo) continue
      if (entry.flags & DELETED) continue
      if (entry.flags & (HS_DELETED | OPTED_OUT) || entry.flags & LINK_ARCHIVED) {
        if (selected(ctx, module)) counts(ctx.report, module).excluded++
        continue
      }
      if (entry.claims > 0 || entry.flags & AMBIGUOUS) continue
      const group = entry.key ? (ctx.byKey.get(entry.key) ?? []) : []
      // accounts share domains legitimately (branches); e-mails identify one person
      if (module !== 'Accounts' && group.length > 1 && emailHolder(group) !== entry) continue
      if (!(entry.flags & OPTED_IN)) {
        if (selected(ctx, module)) counts(ctx.report, module).notOptedIn++
        continue
      }
      classify(ctx, {
        class: 'onlyCrm',
        module,
        crmid: entry.crmid,
        hubspotId: null,
        reason: 'not in HubSpot',
        action: engine.mappers[module].canPush ? 'create-hubspot' : 'none',
      })
    }
  }

  // two coreBOS records with one e-mail: HubSpot can hold only one contact for it
  if (type === 'contacts') {
    for (const [email, group] of ctx.byKey) {
      if (group.length < 2 || group.every((e) => e.linkedTo)) continue
      const reason = `${group.length} coreBOS records share the e-mail ${email}; HubSpot keeps one contact per e-mail: merge them in coreBOS or change one e-mail`
      const candidates = {crmids: group.map((e) => e.crmid)}
      const holder = emailHolder(group)
      if (!holder) {
        const first = group[0]
        classify(ctx, {class: 'duplicate', module: first.module, crmid: first.crmid, hubspotId: group.find((e) => e.linkedTo)?.linkedTo ?? null, reason, action: 'none', candidates})
        continue
      }
      // apply sends them through push's own batch, which fails each one naming the holder
      for (const e of group) {
        if (e === holder || e.linkedTo || !isLive(e) || !(e.flags & OPTED_IN)) continue
        const why = `${reason}; it goes to ${holder.module} ${holder.crmid} (${holder.linkedTo ? 'linked' : 'the oldest'}), as in a push: this one fails naming it`
        classify(ctx, {class: 'duplicate', module: e.module, crmid: e.crmid, hubspotId: holder.linkedTo, reason: why, action: 'create-hubspot', candidates})
      }
    }
  }

  // a record two HubSpot objects matched: every one of those matches is ambiguous
  for (const entries of ctx.entries.values()) {
    for (const entry of entries.values()) {
      if (entry.claims < 2 || !selected(ctx, entry.module)) continue
      // the first claim was counted a match; the later ones were already ambiguous
      const c = counts(ctx.report, entry.module)
      c.match--
      c.ambiguous++
      const demote = (item: ReconcileItem) => {
        if (item.class === 'match' && item.crmid === entry.crmid && item.module === entry.module) {
          item.class = 'ambiguous'
          item.action = 'none'
          item.reason = `${entry.module} ${entry.crmid} matches more than one HubSpot object`
        }
      }
      ctx.report.items.forEach(demote)
      ctx.work.forEach(demote)
    }
  }

  // links whose HubSpot object is missing from the list: merged away, archived or deleted
  for (let i = 0; i < gone.length; i += APPLY_BATCH) {
    const part = gone.slice(i, i + APPLY_BATCH)
    const {found} = await engine.hubspot.read(
      type,
      part.map((e) => e.linkedTo!),
      [engine.settings.uniqueProperty],
    )
    const survivors = new Map(found.filter((o) => o.id !== o.requestedId).map((o) => [o.requestedId, o.id]))
    const notFound = part.filter((e) => !survivors.has(e.linkedTo!)).map((e) => e.linkedTo!)
    const archived = notFound.length > 0 ? (await engine.hubspot.read(type, notFound, [], {archived: true})).found : []
    const archivedIds = new Set(archived.map((o) => o.requestedId))
    const survivorLinks = await engine.state.getLinksByHubSpotIds(type, [...survivors.values()])
    for (const entry of part) {
      const survivor = survivors.get(entry.linkedTo!)
      const item: ReconcileItem = {class: 'brokenLink', module: entry.module, crmid: entry.crmid, hubspotId: entry.linkedTo, reason: '', action: 'mark-deleted'}
      const earlier = survivor ? ctx.unlinkedClass.get(survivor) : undefined
      if (survivor && !survivorLinks.get(survivor) && earlier?.cls !== 'match') {
        item.reason = `HubSpot merged ${entry.linkedTo} into ${survivor}`
        item.action = 'relink'
        item.target = survivor
        // the survivor was classified on its own as unlinked (only in HubSpot): the relink takes its place
        if (earlier && selected(ctx, earlier.module)) counts(ctx.report, earlier.module)[earlier.cls]--
        const others = (w: ReconcileItem) => w.hubspotId !== survivor || w.class === 'brokenLink'
        ctx.work.splice(0, ctx.work.length, ...ctx.work.filter(others))
        ctx.report.items.splice(0, ctx.report.items.length, ...ctx.report.items.filter(others))
      } else if (survivor && !survivorLinks.get(survivor)) {
        item.reason = `HubSpot merged ${entry.linkedTo} into ${survivor}, which matches another coreBOS record`
      } else if (survivor) {
        item.reason = `HubSpot merged ${entry.linkedTo} into ${survivor}, which is linked to ${survivorLinks.get(survivor)!.module} ${survivorLinks.get(survivor)!.crmid}`
      } else {
        item.reason = archivedIds.has(entry.linkedTo!) ? 'archived in HubSpot' : 'deleted in HubSpot'
      }
      classify(ctx, item)
    }
  }

  // links whose coreBOS record was purged and whose object is gone too (not met in the stream)
  for (const module of ctx.modules) {
    const links = await engine.state.linksWithGoneRecords(module, 10_000)
    for (const link of links) {
      if (ctx.entries.get(module)?.has(link.crmid) || ctx.brokenSeen.has(`${module}:${link.crmid}`)) continue
      classify(ctx, {class: 'brokenLink', module, crmid: link.crmid, hubspotId: link.hubspotId, reason: 'gone on both sides', action: 'retire-link'})
    }
  }
}

// ---------------------------------------------------------------------------------------------
// entry point
// ---------------------------------------------------------------------------------------------

export async function reconcileType(engine: Engine, type: HubSpotObjectType, options: ReconcileOptions, report: ReconcileReport, reporter: Reporter): Promise<string> {
  const modules = TYPE_MODULES[type]
  if (!modules.some((m) => options.modules.includes(m))) return 'not selected'
  const calls = engine.hubspot.callCounts()
  for (const m of modules) await engine.prepare(m)
  const propTypes = new Map((await engine.hubspot.getProperties(type)).map((p) => [p.name, p.type]))
  const {ctx: pass, failed} = reconcileContext(engine, report)
  const ctx: TypeContext = {
    engine,
    pass,
    pullPass: reconcileContext(engine, report, 'pull', failed).ctx,
    failed,
    type,
    modules,
    options,
    report,
    propTypes,
    entries: new Map(),
    byKey: new Map(),
    byName: new Map(),
    byLegacy: new Map(),
    byLink: new Map(),
    work: [],
    unlinkedClass: new Map(),
    brokenSeen: new Set(),
  }
  for (const m of modules) if (options.modules.includes(m)) counts(report, m)
  await buildIndex(ctx, reporter)
  await streamHubSpot(ctx, reporter)
  await afterStream(ctx)
  // the index is done with: free it before apply reads records again
  ctx.entries.clear()
  ctx.byKey.clear()
  ctx.byName.clear()
  ctx.byLegacy.clear()
  ctx.byLink.clear()
  ctx.unlinkedClass.clear()
  if (options.apply) await applyItems(ctx, ctx.work, reporter)
  for (const [k, v] of Object.entries(callsSince(calls, engine.hubspot.callCounts()))) report.apiCalls[k] = (report.apiCalls[k] ?? 0) + v
  return summarizeType(report, modules.filter((m) => options.modules.includes(m)))
}

function summarizeType(report: ReconcileReport, modules: CrmModule[]): string {
  const total = emptyReconcileCounts()
  for (const m of modules) for (const [k, v] of Object.entries(report.modules[m] ?? {})) total[k as ReconcileClass] += v
  const parts = RECONCILE_CLASSES.filter((c) => total[c] > 0).map((c) => `${total[c]} ${c}`)
  const failed = modules.reduce((n, m) => n + (report.applied[m]?.failed ?? 0), 0)
  if (failed) parts.push(`${failed} failed`)
  return parts.join(', ') || 'nothing'
}

// ---------------------------------------------------------------------------------------------
// apply: the repairs go through the same resolution, settlement and apply as the passes
// ---------------------------------------------------------------------------------------------

/**
 * The reconcile report as a pipeline sink; which counters an apply step moved tells what it did.
 * Its failures go to the ledger in the direction of the repair (a record written into coreBOS is
 * the pull's), so a record the passes already failed keeps its one entry.
 */
function reconcileContext(engine: Engine, report: ReconcileReport, direction: Direction = 'push', failed = new Set<string>()): {ctx: PassContext; failed: Set<string>} {
  const counts = new Map<CrmModule, ModuleCounts>()
  const sink: Sink = {
    direction,
    dryRun: false,
    counts: (module) => counts.get(module) ?? counts.set(module, emptyCounts()).get(module)!,
    plan: () => undefined,
    conflict: () => undefined,
    failure: (f) => {
      applied(report, f.module).failed++
      report.failures.push(f)
      failed.add(`${f.module}:${f.crmid ?? `hs${f.hubspotId}`}`)
    },
    warn: foldingWarnings(report.warnings),
  }
  return {ctx: new PassContext(engine, sink), failed}
}

async function applyItems(typeCtx: TypeContext, work: ReconcileItem[], reporter: Reporter): Promise<void> {
  const {engine, type, report, pass: ctx, failed} = typeCtx
  const of = (...actions: ReconcileItem['action'][]) => work.filter((w) => actions.includes(w.action))
  let done = 0
  const step = async (items: ReconcileItem[], fn: (part: ReconcileItem[]) => Promise<void>) => {
    for (let i = 0; i < items.length; i += APPLY_BATCH) {
      await fn(items.slice(i, i + APPLY_BATCH))
      done += Math.min(APPLY_BATCH, items.length - i)
      reporter.progress(`${type}: apply`, done, work.length)
    }
  }
  const delta = async (module: CrmModule, fn: () => Promise<void>): Promise<ModuleCounts> => {
    const before = {...ctx.sink.counts(module)}
    await fn()
    const after = ctx.sink.counts(module)
    const out = emptyCounts()
    for (const k of Object.keys(out) as Array<keyof ModuleCounts>) out[k] = after[k] - before[k]
    return out
  }
  await step(of('mark-deleted', 'relink', 'archive-hubspot', 'retire-link'), (part) => applyBroken(ctx, type, part, report, delta))
  await step(of('link', 'update', 'repair-associations'), (part) => applyPairs(ctx, type, part, report, failed))
  await step(of('create-hubspot'), async (part) => {
    for (const module of new Set(part.map((p) => p.module))) {
      const records = (await engine.crm.readByIds(module, part.filter((p) => p.module === module).map((p) => p.crmid!))).filter((r) => isEligible(r, engine.settings.optIn[module]))
      const d = await delta(module, () => createInHubSpot(ctx, module, records))
      applied(report, module).createdHubSpot += d.created
      applied(report, module).linked += d.linked
    }
  })
  await step(of('create-crm'), async (part) => {
    const ctx = typeCtx.pullPass
    const {found, missing} = await engine.hubspot.read(type, part.map((i) => i.hubspotId!), hsPropertiesOf(engine, type))
    for (const id of missing) {
      const item = part.find((i) => i.hubspotId === id)!
      await ctx.fail({module: item.module, crmid: null, hubspotId: id, category: 'CHANGED_SINCE_READ', message: `HubSpot ${type} ${id} is gone since reconcile read it`})
    }
    const before = new Map(TYPE_MODULES[type].map((m) => [m, ctx.sink.counts(m).created]))
    await pullObjects(ctx, type, found)
    for (const m of TYPE_MODULES[type]) applied(report, m).createdCrm += ctx.sink.counts(m).created - before.get(m)!
  })
}

async function applyBroken(
  ctx: PassContext,
  type: HubSpotObjectType,
  items: ReconcileItem[],
  report: ReconcileReport,
  delta: (module: CrmModule, fn: () => Promise<void>) => Promise<ModuleCounts>,
): Promise<void> {
  const {engine} = ctx
  for (const module of new Set(items.map((i) => i.module))) {
    const mine = items.filter((i) => i.module === module)
    const links = await engine.state.getLinksByCrmids(module, mine.map((i) => i.crmid!))
    const live = (i: ReconcileItem) => {
      const l = links.get(i.crmid!)
      return l && !l.archived ? l : undefined
    }
    const work: Work[] = []
    for (const item of mine) {
      const link = live(item)
      if (!link) continue
      if (item.action === 'mark-deleted') work.push({kind: 'mark-deleted', module, link, reason: item.reason})
      else if (item.action === 'archive-hubspot') work.push({kind: 'archive', module, link, reason: item.reason})
    }
    const d = await delta(module, async () => void (await applyWork(ctx, module, work)))
    applied(report, module).markedDeleted += d.markedDeleted
    applied(report, module).archivedHubSpot += d.archived
    for (const item of mine) {
      const link = live(item)
      if (!link) continue
      if (item.action === 'relink') {
        await engine.state.deleteLink(module, item.crmid!)
        await engine.state.saveLinks([{...link, hubspotId: item.target!, syncedAt: ctx.nowIso()}])
        await engine.crm.setControl(module, item.crmid!, {hubspotid: item.target!, hubspotrecord: hubspotRecordUrl(engine.settings.portalId, type, item.target!)})
        applied(report, module).relinked++
      } else if (item.action === 'retire-link') {
        await engine.state.saveLinks([{...link, archived: true, syncedAt: ctx.nowIso()}])
        applied(report, module).linksRetired++
      }
    }
  }
}

/**
 * Links matches and settles differences with the passes' own settlement: each differing field goes
 * from the side that changed it since the last sync, or by the policy when that cannot be told, and
 * the link's snapshot is the common state, so the next pass has nothing to do.
 */
async function applyPairs(ctx: PassContext, type: HubSpotObjectType, items: ReconcileItem[], report: ReconcileReport, failed: Set<string>): Promise<void> {
  const {engine} = ctx
  const {found} = await engine.hubspot.read(type, items.map((i) => i.hubspotId!), hsPropertiesOf(engine, type))
  const objects = new Map(found.map((o) => [o.requestedId, o]))
  for (const module of new Set(items.map((i) => i.module))) {
    const mine = items.filter((i) => i.module === module)
    const records = new Map((await engine.crm.readByIds(module, mine.map((i) => i.crmid!))).map((r) => [r.crmid, r]))
    const links = await engine.state.getLinksByCrmids(module, mine.map((i) => i.crmid!))
    const pairs: Array<{item: ReconcileItem; record: CrmRecord; object: HubSpotObject; link: Link | null}> = []
    for (const item of mine) {
      const record = records.get(item.crmid!)
      const object = objects.get(item.hubspotId!)
      if (!record || !isEligible(record, engine.settings.optIn[module]) || !object || object.id !== item.hubspotId) {
        await ctx.fail({module, crmid: item.crmid, hubspotId: item.hubspotId, category: 'CHANGED_SINCE_READ', message: `${module} ${item.crmid} or HubSpot ${item.hubspotId} changed during reconcile; run it again`})
        continue
      }
      const link = links.get(item.crmid!)
      const live = link && !link.archived ? link : null
      if (item.action === 'link' && live) continue
      pairs.push({item, record, object, link: live})
    }
    const refs = await loadReferences(ctx, module, pairs.map((p) => p.object.id), referencedBy(module, pairs.map((p) => p.record)))
    const work: UpdateWork[] = []
    for (const p of pairs) {
      const settlement = ctx.settle(module, p, refs.view(p.object.id), 'reconcile')
      for (const w of settlement.warnings) ctx.sink.warn(`${module} ${p.record.crmid}: ${w}`)
      if (settlement.errors.length > 0) {
        await ctx.fail({module, crmid: p.record.crmid, hubspotId: p.object.id, category: 'INVALID_VALUE', message: settlement.errors.join('; ')})
        continue
      }
      work.push({kind: 'update', module, record: p.record, object: p.object, link: p.link, settlement, reason: p.item.reason})
    }
    await applyWork(ctx, module, work)
    for (const w of work) {
      if (failed.has(`${module}:${w.record.crmid}`)) continue
      const a = applied(report, module)
      const item = pairs.find((p) => p.record.crmid === w.record.crmid)!.item
      if (!w.link) a.linked++
      if (Object.keys(w.settlement.crm).some((k) => k !== REFERENCE_FIELD[module])) a.updatedCrm++
      if (Object.keys(w.settlement.hs).some((k) => k !== engine.settings.uniqueProperty)) a.updatedHubSpot++
      if (item.association) a.associationsRepaired++
    }
  }
}
