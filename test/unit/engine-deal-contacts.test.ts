/**
 * Every contact of a potential (related_to and vtiger_contpotentialrel) ↔ every deal↔contact
 * association (issue 20), over the in-memory kit: a set merged element by element, both ways, with deletes.
 */
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import type {PassReport} from '../../src/sync/engine.js'
import type {HubSpotObjectType} from '../../src/sync/types.js'
import {buildMemoryEngine, runPull, runPush, writesOf, type MemoryKit, type Writes} from '../support/memory/index.js'

const STEP_MS = 7 * 60_000

async function pass(kit: MemoryKit, which: 'push' | 'pull', full = false): Promise<Writes & {report: PassReport}> {
  kit.clock.advance(STEP_MS)
  let report!: PassReport
  const writes = await writesOf(kit, async () => (report = which === 'push' ? await runPush(kit.engine, {full}) : await runPull(kit.engine, {full})))
  return {...writes, report}
}

function objectOf(kit: MemoryKit, type: HubSpotObjectType, crmid: number) {
  const found = kit.hubspot.all(type).filter((o) => o.properties[kit.hubspot.uniqueProperty] === String(crmid))
  expect(found).toHaveLength(1)
  return found[0]
}

/** A potential related to contact A with B and C in its Contacts list, pushed. */
async function dealWithThreeContacts() {
  const kit = await buildMemoryEngine()
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((n) => kit.crm.insert('Contacts', {lastname: n.toUpperCase(), email: `${n}@deal.test`}))
  const pot = kit.crm.insert('Potentials', {potentialname: 'Three', related_to: String(a), closingdate: '2025-04-30', sales_stage: 'Prospecting'})
  kit.crm.relateByUser(pot, {add: [b, c]})
  const first = await pass(kit, 'push')
  expect(first.report.failures).toEqual([])
  const hs = (id: number) => objectOf(kit, 'contacts', id).id
  const deal = objectOf(kit, 'deals', pot).id
  const dealContacts = () => kit.hubspot.associations('deals', deal, 'contacts').sort()
  return {kit, a, b, c, d, pot, deal, hs, dealContacts}
}

