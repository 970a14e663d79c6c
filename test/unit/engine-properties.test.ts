/**
 * Random edit sequences on both sides, interleaved with passes, over the in-memory kit; then the
 * sync is left to settle (push + pull, twice) and DESIGN.md §5's promises are checked:
 *
 * - no echo / idempotent: two more rounds of push + pull after settling write nothing on either side,
 *   with every open ledger entry due again before each round
 * - no lost edit: a linked, eligible pair agrees on every synced field, and the agreed value is the
 *   last one written on the only side that edited it, or one of the two sides' last values
 * - no duplicate: one HubSpot object per crmid, one coreBOS record per object, no record holding the
 *   id of an object that names another record, every eligible record linked or in the ledger
 * - consent: no push writes a record that was not opted in (or was deleted in HubSpot) when it ran
 *
 * fast-check prints the seed, path and shrunk sequence when a property fails; CBHS_PROPERTY_SEED and
 * CBHS_PROPERTY_PATH replay it, CBHS_PROPERTY_RUNS changes the number of runs.
 */
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {RETRY_CAP_MS} from '../../src/corebos/state.js'
import {buildMemoryEngine, runPull, runPush, writesOf, type MemoryKit} from '../support/memory/index.js'

const STEP_MS = 7 * 60_000
const NUM_RUNS = Number(process.env.CBHS_PROPERTY_RUNS ?? 100)
/** replays a failure: the seed and path fast-check printed */
const REPLAY = process.env.CBHS_PROPERTY_SEED ? {seed: Number(process.env.CBHS_PROPERTY_SEED), path: process.env.CBHS_PROPERTY_PATH} : {}
/** few addresses, so records share them; the last one HubSpot refuses */
const EMAILS = ['ann@x.test', 'bob@x.test', 'cat@x.test', 'dan@x.test', 'not-an-address']

type Key = 'first' | 'phone' | 'city' | 'email'
type Module = 'Contacts' | 'Leads' | 'Accounts'
type Type = 'contacts' | 'companies'

/** The synced fields the sequences edit: coreBOS field and HubSpot property per module. */
const FIELDS: Record<Module, Partial<Record<Key, [string, string]>>> = {
  Contacts: {first: ['firstname', 'firstname'], phone: ['phone', 'phone'], city: ['mailingcity', 'city'], email: ['email', 'email']},
  Leads: {first: ['firstname', 'firstname'], phone: ['phone', 'phone'], city: ['city', 'city'], email: ['email', 'email']},
  Accounts: {first: ['description', 'description'], phone: ['phone', 'phone'], city: ['bill_city', 'city']},
}
const MODULES_OF: Record<Type, Module[]> = {contacts: ['Contacts', 'Leads'], companies: ['Accounts']}
const TYPE_OF: Record<Module, Type> = {Contacts: 'contacts', Leads: 'contacts', Accounts: 'companies'}

type Order = 'push' | 'pull' | 'push,pull' | 'pull,push'
type Action =
  | {kind: 'crmCreate'; module: Module; email: number; optIn: boolean; n: number}
  | {kind: 'crmEdit'; ref: number; key: 'first' | 'phone' | 'city'; n: number}
  | {kind: 'crmEmail'; ref: number; email: number}
  | {kind: 'crmOptIn'; ref: number; on: boolean}
  | {kind: 'crmTrash'; ref: number}
  | {kind: 'hsCreate'; type: Type; email: number; lifecycle: 'lead' | 'customer'; n: number}
  | {kind: 'hsEdit'; ref: number; key: 'first' | 'phone' | 'city'; n: number}
  | {kind: 'hsEmail'; ref: number; email: number}
  | {kind: 'hsArchive'; ref: number}
  | {kind: 'crmImport'; module: Module; email: number}
  | {kind: 'pass'; order: Order}

