/**
 * Clocks and concurrent edits (DESIGN.md §5, invariants 13 and 14; issue 15) over the in-memory kit:
 * a record dated in the future, the hour repeated when clocks go back, a coreBOS save made while a
 * pull is running.
 */
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import type {PassReport} from '../../src/sync/engine.js'
import {naiveToEpochMs} from '../../src/sync/time.js'
import type {ConflictPolicy} from '../../src/sync/types.js'
import {buildMemoryEngine, runPull, runPush, runReconcile, writesOf, type MemoryEngineOptions, type MemoryKit} from '../support/memory/index.js'

const STEP_MS = 7 * 60_000

async function push(kit: MemoryKit, stepMs = STEP_MS): Promise<PassReport> {
  kit.clock.advance(stepMs)
  return runPush(kit.engine)
}

async function pull(kit: MemoryKit, stepMs = STEP_MS): Promise<PassReport> {
  kit.clock.advance(stepMs)
  return runPull(kit.engine)
}

function contactOf(kit: MemoryKit, crmid: number) {
  const found = kit.hubspot.all('contacts').filter((o) => o.properties[kit.hubspot.uniqueProperty] === String(crmid))
  expect(found, `contact with corebos_crmid ${crmid}`).toHaveLength(1)
  return found[0]
}

async function syncedContacts(options: MemoryEngineOptions = {}, count = 2): Promise<{kit: MemoryKit; ids: number[]}> {
  const kit = await buildMemoryEngine(options)
  const ids = Array.from({length: count}, (_, i) => kit.crm.insert('Contacts', {lastname: `Doe ${i}`, email: `c${i}@clock.test`, phone: '100'}))
  await push(kit)
  await pull(kit)
  return {kit, ids}
}

describe('a record dated in the future (an import, a wrong clock)', () => {
  it('is sent, does not move the watermark past the database clock, and does not freeze the stream', async () => {
    const {kit, ids} = await syncedContacts()
    const [future, other] = ids
    kit.crm.setRaw('Contacts', future, {modifiedtime: '2030-01-01 00:00:00', fields: {phone: '555 imported'}})

    const first = await push(kit)
    expect(contactOf(kit, future).properties.phone).toBe('555 imported')
    const mark = await kit.engine.state.getWatermark('Contacts', 'push')
    expect(mark.value).not.toBeNull()
    expect(Date.parse(mark.value!)).toBeLessThanOrEqual(kit.clock.nowMs())

    kit.crm.edit('Contacts', other, {phone: '600 later edit'})
    await push(kit)
    expect(contactOf(kit, other).properties.phone).toBe('600 later edit')

    // read again every pass until its time has passed, but nothing is written twice
    const again = await writesOf(kit, () => push(kit))
    expect(again.total).toBe(0)
    expect(first.warnings.join('\n')).toMatch(new RegExp(`Contacts: 1 record dated after the database clock \\(Contacts ${future} at 2030-01-01 00:00:00\\)`))
  })

  it('a watermark an older version left past the database clock is held at the clock, and said so', async () => {
    const {kit, ids} = await syncedContacts()
    await kit.engine.state.setWatermark('Contacts', 'push', '2030-01-01 00:00:00', null)
    kit.crm.edit('Contacts', ids[0], {phone: '800'})
    const report = await push(kit)
    expect(contactOf(kit, ids[0]).properties.phone).toBe('800')
    expect(report.warnings.join('\n')).toMatch(/Contacts: the push watermark \(2030-01-01 00:00:00\) was past the database clock.*cbhs push --full/)
    expect(Date.parse((await kit.engine.state.getWatermark('Contacts', 'push')).value!)).toBeLessThanOrEqual(kit.clock.nowMs())
  })

  it('an old watermark row (a naive coreBOS datetime) is still read', async () => {
    const {kit, ids} = await syncedContacts()
    await kit.engine.state.setWatermark('Contacts', 'push', '2025-03-03 09:00:00', null)
    kit.crm.edit('Contacts', ids[0], {phone: '700'})
    await push(kit)
    expect(contactOf(kit, ids[0]).properties.phone).toBe('700')
    const mark = await kit.engine.state.getWatermark('Contacts', 'push')
    expect(mark.value).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
  })
})