describe('deal contacts', () => {
  it('a potential with three contacts has three deal↔contact associations, and the passes after write nothing', async () => {
    const {kit, a, b, c, hs, dealContacts} = await dealWithThreeContacts()
    expect(dealContacts()).toEqual([hs(a), hs(b), hs(c)].sort())
    for (const which of ['pull', 'push', 'pull'] as const) {
      const w = await pass(kit, which)
      expect([...w.crm, ...w.hubspot], which).toEqual([])
    }
  })

  it('a contact removed from the deal in HubSpot leaves the potential; one added joins it; coreBOS keeps related_to', async () => {
    const {kit, a, b, c, d, pot, deal, hs, dealContacts} = await dealWithThreeContacts()
    await pass(kit, 'pull')
    kit.hubspot.dissociate('deals', deal, 'contacts', hs(b))
    kit.hubspot.associate('deals', deal, 'contacts', hs(d))
    // an association change alone does not move HubSpot's modified date: a full pull, or any edit, brings it
    kit.hubspot.edit('deals', deal, {description: 'contacts changed'})
    const pulled = await pass(kit, 'pull')
    expect(pulled.report.failures).toEqual([])
    expect(kit.crm.relatedContactsOf(pot)).toEqual([c, d])
    expect(kit.crm.get('Potentials', pot)?.fields.related_to).toBe(String(a))
    expect(dealContacts()).toEqual([hs(a), hs(c), hs(d)].sort())
    for (const which of ['push', 'pull', 'push'] as const) {
      const w = await pass(kit, which)
      expect([...w.crm, ...w.hubspot], which).toEqual([])
    }
  })

  it('a contact removed from the potential in coreBOS leaves the deal; one added joins it; contacts people added in HubSpot alone stay', async () => {
    const {kit, a, b, c, d, pot, deal, hs, dealContacts} = await dealWithThreeContacts()
    const stranger = kit.hubspot.create('contacts', {lastname: 'Stranger', email: 'stranger@deal.test'})
    kit.hubspot.associate('deals', deal, 'contacts', stranger)
    // the stranger is not opted in on the coreBOS side (pull creates Contacts only for HubSpot contacts it sees; here it stays unlinked)
    kit.crm.relateByUser(pot, {remove: [c], add: [d]})
    kit.crm.edit('Potentials', pot, {description: 'touched'})
    await pass(kit, 'push')
    expect(dealContacts()).toEqual([hs(a), hs(b), hs(d), stranger].sort())
    expect(kit.crm.relatedContactsOf(pot)).toEqual([b, d])
  })

  it('moving related_to to another contact in coreBOS keeps the list contacts associated', async () => {
    const {kit, a, b, c, d, pot, hs, dealContacts} = await dealWithThreeContacts()
    kit.crm.edit('Potentials', pot, {related_to: String(d)})
    await pass(kit, 'push')
    expect(dealContacts()).toEqual([hs(b), hs(c), hs(d)].sort())
    const after = [await pass(kit, 'pull'), await pass(kit, 'push')]
    expect(after.flatMap((w) => [...w.crm, ...w.hubspot])).toEqual([])
    expect(kit.crm.relatedContactsOf(pot)).toEqual([b, c])
  })

  it('a HubSpot deal with three contacts becomes a potential related to one and listing the other two', async () => {
    const kit = await buildMemoryEngine()
    const ids = ['x', 'y', 'z'].map((n) => kit.hubspot.create('contacts', {lastname: n.toUpperCase(), email: `${n}@new.test`, lifecyclestage: 'customer'}))
    const deal = kit.hubspot.create('deals', {dealname: 'New', dealstage: 'appointmentscheduled', pipeline: 'default', closedate: '2025-05-01T00:00:00.000Z'})
    for (const id of ids) kit.hubspot.associate('deals', deal, 'contacts', id)
    const pulled = await pass(kit, 'pull')
    expect(pulled.report.failures).toEqual([])
    const pot = kit.crm.all('Potentials')[0]
    const contacts = kit.crm.all('Contacts').map((r) => r.crmid)
    expect(contacts).toHaveLength(3)
    const all = [Number(pot.fields.related_to), ...kit.crm.relatedContactsOf(pot.crmid)].sort((x, y) => x - y)
    expect(all).toEqual([...contacts].sort((x, y) => x - y))
    const after = [await pass(kit, 'push'), await pass(kit, 'pull'), await pass(kit, 'push')]
    expect(after.flatMap((w) => [...w.crm, ...w.hubspot])).toEqual([])
  })

  it('property: any edits of the two lists, each side at a time, end with both sides holding the same contacts, the last edit of each contact winning', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({side: fc.constantFrom('crm', 'hubspot'), contact: fc.integer({min: 0, max: 3}), add: fc.boolean()}), {minLength: 1, maxLength: 8}),
        async (edits) => {
          const {kit, a, b, c, d, pot, deal, hs} = await dealWithThreeContacts()
          await pass(kit, 'pull')
          const others = [b, c, d, kit.crm.insert('Contacts', {lastname: 'E', email: 'e@deal.test'})]
          await pass(kit, 'push')
          const expected = new Set([b, c])
          for (const e of edits) {
            const contact = others[e.contact]
            if (e.side === 'crm') {
              kit.crm.relateByUser(pot, e.add ? {add: [contact]} : {remove: [contact]})
              kit.crm.edit('Potentials', pot, {description: `crm ${JSON.stringify(e)}`})
              await pass(kit, 'push')
            } else {
              if (e.add) kit.hubspot.associate('deals', deal, 'contacts', hs(contact))
              else kit.hubspot.dissociate('deals', deal, 'contacts', hs(contact))
              kit.hubspot.edit('deals', deal, {description: `hs ${JSON.stringify(e)}`})
              await pass(kit, 'pull')
            }
            if (e.add) expected.add(contact)
            else expected.delete(contact)
          }
          await pass(kit, 'push')
          await pass(kit, 'pull')
          const sorted = (xs: Iterable<number>) => [...xs].sort((x, y) => x - y)
          expect(kit.crm.relatedContactsOf(pot)).toEqual(sorted(expected))
          expect(kit.hubspot.associations('deals', deal, 'contacts').sort()).toEqual([hs(a), ...sorted(expected).map(hs)].sort())
          const quiet = [await pass(kit, 'push'), await pass(kit, 'pull')]
          expect(quiet.flatMap((w) => [...w.crm, ...w.hubspot])).toEqual([])
        },
      ),
      {numRuns: 25},
    )
  })
})
