/**
 * Record owners (issue 20) through the real binary on the real schema and the emulator's owners
 * endpoint: vtiger_crmentity.smownerid ↔ hubspot_owner_id, users matched by their active email1.
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

async function addUser(e: SyncEnv, id: number, email: string, status = 'Active') {
  await e.testDb.query("INSERT INTO vtiger_users (id, user_name, email1, status, date_entered) VALUES (?, ?, ?, ?, '2024-01-01 00:00:00')", [id, `user${id}`, email, status])
}

async function ownerOf(e: SyncEnv, crmid: number): Promise<number> {
  const [row] = await e.testDb.query<{smownerid: number}>('SELECT smownerid FROM vtiger_crmentity WHERE crmid = ?', [crmid])
  return Number(row.smownerid)
}

async function hubspotIdOf(e: SyncEnv, crmid: number): Promise<string> {
  const [row] = await e.testDb.query<{hubspotid: string}>('SELECT hubspotid FROM vtiger_contactdetails WHERE contactid = ?', [crmid])
  return row.hubspotid
}

describe('owners', () => {
  it('an owner change on either side reaches the other; unmatched owners and groups fall back, with a warning, and nothing echoes', async () => {
    env = await createSyncEnv()
    await addUser(env, 20, 'ana@owners.test')
    await addUser(env, 21, 'BO@owners.test')
    const ana = env.emu.control.addOwner({email: 'ana@owners.test'})
    const bo = env.emu.control.addOwner({email: 'bo@owners.test'})
    const stranger = env.emu.control.addOwner({email: 'stranger@elsewhere.test'})
    const [jane, team] = await env.create('Contacts', [
      {lastname: 'Doe', email: 'jane@owners.test', assigned_user_id: '20'},
      // 3 is the fixture's Marketing Group
      {lastname: 'Team', email: 'team@owners.test', assigned_user_id: '3'},
    ])

    const push = await cbhs(env, 'push')
    const janeId = await hubspotIdOf(env, jane)
    expect(env.emu.control.get('contacts', janeId)!.properties.hubspot_owner_id).toBe(ana)
    expect(env.emu.control.get('contacts', await hubspotIdOf(env, team))!.properties.hubspot_owner_id ?? '').toBe('')
    expect(push.stderr + JSON.stringify(push.json.result.reports[0].warnings)).toContain('coreBOS group 3 has no HubSpot owner')
    await cbhs(env, 'pull')
    expect(await ownerOf(env, team)).toBe(3)

    // coreBOS → HubSpot
    await env.db.records.update('Contacts', jane, {assigned_user_id: '21'}, 1)
    await cbhs(env, 'push')
    expect(env.emu.control.get('contacts', janeId)!.properties.hubspot_owner_id).toBe(bo)

    // HubSpot → coreBOS
    env.emu.control.update('contacts', janeId, {hubspot_owner_id: ana})
    await cbhs(env, 'pull')
    expect(await ownerOf(env, jane)).toBe(20)

    // an owner with no coreBOS user: the configured user (1) gets the record, said once
    env.emu.control.update('contacts', janeId, {hubspot_owner_id: stranger})
    const pull = await cbhs(env, 'pull')
    expect(await ownerOf(env, jane)).toBe(1)
    const warnings = pull.json.result.reports[0].warnings as string[]
    expect(warnings.filter((w) => w.includes(`HubSpot owner ${stranger} (stranger@elsewhere.test)`))).toHaveLength(1)

    const mark = env.mark()
    const quiet = [await cbhs(env, 'push'), await cbhs(env, 'pull')]
    expect(env.writesSince(mark)).toEqual([])
    expect(quiet.flatMap((r) => r.json.result.reports[0].warnings as string[]).filter((w) => w.includes('owner'))).toEqual([])
    expect(env.emu.control.get('contacts', janeId)!.properties.hubspot_owner_id).toBe(stranger)
    expect(await ownerOf(env, jane)).toBe(1)
  })

  it('a HubSpot deal and company created with an owner become coreBOS records owned by the matching user', async () => {
    env = await createSyncEnv()
    await addUser(env, 30, 'cy@owners.test')
    const cy = env.emu.control.addOwner({email: 'cy@owners.test'})
    const [company] = env.emu.control.seed('companies', [{name: 'Owned Co', hubspot_owner_id: cy}])
    const [deal] = env.emu.control.seed('deals', [{dealname: 'Owned deal', amount: '10', closedate: '2025-03-30T00:00:00.000Z', dealstage: 'appointmentscheduled', pipeline: 'default', hubspot_owner_id: cy}])
    env.emu.control.associate('deals', deal.id, 'companies', company.id)
    await cbhs(env, 'pull')
    const rows = await env.testDb.query<{setype: string; smownerid: number}>("SELECT setype, smownerid FROM vtiger_crmentity WHERE setype IN ('Accounts', 'Potentials') ORDER BY setype")
    expect(rows.map((r) => [r.setype, Number(r.smownerid)])).toEqual([['Accounts', 30], ['Potentials', 30]])
  })
})
