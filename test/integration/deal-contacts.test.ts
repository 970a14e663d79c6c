/**
 * Every contact of a potential ↔ every deal↔contact association (issue 20), through the real binary
 * on the real schema (vtiger_contpotentialrel) and the emulator.
 */
import {afterEach, describe, expect, it} from 'vitest'
import {runCli} from '../support/cli.js'
import {createSyncEnv, type SyncEnv} from '../support/sync-env.js'

let env: SyncEnv | undefined
afterEach(async () => {
  await env?.close()
  env = undefined
})

async function cbhs(e: SyncEnv, ...args: string[]) {
  const result = await runCli([...args, '--json'], {env: e.env})
  if (result.code !== 0) throw new Error(`cbhs ${args.join(' ')} exited ${result.code}: ${result.stderr}${result.stdout}`)
  return result
}

async function hubspotIdOf(e: SyncEnv, table: string, key: string, crmid: number): Promise<string> {
  const [row] = await e.testDb.query<{hubspotid: string}>(`SELECT hubspotid FROM ${table} WHERE ${key} = ?`, [crmid])
  return row.hubspotid
}

async function listed(e: SyncEnv, potentialid: number): Promise<number[]> {
  const rows = await e.testDb.query<{contactid: number}>('SELECT contactid FROM vtiger_contpotentialrel WHERE potentialid = ? ORDER BY contactid', [potentialid])
  return rows.map((r) => Number(r.contactid))
}

describe('deal contacts', () => {
  it('a potential with three contacts has three deal↔contact associations; a removal in HubSpot removes the relation; nothing echoes', async () => {
    env = await createSyncEnv()
    const [a, b, c] = await env.create('Contacts', ['a', 'b', 'c'].map((n) => ({lastname: n.toUpperCase(), email: `${n}@deals.test`})))
    const [pot] = await env.create('Potentials', [{potentialname: 'Three contacts', related_to: String(a), closingdate: '2025-04-30', sales_stage: 'Prospecting'}])
    await env.testDb.query('INSERT INTO vtiger_contpotentialrel (contactid, potentialid) VALUES (?, ?), (?, ?)', [b, pot, c, pot])

    await cbhs(env, 'push')
    const deal = await hubspotIdOf(env, 'vtiger_potential', 'potentialid', pot)
    const [ha, hb, hc] = await Promise.all([a, b, c].map((id) => hubspotIdOf(env!, 'vtiger_contactdetails', 'contactid', id)))
    const dealContacts = () => env!.emu.control.associations('deals', deal, 'contacts').map((x) => x.toId).sort()
    expect(dealContacts()).toEqual([ha, hb, hc].sort())

    env.emu.control.dissociate('deals', deal, 'contacts', hb)
    // the association change alone does not move the deal's modified date; a full pull sees it
    await cbhs(env, 'pull', '--full')
    expect(await listed(env, pot)).toEqual([c])
    const [potential] = await env.testDb.query<{related_to: number}>('SELECT related_to FROM vtiger_potential WHERE potentialid = ?', [pot])
    expect(Number(potential.related_to)).toBe(a)

    const mark = env.mark()
    await cbhs(env, 'push', '--full')
    await cbhs(env, 'pull', '--full')
    expect(env.writesSince(mark)).toEqual([])
    expect(dealContacts()).toEqual([ha, hc].sort())
    expect(await listed(env, pot)).toEqual([c])

    // and the other way: a contact taken off the potential's Contacts list in coreBOS leaves the deal
    await env.testDb.query('DELETE FROM vtiger_contpotentialrel WHERE potentialid = ? AND contactid = ?', [pot, c])
    await cbhs(env, 'push', '--full')
    expect(dealContacts()).toEqual([ha])
  })

  it('a HubSpot deal with three contacts becomes a potential whose related_to and Contacts list hold all three', async () => {
    env = await createSyncEnv()
    const contacts = env.emu.control.seed('contacts', ['x', 'y', 'z'].map((n) => ({lastname: n.toUpperCase(), email: `${n}@deals.test`, lifecyclestage: 'customer'})))
    const [deal] = env.emu.control.seed('deals', [{dealname: 'From HubSpot', amount: '5', closedate: '2025-03-30T00:00:00.000Z', dealstage: 'appointmentscheduled', pipeline: 'default'}])
    for (const c of contacts) env.emu.control.associate('deals', deal.id, 'contacts', c.id)
    await cbhs(env, 'pull')
    const [potential] = await env.testDb.query<{potentialid: number; related_to: number}>('SELECT potentialid, related_to FROM vtiger_potential')
    const crmContacts = (await env.testDb.query<{contactid: number}>('SELECT contactid FROM vtiger_contactdetails ORDER BY contactid')).map((r) => Number(r.contactid))
    expect(crmContacts).toHaveLength(3)
    const all = [Number(potential.related_to), ...(await listed(env, potential.potentialid))].sort((x, y) => x - y)
    expect(all).toEqual(crmContacts)
    const mark = env.mark()
    await cbhs(env, 'push', '--full')
    expect(env.writesSince(mark)).toEqual([])
  })
})
