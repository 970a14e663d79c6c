/**
 * Fast subset of the fault and concurrency trials (the long run is test/chaos): HubSpot failing in
 * every way the emulator can (429, 5xx, 423, hung requests, resets, HTML bodies, no content type),
 * the MariaDB connection killed mid-pass, two passes started together, and a user editing records
 * while a push runs. All through the real binary.
 */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {checkPushed, createMany, killCbhsConnections, Rng, runToEnd} from '../chaos/harness.js'
import {runCli} from '../support/cli.js'
import {captureStoredState, secretEnvOptions} from '../support/secrets.js'
import {createSyncEnv, type SyncEnv} from '../support/sync-env.js'
import {spawn} from 'node:child_process'
import {BIN, ROOT} from '../support/cli.js'

const SEED = Number(process.env.CBHS_CHAOS_SEED ?? Date.now() % 1_000_000)

describe('reliability: faults and concurrency', () => {
  let env: SyncEnv
  let dir: string
  const rng = new Rng(SEED)

  beforeAll(async () => {
    env = await createSyncEnv(secretEnvOptions())
    dir = mkdtempSync(join(tmpdir(), 'cbhs-faults-'))
    process.stderr.write(`reliability-faults seed ${SEED}\n`)
  })
  afterAll(async () => {
    if (env) await captureStoredState(env.testDb)
    await env?.close()
  })

  it('HubSpot failing 20 % of requests (5xx, 423, hang, reset, html, no content type): passes retry or stop with exit 4, and in the end every record is there once', async () => {
    await createMany(env, 'Accounts', 30, (i) => ({accountname: `Fault Co ${i}`}))
    await createMany(env, 'Contacts', 200, (i) => ({firstname: `F${i}`, lastname: `Fault ${i}`, email: `f${i}@fault.example`}))
    // a short request timeout, so hung requests cost a second, not thirty
    const config = join(dir, 'fast-timeout.json')
    writeFileSync(config, JSON.stringify({hubspot: {requestTimeoutMs: 1000}}), {mode: 0o600})
    // 429 costs a ten-second pause each; the long run (test/chaos) covers it at 20 %
    env.emu.control.injectFaults({rate: 0.2, count: 12, seed: SEED, kinds: [500, 502, 504, 423, 'hang', 'reset', 'html', 'no-content-type']})
    // a push of 230 records makes few requests, so 20 % alone may draw none: the first upserts always fail
    env.emu.control.injectFaults({count: 2, kinds: [502, 'reset'], match: /batch\/upsert/})
    const codes: number[] = []
    for (let i = 0; i < 6; i++) {
      const r = await runCli(['push'], {env: {...env.env, CBHS_CONFIG: config}})
      codes.push(r.code ?? -1)
      expect([0, 4, 5], r.stderr).toContain(r.code)
      if (r.code === 4) expect(r.stderr).toMatch(/HubSpot/)
      if (r.code === 0) break
    }
    env.emu.control.clearFaults()
    await runToEnd(['push'], env.env)
    const faults = env.emu.control.requests().filter((r) => r.fault).length
    process.stderr.write(`reliability-faults: push exit codes ${codes.join(',')}, ${faults} faults injected\n`)
    expect(faults).toBeGreaterThan(0)
    expect(await checkPushed(env, ['Accounts', 'Contacts'], {Contacts: {lastname: 'lastname', email: 'email'}})).toEqual([])
  })

  // A request HubSpot never answers is abandoned by the watchdog, but its socket may stay open; the
  // binary exits once its command is done, so cron never sees a pass that hangs forever.
  it('a pass after a HubSpot request hung exits on its own once the work is done', async () => {
    const config = join(dir, 'hang-timeout.json')
    writeFileSync(config, JSON.stringify({hubspot: {requestTimeoutMs: 1000}}), {mode: 0o600})
    env.emu.control.seed('contacts', [{firstname: 'Hung', lastname: 'Request', email: 'hung@faults.example', lifecyclestage: 'customer'}])
    // the write-back of the crmid to HubSpot hangs once; the retry succeeds
    env.emu.control.injectFaults({count: 1, kinds: ['hang'], match: /batch\/update/})
    const r = await runCli(['pull'], {env: {...env.env, CBHS_CONFIG: config}, timeoutMs: 20_000})
    env.emu.control.clearFaults()
    expect(r.signal, 'the pass finished its work but the process did not exit within 20 s').toBeNull()
    expect(r.code).toBe(0)
  })

  it('the MariaDB connection killed mid-pass: exit 4, and the next pass completes', async () => {
    await createMany(env, 'Contacts', 800, (i) => ({firstname: `D${i}`, lastname: `Dbkill ${i}`, email: `d${i}@dbkill.example`}))
    const base = env.emu.control.requests().length
    const child = spawn(process.execPath, [BIN, 'push'], {cwd: ROOT, env: {...process.env, ...env.env, NO_COLOR: '1'}, stdio: ['ignore', 'pipe', 'pipe']})
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
    // once the push is writing to HubSpot, cut every connection it has to the database
    const trigger = rng.int(3, 8)
    while (env.emu.control.requests().length - base < trigger && child.exitCode === null) await new Promise((r) => setTimeout(r, 2))
    const killed = await killCbhsConnections(env.testDb.settings.database)
    const code = await exited
    process.stderr.write(`reliability-faults: killed ${killed} database connections after ${trigger} HubSpot requests; push exited ${code}\n`)
    expect(killed).toBeGreaterThan(0)
    expect(code, stderr).toBe(4)
    expect(stderr).toMatch(/database|connection|lock/i)
    await runToEnd(['push'], env.env)
    expect(await checkPushed(env, ['Contacts'], {Contacts: {lastname: 'lastname'}})).toEqual([])
  })

  it('the lock lost mid-pass (its connection killed): the pass stops before its next module with exit 4; the next pass completes', async () => {
    await createMany(env, 'Accounts', 1000, (i) => ({accountname: `Lock Co ${i}`}))
    await createMany(env, 'Contacts', 3000, (i) => ({firstname: `L${i}`, lastname: `Lock ${i}`, email: `l${i}@lock.example`}))
    const base = env.emu.control.requests().length
    const child = spawn(process.execPath, [BIN, 'push'], {cwd: ROOT, env: {...process.env, ...env.env, NO_COLOR: '1'}, stdio: ['ignore', 'pipe', 'pipe']})
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
    // once the push writes to HubSpot, end only the session that holds the lock
    let lockConnection: number | undefined
    while (child.exitCode === null && lockConnection === undefined) {
      const [run] = await env.testDb.query<{lock_connection_id: number | null}>('SELECT lock_connection_id FROM cbhs_run WHERE finished_at IS NULL ORDER BY id DESC LIMIT 1')
      if (run?.lock_connection_id && env.emu.control.requests().slice(base).some((r) => r.endpoint.includes('batch/upsert'))) lockConnection = Number(run.lock_connection_id)
      else await new Promise((r) => setTimeout(r, 2))
    }
    expect(lockConnection, 'the push ended before its lock could be taken away').toBeDefined()
    await env.testDb.query(`KILL ${lockConnection}`)
    const code = await exited
    expect(code, stderr).toBe(4)
    expect(stderr).toMatch(/lock/i)
    await runToEnd(['push'], env.env)
    expect(await checkPushed(env, ['Accounts', 'Contacts'], {Contacts: {lastname: 'lastname'}})).toEqual([])
  })

  it('two passes started together: one runs, the other exits 0 at once saying another pass holds the lock', async () => {
    await createMany(env, 'Contacts', 400, (i) => ({firstname: `T${i}`, lastname: `Together ${i}`, email: `t${i}@together.example`}))
    const [a, b] = await Promise.all([runCli(['push'], {env: env.env}), runCli(['push'], {env: env.env})])
    expect([a.code, b.code]).toEqual([0, 0])
    const skipped = [a, b].filter((r) => /another cbhs pass holds the lock/.test(r.stderr))
    expect(skipped).toHaveLength(1)
    expect(skipped[0].stderr).toMatch(/nothing done/)
    expect(await checkPushed(env, ['Contacts'])).toEqual([])
  })

  it('a user editing records during a big push loses nothing: the following push sends the edits', async () => {
    const ids = await createMany(env, 'Contacts', 800, (i) => ({firstname: `E${i}`, lastname: `Edit ${i}`, email: `e${i}@edit.example`}))
    const child = spawn(process.execPath, [BIN, 'push'], {cwd: ROOT, env: {...process.env, ...env.env, NO_COLOR: '1'}, stdio: 'ignore'})
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
    let edits = 0
    // edits land before, inside and after the batch each record is in
    while (child.exitCode === null) {
      const id = rng.pick(ids)
      await env.db.records.update('Contacts', id, {firstname: `Edited ${edits}`, title: `Rev ${edits}`}, 1)
      edits++
      await new Promise((r) => setTimeout(r, rng.int(0, 15)))
    }
    expect(await exited).toBe(0)
    await runToEnd(['push'], env.env)
    process.stderr.write(`reliability-faults: ${edits} edits during the push\n`)
    expect(edits).toBeGreaterThan(10)
    expect(await checkPushed(env, ['Contacts'], {Contacts: {firstname: 'firstname', title: 'jobtitle'}})).toEqual([])
  })
})