const ref = fc.nat(20)
const key = fc.constantFrom('first' as const, 'phone' as const, 'city' as const)
const action: fc.Arbitrary<Action> = fc.oneof(
  {arbitrary: fc.record({kind: fc.constant('crmCreate' as const), module: fc.constantFrom<Module>('Contacts', 'Leads', 'Accounts'), email: fc.nat(4), optIn: fc.boolean(), n: fc.nat(3)}), weight: 3},
  {arbitrary: fc.record({kind: fc.constant('crmEdit' as const), ref, key, n: fc.nat(3)}), weight: 3},
  {arbitrary: fc.record({kind: fc.constant('crmEmail' as const), ref, email: fc.nat(4)}), weight: 1},
  // a hundred records at once: a push then writes in more than one batch
  {arbitrary: fc.record({kind: fc.constant('crmImport' as const), module: fc.constantFrom<Module>('Contacts', 'Leads'), email: fc.nat(3)}), weight: 2},
  {arbitrary: fc.record({kind: fc.constant('crmOptIn' as const), ref, on: fc.boolean()}), weight: 1},
  {arbitrary: fc.record({kind: fc.constant('crmTrash' as const), ref}), weight: 1},
  {arbitrary: fc.record({kind: fc.constant('hsCreate' as const), type: fc.constantFrom<Type>('contacts', 'companies'), email: fc.nat(3), lifecycle: fc.constantFrom('lead' as const, 'customer' as const), n: fc.nat(3)}), weight: 2},
  {arbitrary: fc.record({kind: fc.constant('hsEdit' as const), ref, key, n: fc.nat(4)}), weight: 3},
  {arbitrary: fc.record({kind: fc.constant('hsEmail' as const), ref, email: fc.nat(3)}), weight: 1},
  {arbitrary: fc.record({kind: fc.constant('hsArchive' as const), ref}), weight: 1},
  {arbitrary: fc.record({kind: fc.constant('pass' as const), order: fc.constantFrom<Order>('push', 'pull', 'push,pull', 'pull,push')}), weight: 3},
)
const sequences = fc.array(action, {minLength: 1, maxLength: 14})

interface Edit {
  at: number
  value: string
}

type Property = 'noEcho' | 'noLostEdit' | 'noDuplicate' | 'consent'

interface Outcome {
  violations: Record<Property, string[]>
}

const value = (k: Key, n: number) => `${k}-${n}`
/** what a HubSpot user may type that coreBOS cannot store unchanged (4-byte character, longer than the column) */
const LOSSY: Record<'first' | 'phone' | 'city', string> = {first: 'Zoë 😀', phone: `+34 ${'9'.repeat(60)}`, city: `Llanfair${'pwllgwyngyll'.repeat(8)}`}
const hsValue = (k: 'first' | 'phone' | 'city', n: number) => (n === 4 ? LOSSY[k] : value(k, n))
const norm = (v: string | null | undefined) => v ?? ''

class Scenario {
  readonly edits = new Map<string, Edit[]>()
  readonly violations: Outcome['violations'] = {noEcho: [], noLostEdit: [], noDuplicate: [], consent: []}
  private imported = 0

  constructor(readonly kit: MemoryKit) {}

  private note(side: 'crm' | 'hs', entity: string, k: Key, v: string | null): void {
    const id = `${side}:${entity}:${k}`
    ;(this.edits.get(id) ?? this.edits.set(id, []).get(id)!).push({at: this.kit.clock.nowMs(), value: norm(v)})
  }

  private liveRecords(): Array<{module: Module; crmid: number}> {
    return (['Accounts', 'Contacts', 'Leads'] as Module[]).flatMap((m) => this.kit.crm.all(m).filter((r) => !r.deleted).map((r) => ({module: m, crmid: r.crmid})))
  }

  private liveObjects(): Array<{type: Type; id: string}> {
    return (['companies', 'contacts'] as Type[]).flatMap((t) => this.kit.hubspot.all(t).map((o) => ({type: t, id: o.id})))
  }

