/**
 * Settling one pair (a coreBOS record and its HubSpot object): the field-level three-way merge of
 * DESIGN.md §5.5, for fields and for the reference a contact or deal carries, in both directions
 * at once. Every stream (push, pull, reconcile) settles pairs here, so they cannot disagree.
 *
 * Each side is compared with the snapshot in its own form: coreBOS values against what coreBOS held
 * after the last sync, HubSpot values against what HubSpot held. A value that could not travel
 * unchanged (cut, rounded, a date without its time) therefore differs between the sides without
 * either having changed, and is left alone instead of echoing back (§5.11).
 */
import type {ModuleMapper} from './engine.js'
import type {Link} from './ports.js'
import {recordTimeMs} from './time.js'
import {CONTACT_SET_KEY, CONTACT_SET_MODULES, MODIFIED_PROPERTY, REFERENCE_FIELD, type ConflictPolicy, type CrmRecord, type HubSpotObject, type HubSpotObjectType} from './types.js'

export type Values = Record<string, string | null>

export type Side = 'crm' | 'hubspot'

/** A field changed on both sides since the last sync, and which side the policy let win. */
export interface FieldConflict {
  key: string
  base: string | null
  crm: string | null
  hubspot: string | null
  winner: Side
  policy: ConflictPolicy
}

/** What the links table keeps of a pair: both sides' values after the last sync, and the associations. */
export interface Snapshot {
  crm: Values
  hs: Values
  associations: Record<string, string[]>
}

/** The HubSpot associations a record's reference field stands for, as far as this pass read them. */
export interface ReferenceView {
  field: string
  /** the object types the reference may point at, in order of preference */
  types: HubSpotObjectType[]
  /** the object's current associations to those types */
  current: Record<string, string[]>
  /**
   * The HubSpot object a referenced coreBOS record is linked to; `pending` when it will be (not
   * pushed yet); `none` when it never will (archived in HubSpot, not opted in, gone), with why.
   */
  target(crmid: number): {type: HubSpotObjectType; id: string} | {pending: true} | {none: string}
  /** the coreBOS record a HubSpot object is linked to, when the reference may point at it */
  crmOf(type: HubSpotObjectType, id: string): number | undefined
}

export interface SettleInput {
  mapper: ModuleMapper
  record: CrmRecord
  object: HubSpotObject
  /** null when adopting a pair that was never synced: no common base, the policy settles every difference */
  link: Link | null
  reference: ReferenceView | null
  policy: ConflictPolicy
  timezone: string
  uniqueProperty: string
  /**
   * The side whose change stream surfaced the pair: conflicts are reported in its terms (coreBOS
   * fields on pull, HubSpot properties on push), and it wins a tie of 'newest' (coreBOS keeps whole seconds)
   */
  origin: Side
  /**
   * Which sides this stream writes (push: HubSpot, pull: coreBOS, reconcile: both). A change bound
   * for the other side is left for that side's stream: its keys keep their old base, so the other
   * stream still sees the change.
   */
  writes: Record<Side, boolean>
}

export interface Settlement {
  /** properties to send to HubSpot */
  hs: Record<string, string>
  /** fields to write into coreBOS */
  crm: Values
  associate: Array<{type: HubSpotObjectType; id: string}>
  dissociate: Array<{type: HubSpotObjectType; id: string}>
  conflicts: FieldConflict[]
  /** values that cannot be converted: the pair fails with these */
  errors: string[]
  warnings: string[]
  /** a potential's contacts to add to and remove from vtiger_contpotentialrel */
  relate: {add: number[]; remove: number[]}
  /** the reference points at a record not in HubSpot yet */
  pending: string | null
  /** what both sides hold once the writes are done: the next snapshot */
  next: Snapshot
}

export function modifiedMs(type: HubSpotObjectType, object: HubSpotObject): number {
  const raw = object.properties[MODIFIED_PROPERTY[type]] ?? object.updatedAt ?? ''
  const ms = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw)
  return Number.isNaN(ms) ? 0 : ms
}