describe('the hour repeated when clocks go back (Europe/Madrid, 2025-10-26 03:00 CEST → 02:00 CET)', () => {
  it('an edit saved in the second 02:xx hour is pushed', async () => {
    // 02:30 CEST
    const {kit, ids} = await syncedContacts({timezone: 'Europe/Madrid', startMs: Date.parse('2025-10-26T00:16:00Z')})
    const [a, b] = ids
    expect(kit.crm.naiveNow()).toBe('2025-10-26 02:30:00')
    kit.clock.advance(20 * 60_000)
    kit.crm.edit('Contacts', a, {phone: 'first 02:50'})
    await push(kit) // 02:57 CEST: the watermark holds 02:50
    expect(contactOf(kit, a).properties.phone).toBe('first 02:50')

    kit.clock.advance(13 * 60_000) // 02:10 CET, the second time the clock shows 02:10
    expect(kit.crm.naiveNow()).toBe('2025-10-26 02:10:00')
    kit.crm.edit('Contacts', b, {phone: 'second 02:10'})
    await push(kit)
    expect(contactOf(kit, b).properties.phone).toBe('second 02:10')

    kit.clock.advance(20 * 60_000) // 02:37 CET
    kit.crm.edit('Contacts', a, {phone: 'second 02:37'})
    await push(kit)
    expect(contactOf(kit, a).properties.phone).toBe('second 02:37')
    expect(naiveToEpochMs(kit.crm.naiveNow(), 'Europe/Madrid')).toBeLessThan(kit.clock.nowMs())
  })
})

