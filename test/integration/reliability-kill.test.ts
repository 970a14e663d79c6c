/**
 * Fast subset of the kill trials (the long run is test/chaos): the real binary SIGKILLed at random
 * instants of a backfill push and of a pull, then run to the end. No duplicate on either side, no
 * record missing, ledger and watermarks consistent (DESIGN §5.2, §5.3). The seed is printed; set
 * CBHS_CHAOS_SEED to replay one.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {checkPulled, checkPushed, createMany, Rng, runAndKill, runToEnd, trialLine} from '../chaos/harness.js'
import {captureStoredState, secretEnvOptions} from '../support/secrets.js'
import {createSyncEnv, type SyncEnv} from '../support/sync-env.js'

const SEED = Number(process.env.CBHS_CHAOS_SEED ?? Date.now() % 1_000_000)

describe('reliability: kill -9 during push and pull', () => {
  let env: SyncEnv
  const rng = new Rng(SEED)

  beforeAll(async () => {
    env = await createSyncEnv(secretEnvOptions())
    process.stderr.write(`reliability-kill seed ${SEED}\n`)
  })
  afterAll(async () => {
    if (env) await captureStoredState(env.testDb)
    await env?.close()
  })

  it('a 400-contact backfill push killed at 3 random points, then run to the end, leaves no duplicate and nothing missing', async () => {
    const accounts = await createMany(env, 'Accounts', 20, (i) => ({accountname: `Kill Co ${i}`}))
    await createMany(env, 'Contacts', 400, (i) => ({
      firstname: `K${i}`,
      lastname: `Backfill ${i}`,
      email: `k${i}@kill.example`,
      account_id: i % 3 === 0 ? String(accounts[i % accounts.length]) : null,
    }))
    let kills = 0
    for (let t = 1; t <= 3; t++) {
      // a 400-record push makes about a dozen requests (batches of 100, one association call per page):
      // the trigger must fall inside that to kill mid-run
      const outcome = await runAndKill(['push'], env.env, env.emu, {afterRequests: rng.int(1, 4), extraMs: rng.int(0, 20)})
      if (outcome.killed) kills++
      process.stderr.write(`${trialLine('push', t, SEED, outcome, null)}\n`)
    }
    await runToEnd(['push'], env.env)
    const violations = await checkPushed(env, ['Accounts', 'Contacts'], {Contacts: {firstname: 'firstname', lastname: 'lastname', email: 'email'}})
    expect(violations, `seed ${SEED}`).toEqual([])
    expect(env.emu.control.all('contacts')).toHaveLength(400)
    expect(kills).toBeGreaterThan(0)
  })

  it('edits made between killed pushes all arrive, once', async () => {
    const rows = await env.testDb.query<{contactid: number}>('SELECT contactid FROM vtiger_contactdetails ORDER BY contactid')
    const edited = rng.sample(rows.map((r) => Number(r.contactid)), 40)
    for (const [i, id] of edited.entries()) await env.db.records.update('Contacts', id, {firstname: `Edited ${i}`, title: `T${SEED}`}, 1)
    await createMany(env, 'Contacts', 30, (i) => ({firstname: 'New', lastname: `Late ${i}`, email: `late${i}@kill.example`}))
    const outcome = await runAndKill(['push'], env.env, env.emu, {afterRequests: rng.int(1, 8), extraMs: rng.int(0, 40)})
    process.stderr.write(`${trialLine('push-edit', 1, SEED, outcome, null)}\n`)
    await runToEnd(['push'], env.env)
    const violations = await checkPushed(env, ['Contacts'], {Contacts: {firstname: 'firstname', title: 'jobtitle'}})
    expect(violations, `seed ${SEED}`).toEqual([])
    expect(env.emu.control.all('contacts')).toHaveLength(430)
  })

  it('a pull of 150 new HubSpot contacts killed twice, then run to the end, creates each once in coreBOS', async () => {
    const companies = env.emu.control.seed('companies', Array.from({length: 10}, (_, i) => ({name: `HS Co ${i}`, domain: `hsco${i}.example`})))
    const people = env.emu.control.seed(
      'contacts',
      Array.from({length: 150}, (_, i) => ({firstname: `P${i}`, lastname: `Pulled ${i}`, email: `p${i}@pull.example`, lifecyclestage: i % 4 === 0 ? 'lead' : 'customer'})),
    )
    for (const [i, p] of people.entries()) if (i % 5 === 1) env.emu.control.associate('contacts', p.id, 'companies', companies[i % 10]!.id)
    for (let t = 1; t <= 2; t++) {
      const outcome = await runAndKill(['pull'], env.env, env.emu, {afterRequests: rng.int(2, 16), extraMs: rng.int(0, 60)})
      process.stderr.write(`${trialLine('pull', t, SEED, outcome, null)}\n`)
    }
    await runToEnd(['pull'], env.env)
    const violations = await checkPulled(env, ['contacts', 'companies'], {contacts: {firstname: 'firstname', lastname: 'lastname'}})
    expect(violations, `seed ${SEED}`).toEqual([])
  })
})
