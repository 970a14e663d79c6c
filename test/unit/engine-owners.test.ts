/**
 * Record owners (issue 20) over the in-memory kit: assigned_user_id ↔ hubspot_owner_id by e-mail,
 * merged three-way like any mapped field, with the default user / no owner when one side has no match.
 */
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import type {PassReport} from '../../src/sync/engine.js'
import type {HubSpotObjectType} from '../../src/sync/types.js'
import {buildMemoryEngine, runPull, runPush, writesOf, type MemoryKit, type Writes} from '../support/memory/index.js'

const STEP_MS = 7 * 60_000

async function pass(kit: MemoryKit, which: 'push' | 'pull'): Promise<Writes & {report: PassReport}> {
  kit.clock.advance(STEP_MS)
  let report!: PassReport
  const writes = await writesOf(kit, async () => (report = which === 'push' ? await runPush(kit.engine) : await runPull(kit.engine)))
  return {...writes, report}
}

function objectOf(kit: MemoryKit, type: HubSpotObjectType, crmid: number) {
  const found = kit.hubspot.all(type).filter((o) => o.properties[kit.hubspot.uniqueProperty] === String(crmid))
  expect(found).toHaveLength(1)
  return found[0]
}

/** Two coreBOS users with HubSpot owners of the same e-mail, one without, and a group. */
async function kitWithOwners() {
  const kit = await buildMemoryEngine()
  kit.crm.users.push({id: 5, email: 'ana@acme.test', active: true}, {id: 6, email: 'bo@acme.test', active: true}, {id: 7, email: 'cy@acme.test', active: true}, {id: 8, email: 'old@acme.test', active: false})
  kit.crm.groupIds.push(3)
  const ana = kit.hubspot.store.addOwner({email: 'Ana@acme.test'}).id
  const bo = kit.hubspot.store.addOwner({email: 'bo@acme.test'}).id
  const old = kit.hubspot.store.addOwner({email: 'old@acme.test'}).id
  const stranger = kit.hubspot.store.addOwner({email: 'stranger@elsewhere.test'}).id
  return {kit, owners: {ana, bo, old, stranger}}
}

