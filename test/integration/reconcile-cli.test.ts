/** `cbhs reconcile` through the real binary: --json, --output, --apply and its exit codes. */
import {mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runCli} from '../support/cli.js'
import {createSyncEnv, type SyncEnv} from '../support/sync-env.js'

describe('cbhs reconcile (binary)', () => {
  let env: SyncEnv
  let matched: number
  let bad: number

  beforeAll(async () => {
    env = await createSyncEnv()
    await env.create('Contacts', [{firstname: 'Ada', lastname: 'Lovelace', email: 'ada@example.org'}])
    await env.pass('push')
    ;[matched] = await env.create('Contacts', [{firstname: 'Alan', lastname: 'Turing', email: 'alan@example.org', phone: '+44 1'}])
    env.emu.control.seed('contacts', [
      {firstname: 'Alan', lastname: 'Turing', email: 'alan@example.org', phone: '+44 2', lifecyclestage: 'customer'},
      {firstname: 'Grace', lastname: 'Hopper', email: 'grace@example.org', lifecyclestage: 'customer'},
    ])
  }, 60_000)
  afterAll(async () => env?.close())

  it('--json reports the classes and writes nothing; --output writes every item', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'cbhs-reconcile-')), 'report.json')
    const mark = env.mark()
    const r = await runCli(['reconcile', '--json', '--output', file], {env: env.env})
    expect(r.code).toBe(0)
    expect(env.writesSince(mark)).toEqual([])
    expect(r.json.status).toBe(0)
    const report = r.json.result.report
    expect(report.apply).toBe(false)
    expect(report.modules.Contacts).toMatchObject({inSync: 1, match: 1, onlyHubSpot: 1, onlyCrm: 0})
    const saved = JSON.parse(readFileSync(file, 'utf8'))
    const match = saved.items.find((i: {class: string}) => i.class === 'match')
    expect(match).toMatchObject({module: 'Contacts', crmid: matched, action: 'link'})
    expect(match.changes).toEqual([expect.objectContaining({key: 'phone', crm: '+44 1', hubspot: '+44 2', changed: 'unknown'})])
    expect(typeof saved.runId).toBe('number')
  })

  it('prints a summary table without --json', async () => {
    const r = await runCli(['reconcile', '--details'], {env: env.env})
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/dry run: nothing was written/)
    expect(r.stdout).toMatch(/only HubSpot/)
    expect(r.stdout).toMatch(/phone: coreBOS \+44 1 \| HubSpot \+44 2/)
  })

  it('--apply exits 0 when everything went through, 5 when a record failed', async () => {
    const ok = await runCli(['reconcile', '--apply', '--json'], {env: env.env})
    expect(ok.code).toBe(0)
    expect(ok.json.result.report.applied.Contacts).toMatchObject({linked: 1, createdCrm: 1, failed: 0})

    // HubSpot refuses this e-mail: the record goes to the ledger and the exit code says so
    ;[bad] = await env.create('Contacts', [{firstname: 'Bad', lastname: 'Mail', email: 'not-an-email'}])
    const partial = await runCli(['reconcile', '--apply', '--json'], {env: env.env})
    expect(partial.code).toBe(5)
    expect(partial.json.status).toBe(5)
    expect(partial.json.result.report.failures).toEqual([expect.objectContaining({crmid: bad, category: 'INVALID_EMAIL'})])
    const [open] = await env.db.state.listFailures({})
    expect(open).toMatchObject({crmid: bad, direction: 'push'})

    const runs = await env.db.state.listRuns(10)
    expect(runs.filter((run) => run.command === 'reconcile').map((run) => [run.dryRun, run.exitCode])).toEqual([
      [false, 5],
      [false, 0],
      [true, 0],
      [true, 0],
    ])
  })
})