  async apply(a: Action): Promise<void> {
    const {kit} = this
    if (a.kind === 'pass') {
      for (const p of a.order.split(',') as Array<'push' | 'pull'>) await this.pass(p)
      return
    }
    kit.clock.advance(5_000)
    const records = this.liveRecords()
    const objects = this.liveObjects()
    const record = records.length > 0 && 'ref' in a ? records[a.ref % records.length] : undefined
    const object = objects.length > 0 && 'ref' in a ? objects[a.ref % objects.length] : undefined
    switch (a.kind) {
      case 'crmCreate': {
        const email: Record<string, string> = a.module === 'Accounts' ? {} : {email: EMAILS[a.email]}
        const fields: Record<string, string> = {
          ...(a.module === 'Accounts' ? {accountname: `Account ${a.n}`} : {lastname: `Last ${a.n}`}),
          ...(a.module === 'Leads' ? {company: 'Lead Co'} : {}),
          ...email,
          [FIELDS[a.module].first![0]]: value('first', a.n),
          [FIELDS[a.module].phone![0]]: value('phone', a.n),
        }
        const crmid = kit.crm.insert(a.module, fields, {optIn: a.optIn})
        for (const [k, [field]] of Object.entries(FIELDS[a.module]) as Array<[Key, [string, string]]>) this.note('crm', `${a.module}:${crmid}`, k, fields[field] ?? null)
        return
      }
      case 'crmImport': {
        // the last one has an address of the pool: with an earlier record it makes a pair split over two batches
        for (let i = 0; i <= 100; i++) {
          const n = this.imported++
          const email = a.module === 'Accounts' ? null : i === 100 ? EMAILS[a.email] : `imported${n}@x.test`
          const crmid = kit.crm.insert(a.module, a.module === 'Accounts' ? {accountname: `Imported ${n}`} : {lastname: `Imported ${n}`, email, ...(a.module === 'Leads' ? {company: 'Lead Co'} : {})})
          for (const k of Object.keys(FIELDS[a.module]) as Key[]) this.note('crm', `${a.module}:${crmid}`, k, k === 'email' ? email : null)
        }
        return
      }
      case 'crmEdit': {
        if (!record) return
        kit.crm.edit(record.module, record.crmid, {[FIELDS[record.module][a.key]![0]]: value(a.key, a.n)})
        this.note('crm', `${record.module}:${record.crmid}`, a.key, value(a.key, a.n))
        return
      }
      case 'crmEmail': {
        if (!record || record.module === 'Accounts') return
        kit.crm.edit(record.module, record.crmid, {email: EMAILS[a.email]})
        this.note('crm', `${record.module}:${record.crmid}`, 'email', EMAILS[a.email])
        return
      }
      case 'crmOptIn':
        if (record) kit.crm.edit(record.module, record.crmid, {hubspotsyncwith: a.on ? '1' : '0'})
        return
      case 'crmTrash':
        if (record) kit.crm.trashByUser(record.module, record.crmid)
        return
      case 'hsCreate': {
        const props: Record<string, string> =
          a.type === 'companies'
            ? {name: `Company ${a.n}`, phone: value('phone', a.n), city: value('city', a.n)}
            : {lastname: `Last ${a.n}`, firstname: value('first', a.n), phone: value('phone', a.n), email: EMAILS[a.email], lifecyclestage: a.lifecycle}
        let id: string
        try {
          id = kit.hubspot.create(a.type, props)
        } catch {
          return // HubSpot keeps one contact per e-mail: a user cannot create a second one either
        }
        const module = a.type === 'companies' ? 'Accounts' : 'Contacts'
        for (const [k, [, prop]] of Object.entries(FIELDS[module]) as Array<[Key, [string, string]]>) this.note('hs', `${a.type}:${id}`, k, props[prop] ?? null)
        return
      }
      case 'hsEdit': {
        if (!object) return
        const prop = FIELDS[MODULES_OF[object.type][0]][a.key]![1]
        kit.hubspot.edit(object.type, object.id, {[prop]: hsValue(a.key, a.n)})
        this.note('hs', `${object.type}:${object.id}`, a.key, hsValue(a.key, a.n))
        return
      }
      case 'hsEmail': {
        if (!object || object.type !== 'contacts') return
        try {
          kit.hubspot.edit('contacts', object.id, {email: EMAILS[a.email]})
        } catch {
          return
        }
        this.note('hs', `contacts:${object.id}`, 'email', EMAILS[a.email])
        return
      }
      case 'hsArchive':
        if (object) kit.hubspot.archiveByUser(object.type, object.id)
        return
    }
  }