describe('owners', () => {
  it('a record created on either side takes the owner with the same e-mail, and the passes after write nothing', async () => {
    const {kit, owners} = await kitWithOwners()
    const con = kit.crm.insert('Contacts', {lastname: 'Doe', email: 'jane@acme.test', assigned_user_id: '5'})
    const acc = kit.crm.insert('Accounts', {accountname: 'Acme', assigned_user_id: '6'})
    await pass(kit, 'push')
    expect(objectOf(kit, 'contacts', con).properties.hubspot_owner_id).toBe(owners.ana)
    expect(objectOf(kit, 'companies', acc).properties.hubspot_owner_id).toBe(owners.bo)

    kit.hubspot.create('contacts', {lastname: 'Poe', email: 'poe@acme.test', hubspot_owner_id: owners.bo})
    const pulled = await pass(kit, 'pull')
    expect(pulled.report.failures).toEqual([])
    const poe = kit.crm.all('Contacts').find((r) => r.fields.lastname === 'Poe')
    expect(poe?.fields.assigned_user_id).toBe('6')

    for (const which of ['push', 'pull', 'push'] as const) {
      const w = await pass(kit, which)
      expect([...w.crm, ...w.hubspot], which).toEqual([])
    }
  })

  it('an owner change on either side reaches the other', async () => {
    const {kit, owners} = await kitWithOwners()
    const con = kit.crm.insert('Contacts', {lastname: 'Doe', email: 'jane@acme.test', assigned_user_id: '5'})
    await pass(kit, 'push')
    await pass(kit, 'pull')
    const id = objectOf(kit, 'contacts', con).id

    kit.crm.edit('Contacts', con, {assigned_user_id: '6'})
    await pass(kit, 'push')
    expect(kit.hubspot.get('contacts', id)?.properties.hubspot_owner_id).toBe(owners.bo)

    kit.hubspot.edit('contacts', id, {hubspot_owner_id: owners.ana})
    await pass(kit, 'pull')
    expect(kit.crm.get('Contacts', con)?.fields.assigned_user_id).toBe('5')
    const quiet = [await pass(kit, 'push'), await pass(kit, 'pull')]
    expect(quiet.flatMap((w) => [...w.crm, ...w.hubspot])).toEqual([])
  })

  it('an owner cleared in HubSpot leaves the coreBOS owner as it is (coreBOS always has one), and nothing echoes', async () => {
    const {kit, owners} = await kitWithOwners()
    const con = kit.crm.insert('Contacts', {lastname: 'Doe', email: 'jane@acme.test', assigned_user_id: '5'})
    await pass(kit, 'push')
    const id = objectOf(kit, 'contacts', con).id
    expect(kit.hubspot.get('contacts', id)?.properties.hubspot_owner_id).toBe(owners.ana)
    kit.hubspot.edit('contacts', id, {hubspot_owner_id: ''})
    const pulled = await pass(kit, 'pull')
    expect(pulled.crm).toEqual([])
    expect(kit.crm.get('Contacts', con)?.fields.assigned_user_id).toBe('5')
    const quiet = [await pass(kit, 'push'), await pass(kit, 'pull')]
    expect(quiet.flatMap((w) => [...w.crm, ...w.hubspot])).toEqual([])
  })

  it('both sides changing the owner is a conflict settled by the policy, like a field', async () => {
    const {kit, owners} = await kitWithOwners()
    const con = kit.crm.insert('Contacts', {lastname: 'Doe', email: 'jane@acme.test', assigned_user_id: '5'})
    await pass(kit, 'push')
    const id = objectOf(kit, 'contacts', con).id
    kit.crm.edit('Contacts', con, {assigned_user_id: '6'})
    kit.clock.advance(5_000)
    kit.hubspot.edit('contacts', id, {hubspot_owner_id: owners.stranger})
    const pulled = await pass(kit, 'pull')
    // HubSpot's edit is the newer: it wins; its owner has no coreBOS user, so the default user gets the record
    expect(pulled.report.conflicts.map((c) => c.key)).toEqual(["assigned_user_id"])
    expect(kit.crm.get('Contacts', con)?.fields.assigned_user_id).toBe('1')
    expect(kit.hubspot.get('contacts', id)?.properties.hubspot_owner_id).toBe(owners.stranger)
  })

  it('property: any owner edits on either side, each followed by its pass, end with the last edit on both sides and passes that write nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({side: fc.constantFrom('crm', 'hubspot'), who: fc.constantFrom('ana', 'bo')}), {minLength: 1, maxLength: 6}), async (edits) => {
        const {kit, owners} = await kitWithOwners()
        const user = {ana: '5', bo: '6'} as const
        const con = kit.crm.insert('Contacts', {lastname: 'Doe', email: 'jane@acme.test', assigned_user_id: '5'})
        await pass(kit, 'push')
        await pass(kit, 'pull')
        const id = objectOf(kit, 'contacts', con).id
        for (const e of edits) {
          if (e.side === 'crm') {
            kit.crm.edit('Contacts', con, {assigned_user_id: user[e.who]})
            await pass(kit, 'push')
          } else {
            kit.hubspot.edit('contacts', id, {hubspot_owner_id: owners[e.who]})
            await pass(kit, 'pull')
          }
        }
        await pass(kit, 'push')
        await pass(kit, 'pull')
        const last = edits[edits.length - 1].who
        expect(kit.crm.get('Contacts', con)?.fields.assigned_user_id).toBe(user[last])
        expect(kit.hubspot.get('contacts', id)?.properties.hubspot_owner_id).toBe(owners[last])
        const quiet = [await pass(kit, 'push'), await pass(kit, 'pull')]
        expect(quiet.flatMap((w) => [...w.crm, ...w.hubspot])).toEqual([])
      }),
      {numRuns: 25},
    )
  })

  it('an unmatched HubSpot owner gives the default user and a coreBOS group gives no owner, each with one warning naming it, and neither echoes back', async () => {
    const {kit, owners} = await kitWithOwners()
    kit.hubspot.create('contacts', {lastname: 'Far', email: 'far@acme.test', hubspot_owner_id: owners.stranger})
    kit.hubspot.create('contacts', {lastname: 'Gone', email: 'gone@acme.test', hubspot_owner_id: owners.old})
    const pulled = await pass(kit, 'pull')
    expect(pulled.report.failures).toEqual([])
    const far = kit.crm.all('Contacts').find((r) => r.fields.lastname === 'Far')!
    const gone = kit.crm.all('Contacts').find((r) => r.fields.lastname === 'Gone')!
    expect(far.fields.assigned_user_id).toBe('1')
    // old@ is an inactive coreBOS user: no match either
    expect(gone.fields.assigned_user_id).toBe('1')
    const warnings = pulled.report.warnings.filter((w) => w.includes('default user'))
    expect(warnings.filter((w) => w.includes(`HubSpot owner ${owners.stranger} (stranger@elsewhere.test)`))).toHaveLength(1)

    const grouped = kit.crm.insert('Contacts', {lastname: 'Team', email: 'team@acme.test', assigned_user_id: '3'})
    const unmatched = kit.crm.insert('Contacts', {lastname: 'Cy', email: 'cy2@acme.test', assigned_user_id: '7'})
    const pushed = await pass(kit, 'push')
    expect(pushed.report.failures).toEqual([])
    expect(objectOf(kit, 'contacts', grouped).properties.hubspot_owner_id ?? '').toBe('')
    expect(objectOf(kit, 'contacts', unmatched).properties.hubspot_owner_id ?? '').toBe('')
    expect(pushed.report.warnings.filter((w) => w.includes('coreBOS group 3'))).toHaveLength(1)
    expect(pushed.report.warnings.filter((w) => w.includes('coreBOS user 7 (cy@acme.test)'))).toHaveLength(1)

    const after = [await pass(kit, 'pull'), await pass(kit, 'push'), await pass(kit, 'pull')]
    expect(after.flatMap((w) => [...w.crm, ...w.hubspot])).toEqual([])
    expect(after.flatMap((w) => w.report.warnings.filter((x) => x.includes('owner')))).toEqual([])
    expect(kit.crm.get('Contacts', far.crmid)?.fields.assigned_user_id).toBe('1')
    expect(kit.crm.get('Contacts', grouped)?.fields.assigned_user_id).toBe('3')
  })
})