/** Conversion warnings start with their key (`closedate: time of day dropped`); others are kept. */
function writtenKey(warning: string, written: Record<string, unknown>): boolean {
  const key = /^(\w+): /.exec(warning)?.[1]
  return key === undefined || key in written
}

function isEmpty(value: string | null | undefined): boolean {
  return value === null || value === undefined || value === ''
}

function decide(policy: ConflictPolicy, newest: Side): Side {
  return policy === 'crm' ? 'crm' : policy === 'hubspot' ? 'hubspot' : newest
}

export function settlePair(input: SettleInput): Settlement {
  const {mapper, record, object, link, policy} = input
  const base = link && !link.archived ? link.snapshot : null
  const out: Settlement = {hs: {}, crm: {}, associate: [], dissociate: [], relate: {add: [], remove: []}, conflicts: [], errors: [], warnings: [], pending: null, next: {crm: {}, hs: {}, associations: {}}}
  const toHs = mapper.canPush ? mapper.toHubSpot(record) : {values: {}, errors: [], warnings: []}
  const toCrm = mapper.canPull ? mapper.toCrm(object, record.fields) : {values: {}, errors: [], warnings: []}
  for (const e of toHs.errors) out.errors.push(`${e.key}: ${e.message}`)
  for (const e of toCrm.errors) out.errors.push(`${e.key} (from HubSpot): ${e.message}`)

  // with no base (adopting a pair), a side changed what it has a value for: an empty value is no edit
  const crmChanged = (field: string) => (base ? !mapper.sameCrmValue(field, record.fields[field], base.crm[field]) : !isEmpty(record.fields[field]))
  const hsChanged = (property: string) => (base ? !mapper.sameHubSpotValue(property, object.properties[property], base.hs[property]) : !isEmpty(object.properties[property]))
  // keys whose change waits for the other side's stream: their snapshot stays as it was
  const keepCrm = new Set<string>()
  const keepHs = new Set<string>()
  const toHubSpotSide = (property: string, value: string, sources: string[]) => {
    if (input.writes.hubspot) out.hs[property] = value
    else {
      keepHs.add(property)
      for (const f of sources) keepCrm.add(f)
    }
  }
  const toCrmSide = (field: string, value: string | null, sources: string[]) => {
    if (input.writes.crm) out.crm[field] = value
    else {
      keepCrm.add(field)
      for (const p of sources) keepHs.add(p)
    }
  }
  const crmSecond = Math.floor(recordTimeMs(record.modifiedtime, input.timezone) / 1000)
  const hsSecond = Math.floor(modifiedMs(mapper.objectType, object) / 1000)
  const newest: Side = crmSecond === hsSecond ? input.origin : crmSecond > hsSecond ? 'crm' : 'hubspot'
  // one difference can show on both maps (name ← accountname and accountname ← name): reported once, in the origin's terms
  const pushConflicts: Array<{conflict: FieldConflict; sources: string[]}> = []
  const pullConflicts: Array<{conflict: FieldConflict; sources: string[]}> = []
  const conflictOn = (list: typeof pushConflicts, sources: string[]) => (key: string, crm: string | null, hubspot: string | null, baseValue: string | null): Side => {
    const winner = decide(policy, newest)
    list.push({conflict: {key, base: baseValue, crm, hubspot, winner, policy}, sources})
    return winner
  }

  for (const property of new Set(mapper.pushProperties)) {
    if (mapper.createOnly.has(property) || property === input.uniqueProperty || !(property in toHs.values)) continue
    const value = toHs.values[property]
    if (mapper.sameHubSpotValue(property, value, object.properties[property])) continue
    const sources = mapper.pushSources.get(property) ?? []
    const fromCrm = base ? sources.some(crmChanged) : !isEmpty(value)
    const fromHs = hsChanged(property)
    // different on both sides since the last sync without either having changed: a lossy conversion
    if (!fromCrm && !fromHs) continue
    if (fromCrm && fromHs) {
      if (conflictOn(pushConflicts, sources)(property, value, object.properties[property] ?? null, base?.hs[property] ?? null) === 'crm') toHubSpotSide(property, value, sources)
    } else if (fromCrm) toHubSpotSide(property, value, sources)
  }
  for (const field of mapper.pullFields) {
    if (!(field in toCrm.values) || field === REFERENCE_FIELD[mapper.module]) continue
    const value = toCrm.values[field]
    if (mapper.sameCrmValue(field, value, record.fields[field])) continue
    const sources = mapper.pullSources.get(field) ?? []
    const fromHs = base ? sources.some(hsChanged) : !isEmpty(value)
    const fromCrm = crmChanged(field)
    if (!fromCrm && !fromHs) continue
    if (fromCrm && fromHs) {
      if (conflictOn(pullConflicts, sources)(field, record.fields[field] ?? null, value, base?.crm[field] ?? null) === 'hubspot') toCrmSide(field, value, sources)
    } else if (fromHs) toCrmSide(field, value, sources)
  }
  const [primary, secondary] = input.origin === 'crm' ? [pushConflicts, pullConflicts] : [pullConflicts, pushConflicts]
  const covered = new Set(primary.flatMap((c) => [c.conflict.key, ...c.sources]))
  for (const c of primary) out.conflicts.push(c.conflict)
  for (const c of secondary) if (!covered.has(c.conflict.key) && !c.sources.some((k) => covered.has(k))) out.conflicts.push(c.conflict)
  if (object.properties[input.uniqueProperty] !== String(record.crmid)) out.hs[input.uniqueProperty] = String(record.crmid)

  for (const field of mapper.crmKeys) {
    if (field === REFERENCE_FIELD[mapper.module] || field === CONTACT_SET_KEY) continue
    if (keepCrm.has(field)) {
      if (base && field in base.crm) out.next.crm[field] = base.crm[field]
      continue
    }
    out.next.crm[field] = field in out.crm ? out.crm[field] : field in record.fields ? (record.fields[field] ?? null) : (base?.crm[field] ?? null)
  }
  for (const property of mapper.hsKeys) {
    if (keepHs.has(property)) {
      if (base && property in base.hs) out.next.hs[property] = base.hs[property]
      continue
    }
    out.next.hs[property] = property in out.hs ? out.hs[property] : property in object.properties ? (object.properties[property] ?? null) : (base?.hs[property] ?? null)
  }
  settleReference(input, base, out, crmChanged, (key, crm, hubspot, b) => {
    const winner = decide(policy, newest)
    out.conflicts.push({key, base: b, crm, hubspot, winner, policy})
    return winner
  })
  if (CONTACT_SET_MODULES.has(mapper.module)) settleContactSet(input, base, out)
  // a conversion warning is about a value being written: said once, when it travels, not on every pass
  out.warnings.push(...toHs.warnings.filter((w) => writtenKey(w, out.hs)), ...toCrm.warnings.filter((w) => writtenKey(w, out.crm)))
  return out
}