  /** One pass; a push is watched for records it must not send. */
  async pass(which: 'push' | 'pull'): Promise<number> {
    const {kit} = this
    kit.clock.advance(STEP_MS)
    const ineligible = new Set(
      this.liveRecords()
        .map((r) => kit.crm.get(r.module, r.crmid)!)
        .filter((r) => r.fields.hubspotsyncwith !== '1' || r.fields.hubspotdeleted === '1')
        .map((r) => r.crmid),
    )
    const linksBefore = new Map(kit.state.allLinks().map((l) => [`${l.objectType}:${l.hubspotId}`, l.crmid]))
    const writes = await writesOf(kit, () => (which === 'push' ? runPush(kit.engine) : runPull(kit.engine)))
    if (which === 'push') {
      // an update is for the record its object is linked to once the pass is done: an opted-out or
      // converted Lead hands its contact over to the eligible record that holds the e-mail now
      const linksAfter = new Map(kit.state.allLinks().filter((l) => !l.archived).map((l) => [`${l.objectType}:${l.hubspotId}`, l.crmid]))
      for (const w of writes.hubspot) {
        if (w.op !== 'upsert' && w.op !== 'update') continue
        const crmid = w.op === 'upsert' ? Number(w.properties[kit.hubspot.uniqueProperty]) : (linksAfter.get(`${w.type}:${w.id}`) ?? linksBefore.get(`${w.type}:${w.id}`))
        if (crmid !== undefined && ineligible.has(crmid)) this.violations.consent.push(`push ${w.op} of ${w.type} ${w.id} for record ${crmid}, which was not opted in: ${JSON.stringify(w.properties)}`)
      }
    }
    return writes.total
  }

  async settleAndCheck(): Promise<void> {
    for (const p of ['push', 'pull', 'push', 'pull'] as const) await this.pass(p)
    for (const round of [1, 2]) {
      // every open ledger entry is due again: a steady pass with open failures writes nothing either
      this.kit.clock.advance(RETRY_CAP_MS)
      const pushWrites = await writesOf(this.kit, () => this.pass('push'))
      const pullWrites = await writesOf(this.kit, () => this.pass('pull'))
      for (const [name, w] of [['push', pushWrites], ['pull', pullWrites]] as const) {
        for (const c of w.crm) this.violations.noEcho.push(`settled round ${round}: ${name} wrote ${c.op} ${c.module} ${c.crmid} ${JSON.stringify(c.fields)}`)
        for (const h of w.hubspot) this.violations.noEcho.push(`settled round ${round}: ${name} wrote ${h.op} ${h.type} ${h.id} ${JSON.stringify(h.properties)}`)
      }
    }
    this.checkDuplicates()
    for (const m of ['Accounts', 'Contacts', 'Leads'] as Module[]) await this.kit.engine.prepare(m)
    this.checkEdits()
  }

  private checkDuplicates(): void {
    const {kit} = this
    const out = this.violations.noDuplicate
    for (const type of ['contacts', 'companies'] as Type[]) {
      const byCrmid = new Map<string, string[]>()
      for (const o of kit.hubspot.all(type)) {
        const crmid = o.properties[kit.hubspot.uniqueProperty]
        if (crmid) byCrmid.set(crmid, [...(byCrmid.get(crmid) ?? []), o.id])
      }
      for (const [crmid, ids] of byCrmid) if (ids.length > 1) out.push(`${type} ${ids.join(', ')} all carry corebos_crmid ${crmid}`)
      const byObject = new Map<string, string[]>()
      for (const m of MODULES_OF[type]) {
        for (const r of kit.crm.all(m).filter((x) => !x.deleted)) {
          const id = r.fields.hubspotid
          if (!id) continue
          byObject.set(id, [...(byObject.get(id) ?? []), `${m} ${r.crmid}`])
          const object = kit.hubspot.get(type, id)
          if (object && !object.archived && object.properties[kit.hubspot.uniqueProperty] !== String(r.crmid)) {
            out.push(`${m} ${r.crmid} holds hubspotid ${id}, whose corebos_crmid is ${object.properties[kit.hubspot.uniqueProperty]}`)
          }
        }
      }
      for (const [id, owners] of byObject) if (owners.length > 1) out.push(`${type} ${id} is the hubspotid of ${owners.join(' and ')}`)
    }
  }