describe('a coreBOS save made while a pull is running (compare-and-set)', () => {
  async function raced(policy: ConflictPolicy, userFields: Record<string, string>) {
    const {kit, ids} = await syncedContacts({conflictPolicy: policy}, 1)
    const [crmid] = ids
    const id = contactOf(kit, crmid).id
    kit.hubspot.edit('contacts', id, {phone: 'hubspot 300'})
    kit.clock.advance(60_000)
    // the user saves after the pull read the record and before it writes
    kit.crm.beforeNextUpdate = (module, target) => {
      if (module === 'Contacts' && target === crmid) kit.crm.edit('Contacts', crmid, userFields)
    }
    const report = await pull(kit, 0)
    expect(kit.crm.beforeNextUpdate).toBeNull()
    return {kit, crmid, id, report}
  }

  it('newest: the later coreBOS save wins, is not overwritten, is reported as a conflict and reaches HubSpot', async () => {
    const {kit, crmid, id, report} = await raced('newest', {phone: 'crm 200'})
    expect(kit.crm.get('Contacts', crmid)!.fields.phone).toBe('crm 200')
    expect(report.conflicts.map((c) => ({crmid: c.crmid, key: c.key, winner: c.winner}))).toEqual([{crmid, key: 'phone', winner: 'crm'}])
    expect(report.failures).toEqual([])
    await push(kit)
    expect(kit.hubspot.get('contacts', id)!.properties.phone).toBe('crm 200')
    const quiet = await writesOf(kit, async () => (await pull(kit), await push(kit)))
    expect(quiet.total).toBe(0)
  })

  it('hubspot: HubSpot wins over the save, and the conflict is reported', async () => {
    const {kit, crmid, report} = await raced('hubspot', {phone: 'crm 200'})
    expect(kit.crm.get('Contacts', crmid)!.fields.phone).toBe('hubspot 300')
    expect(report.conflicts.map((c) => ({crmid: c.crmid, key: c.key, winner: c.winner}))).toEqual([{crmid, key: 'phone', winner: 'hubspot'}])
  })

  it('a save of another field keeps both edits', async () => {
    const {kit, crmid, id, report} = await raced('newest', {mobile: '699 000 111'})
    expect(kit.crm.get('Contacts', crmid)!.fields).toMatchObject({phone: 'hubspot 300', mobile: '699 000 111'})
    expect(report.conflicts).toEqual([])
    await push(kit)
    expect(kit.hubspot.get('contacts', id)!.properties).toMatchObject({phone: 'hubspot 300', mobilephone: '699 000 111'})
  })

  it('reconcile --apply: a save made while it writes the record is merged again, not overwritten', async () => {
    const kit = await buildMemoryEngine()
    const crmid = kit.crm.insert('Contacts', {lastname: 'Twin', email: 'twin@cas.test', phone: '100'})
    kit.clock.advance(60_000)
    const id = kit.hubspot.create('contacts', {lastname: 'Twin', email: 'twin@cas.test', phone: 'hubspot 200'})
    kit.clock.advance(60_000)
    kit.crm.beforeNextUpdate = (module, target) => {
      if (module === 'Contacts' && target === crmid) kit.crm.edit('Contacts', crmid, {phone: 'crm 300'})
    }
    const report = await runReconcile(kit.engine, {apply: true})
    expect(kit.crm.beforeNextUpdate).toBeNull()
    expect(report.failures).toEqual([])
    expect(kit.crm.get('Contacts', crmid)!.fields.phone).toBe('crm 300')
    expect(kit.hubspot.get('contacts', id)!.properties.phone).toBe('crm 300')
  })

  it('property: a save made during a pull is never lost (the policy decides, and says so)', async () => {
    const fields = fc.constantFrom('phone' as const, 'mobile' as const, 'title' as const)
    const property = {phone: 'phone', mobile: 'mobilephone', title: 'jobtitle'} as const
    await fc.assert(
      fc.asyncProperty(fields, fields, fc.constantFrom<ConflictPolicy>('newest', 'crm', 'hubspot'), fc.nat(3), async (hsField, crmField, policy, saves) => {
        const {kit, ids} = await syncedContacts({conflictPolicy: policy}, 1)
        const [crmid] = ids
        const id = contactOf(kit, crmid).id
        kit.hubspot.edit('contacts', id, {[property[hsField]]: 'from hubspot'})
        kit.clock.advance(60_000)
        // the user may save more than once while the pull retries its write
        let left = saves + 1
        const save = (module: string, target: number) => {
          if (module !== 'Contacts' || target !== crmid) return
          kit.crm.edit('Contacts', crmid, {[crmField]: `from crm ${left}`})
          if (--left > 0) kit.crm.beforeNextUpdate = save
        }
        kit.crm.beforeNextUpdate = save
        const report = await pull(kit, 0)
        kit.crm.beforeNextUpdate = null
        const stored = kit.crm.get('Contacts', crmid)!.fields[crmField]
        const saved = `from crm ${left + 1}`
        const conflict = report.conflicts.find((c) => c.key === property[crmField] || c.key === crmField)
        if (hsField === crmField && policy === 'hubspot' && saves + 1 >= 4) {
          // saved before each of the writer's four tries: it gives up for this pass, the save stays
          expect(stored).toBe(saved)
          expect(report.failures.map((f) => [f.crmid, f.category])).toEqual([[crmid, 'CHANGED_SINCE_READ']])
        } else if (hsField === crmField && policy === 'hubspot') {
          // HubSpot wins by policy: that is a reported conflict, not a silent overwrite
          expect(stored).toBe('from hubspot')
          expect(conflict?.winner).toBe('hubspot')
        } else {
          expect(stored).toBe(saved)
          if (hsField === crmField) expect(conflict?.winner).toBe('crm')
        }
      }),
      {numRuns: 40},
    )
  })
})