function keysOf(associations: Record<string, string[]>, types: HubSpotObjectType[]): string[] {
  return types.flatMap((t) => (associations[t] ?? []).map((id) => `${t}:${id}`))
}

function settleReference(
  input: SettleInput,
  base: {crm: Values; hs: Values} | null,
  out: Settlement,
  crmChanged: (field: string) => boolean,
  conflict: (key: string, crm: string | null, hubspot: string | null, base: string | null) => Side,
): void {
  const field = REFERENCE_FIELD[input.mapper.module]
  if (!field) return
  const view = input.reference
  const carried = () => {
    out.next.crm[field] = base ? (base.crm[field] ?? null) : null
    out.next.associations = {...(input.link?.associations ?? {})}
  }
  if (!view) return carried()
  const crmRef = Number(input.record.fields[field] ?? 0) || 0
  const found = crmRef > 0 ? view.target(crmRef) : null
  if (found && 'pending' in found) {
    out.pending = `${input.mapper.module} ${input.record.crmid} refers to ${field} ${crmRef}, which is not in HubSpot yet; retried next pass`
    return carried()
  }
  const none = found && 'none' in found ? found.none : null
  const target = found && 'id' in found ? found : null
  const now = new Set(keysOf(view.current, view.types))
  const linkedNow = [...now].filter((k) => {
    const [type, id] = k.split(':') as [HubSpotObjectType, string]
    return view.crmOf(type, id) !== undefined
  })
  const targetKey = target ? `${target.type}:${target.id}` : null
  // said once, when the reference is set: an unchanged record does not repeat it every pass
  if (none && (crmChanged(field) || !base)) out.warnings.push(`${field} ${crmRef} ${none}: no association made`)
  const agree = none !== null || (targetKey ? now.has(targetKey) : linkedNow.length === 0)
  let crmValue = input.record.fields[field] ?? null
  if (!agree) {
    const baseKeys = input.link && base ? new Set(keysOf(input.link.associations, view.types)) : null
    const fromCrm = crmChanged(field)
    const fromHs = baseKeys ? now.size !== baseKeys.size || [...now].some((k) => !baseKeys.has(k)) : linkedNow.length > 0
    const hubspotSays = preferred(view, linkedNow)
    const side: Side =
      fromCrm && !fromHs ? 'crm' : fromHs && !fromCrm ? 'hubspot' : conflict(field, crmValue, hubspotSays ? String(hubspotSays) : null, base?.crm[field] ?? null)
    // the winner's value goes to the other side; if this stream does not write there, it waits for that stream
    if (!input.writes[side === 'crm' ? 'hubspot' : 'crm']) return carried()
    if (side === 'crm') {
      if (target) {
        out.associate.push(target)
        now.add(targetKey!)
      }
      // what cbhs associated before goes; what people added in HubSpot themselves stays, and so do
      // the potential's other contacts (settleContactSet)
      const others = new Set(input.record.relatedContacts ?? [])
      for (const k of baseKeys ?? []) {
        if (k === targetKey || !now.has(k)) continue
        const [type, id] = k.split(':') as [HubSpotObjectType, string]
        const crmid = view.crmOf(type, id)
        if (type === 'contacts' && crmid !== undefined && others.has(crmid)) continue
        out.dissociate.push({type, id})
        now.delete(k)
      }
    } else if (hubspotSays !== undefined) {
      crmValue = String(hubspotSays)
      out.crm[field] = crmValue
    } else if (input.mapper.module === 'Potentials') {
      out.warnings.push(`HubSpot deal ${input.object.id} has no linked contact or company; related_to kept (coreBOS needs one)`)
    } else {
      crmValue = ''
      out.crm[field] = crmValue
    }
  }
  out.next.crm[field] = crmValue
  const next: Record<string, string[]> = {...(input.link?.associations ?? {})}
  for (const t of view.types) next[t] = [...now].filter((k) => k.startsWith(`${t}:`)).map((k) => k.slice(t.length + 1))
  out.next.associations = next
}