  private checkEdits(): void {
    const {kit} = this
    const out = this.violations.noLostEdit
    const open = kit.state.openFailures()
    const links = kit.state.allLinks()
    for (const module of ['Accounts', 'Contacts', 'Leads'] as Module[]) {
      const type = TYPE_OF[module]
      for (const r of kit.crm.all(module)) {
        if (r.deleted || r.fields.hubspotsyncwith !== '1' || r.fields.hubspotdeleted === '1') continue
        const inLedger = open.some((f) => f.module === module && f.crmid === r.crmid)
        const link = links.find((l) => l.module === module && l.crmid === r.crmid && !l.archived)
        const object = link ? kit.hubspot.get(type, link.hubspotId) : undefined
        if (!object || object.archived) {
          if (!inLedger) out.push(`${module} ${r.crmid} is opted in but neither linked to a live ${type} object nor in the ledger`)
          continue
        }
        if (inLedger || open.some((f) => f.hubspotId === object.id)) continue
        for (const [k, [field, prop]] of Object.entries(FIELDS[module]) as Array<[Key, [string, string]]>) {
          const crm = norm(r.fields[field])
          const hs = norm(object.properties[prop])
          const crmLast = (this.edits.get(`crm:${module}:${r.crmid}:${k}`) ?? []).at(-1)?.value
          const hsLast = (this.edits.get(`hs:${type}:${object.id}:${k}`) ?? []).at(-1)?.value
          // the pair holds the last coreBOS value on both sides, or the last HubSpot value and its coreBOS form
          const settled: Array<[string, string]> = []
          if (crmLast !== undefined) settled.push([crmLast, crmLast])
          if (hsLast !== undefined) settled.push([this.crmForm(module, field, prop, hsLast, r.fields), hsLast])
          if (settled.length === 0) settled.push([this.crmForm(module, field, prop, hs, r.fields), hs])
          if (!settled.some(([c, h]) => c === crm && h === hs)) {
            out.push(`${module} ${r.crmid} ${field}='${crm}' / ${type} ${object.id} ${prop}='${hs}', but the last edits were ${JSON.stringify({crm: crmLast, hubspot: hsLast})}`)
          }
        }
      }
    }
  }

  /** The value coreBOS stores for a HubSpot value, by the engine's own conversion. */
  private crmForm(module: Module, field: string, prop: string, v: string, current: Record<string, string | null>): string {
    const mapped = this.kit.engine.mappers[module].toCrm({id: '0', properties: {[prop]: v === '' ? null : v}}, current)
    return norm(mapped.values[field])
  }
}

async function run(actions: Action[]): Promise<Outcome> {
  const scenario = new Scenario(await buildMemoryEngine())
  for (const a of actions) await scenario.apply(a)
  await scenario.settleAndCheck()
  return {violations: scenario.violations}
}

function check(property: Property) {
  return async () => {
    await fc.assert(
      fc.asyncProperty(sequences, async (actions) => {
        const {violations} = await run(actions)
        expect(violations[property], `after ${JSON.stringify(actions)}`).toEqual([])
      }),
      {numRuns: NUM_RUNS, ...REPLAY},
    )
  }
}

describe('random edits on both sides, then settled', () => {
  it('no echo: once settled, push and pull write nothing, twice over', check('noEcho'))
  it('no lost edit: linked pairs agree, on the last value of the side that edited', check('noLostEdit'))
  it('no duplicate: one object per record and one record per object', check('noDuplicate'))
  it('consent: a push never writes a record that is not opted in', check('consent'))
})