export function contactSetValue(crmids: Iterable<number>): string {
  return [...new Set(crmids)].sort((a, b) => a - b).join(',')
}

function parseContactSet(value: string | null | undefined): Set<number> | null {
  if (value === null || value === undefined) return null
  return new Set(value.split(',').filter((v) => v !== '').map(Number))
}

/**
 * A potential's other contacts (beyond the one related_to holds) against the deal's other linked
 * contacts, element by element against the set both held after the last sync: an element added or
 * removed on one side is added or removed on the other. Adopting a pair (no base set) only adds, so
 * neither side loses a relation it had. Contacts not linked to coreBOS Contacts are left alone.
 */
function settleContactSet(input: SettleInput, base: {crm: Values; hs: Values} | null, out: Settlement): void {
  const view = input.reference
  const baseValue = base?.crm[CONTACT_SET_KEY]
  if (!view) {
    if (baseValue !== undefined) out.next.crm[CONTACT_SET_KEY] = baseValue
    return
  }
  const field = REFERENCE_FIELD[input.mapper.module]!
  const relatedTo = Number(out.next.crm[field] ?? 0) || 0
  const inCrm = new Set((input.record.relatedContacts ?? []).filter((c) => c !== relatedTo))
  const hsIdOf = new Map<number, string>()
  for (const id of view.current.contacts ?? []) {
    const crmid = view.crmOf('contacts', id)
    if (crmid !== undefined && crmid !== relatedTo) hsIdOf.set(crmid, id)
  }
  const was = parseContactSet(baseValue)
  const next = new Set<number>()
  const associated = new Set(out.associate.map((a) => `${a.type}:${a.id}`))
  const dissociated = new Set(out.dissociate.map((a) => `${a.type}:${a.id}`))
  for (const crmid of [...new Set([...inCrm, ...hsIdOf.keys(), ...(was ?? [])])].sort((a, b) => a - b)) {
    const c = inCrm.has(crmid)
    const h = hsIdOf.has(crmid)
    const before = was ? was.has(crmid) : c || h
    if (c === h) {
      if (c) next.add(crmid)
      continue
    }
    if (c !== before) {
      // coreBOS changed: HubSpot follows, if this stream writes HubSpot
      if (!input.writes.hubspot) {
        if (before) next.add(crmid)
        continue
      }
      if (c) {
        const target = view.target(crmid)
        if ('pending' in target) {
          out.pending ??= `${input.mapper.module} ${input.record.crmid} relates Contact ${crmid}, which is not in HubSpot yet; retried next pass`
          continue
        }
        if ('none' in target) {
          out.warnings.push(`related contact ${crmid} ${target.none}: no association made`)
          continue
        }
        if (!associated.has(`contacts:${target.id}`)) out.associate.push({type: 'contacts', id: target.id})
        next.add(crmid)
      } else {
        const id = hsIdOf.get(crmid)!
        if (!dissociated.has(`contacts:${id}`)) out.dissociate.push({type: 'contacts', id})
      }
    } else {
      // HubSpot changed: coreBOS follows, if this stream writes coreBOS
      if (!input.writes.crm) {
        if (before) next.add(crmid)
        continue
      }
      if (h) {
        out.relate.add.push(crmid)
        next.add(crmid)
      } else out.relate.remove.push(crmid)
    }
  }
  out.next.crm[CONTACT_SET_KEY] = contactSetValue(next)
  const contacts = new Set(out.next.associations.contacts ?? view.current.contacts ?? [])
  for (const a of out.associate) if (a.type === 'contacts') contacts.add(a.id)
  for (const a of out.dissociate) if (a.type === 'contacts') contacts.delete(a.id)
  out.next.associations = {...out.next.associations, contacts: [...contacts]}
}

/** The linked record HubSpot's associations name, by the reference's type preference. */
function preferred(view: ReferenceView, linked: string[]): number | undefined {
  for (const type of view.types) {
    const key = linked.find((k) => k.startsWith(`${type}:`))
    if (key) return view.crmOf(type, key.slice(type.length + 1))
  }
  return undefined
}

/** The snapshot of a pair that was just created on one side from the other's values. */
export function createdSnapshot(mapper: ModuleMapper, crm: Values, hs: Values, associations: Record<string, string[]>): Snapshot {
  const next: Snapshot = {crm: {}, hs: {}, associations}
  for (const field of mapper.crmKeys) next.crm[field] = crm[field] ?? null
  for (const property of mapper.hsKeys) next.hs[property] = hs[property] ?? null
  return next
}
