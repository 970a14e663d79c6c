import {spawn} from 'node:child_process'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {BIN, ROOT, runCli} from '../support/cli.js'
import {createSyncEnv, type SyncEnv} from '../support/sync-env.js'

/**
 * cbhs as cron runs it: no terminal, stdout and stderr to a log or a pipe. stdout carries the
 * result and nothing else; a pass logs a few lines however many failures the ledger holds.
 */
describe('cbhs from cron: clean stdout, whole documents through a pipe, short logs', () => {
  let env: SyncEnv
  const BAD = 220

  beforeAll(async () => {
    env = await createSyncEnv()
    const accounts = await env.create('Accounts', [{accountname: 'Acme Ltd'}])
    await env.create(
      'Contacts',
      Array.from({length: BAD}, (_, i) => ({firstname: `Bad${i}`, lastname: 'Mail', email: `bad${i}@@example`, account_id: String(accounts[0])})),
    )
    await env.create('Contacts', [{firstname: 'Ada', lastname: 'Lovelace', email: 'ada@acme.example'}])
  })
  afterAll(async () => env?.close())

  it('a pass without a terminal writes no progress byte to stdout', async () => {
    const r = await runCli(['push', '--dry-run'], {env: env.env})
    expect(r.code).toBe(0)
    expect(r.stdout).not.toMatch(/\[(STARTED|OUTPUT|TITLE|COMPLETED|DATA)\]/)
    expect(r.stdout).not.toMatch(/^\[?\d\d:\d\d:\d\d/m)
    expect(r.stdout.split('\n')[0]).toMatch(/^push \(dry run: nothing was written\)/)
    expect(r.stderr).toMatch(/push Contacts/)
    // the plan predicts what HubSpot will refuse, and not the associations to the account the pass creates first
    expect(r.stdout).toContain(`Predicted failures: ${BAD} — INVALID_EMAIL ${BAD}`)
    expect(r.stdout).not.toMatch(/ASSOCIATION_PENDING/)
    expect(r.stderr).toMatch(new RegExp(`^\\S+Z push Contacts: .* ✖ ${BAD} of ${BAD + 1} would fail`, 'm'))
  })

  it('the first sync lists the new failures by category and closes with one line naming the run', async () => {
    const r = await runCli(['sync'], {env: env.env})
    expect(r.code).toBe(5)
    const runId = (await env.db.state.listRuns(1))[0]!.id
    expect(r.stderr).toMatch(new RegExp(`^(\\S+Z )?run #${runId} sync exit 5 in [\\d.]+ s: .*pushed \\d+.*, ${BAD} failures open \\(${BAD} new\\) — cbhs status --failures$`, 'm'))
    expect(r.stdout).toMatch(/INVALID_EMAIL/)
  })

  it('a second sync retrying 200+ open failures logs fewer than 40 lines', async () => {
    await runCli(['status', '--retry', 'all'], {env: env.env})
    const r = await runCli(['sync'], {env: env.env})
    expect(r.code).toBe(5)
    const lines = (r.stdout + r.stderr).split('\n').filter((l) => l.trim() !== '')
    expect(lines.length).toBeLessThan(40)
    expect(r.stderr).toMatch(new RegExp(`failures open \\(0 new\\)`))
    expect(r.stdout).toMatch(new RegExp(`INVALID_EMAIL\\D+${BAD}\\b`))
  })

  it('a 1 MB --json document arrives whole through a pipe that is read slowly', async () => {
    // a reader that waits: the pipe fills, and whatever cbhs has not written when it exits is lost
    const long = 'x'.repeat(5000)
    const rows = await env.db.state.listFailures({limit: 1000})
    for (const f of rows) await env.db.state.recordFailure({module: f.module, direction: f.direction, crmid: f.crmid, category: f.category, message: `${f.message} ${long}`})
    const child = spawn(process.execPath, [BIN, 'status', '--json', '--failures'], {cwd: ROOT, env: {...process.env, ...env.env, NO_COLOR: '1'}})
    child.stdout.pause()
    await new Promise((resolve) => setTimeout(resolve, 3000))
    const chunks: Buffer[] = []
    child.stdout.on('data', (d: Buffer) => chunks.push(d))
    child.stdout.resume()
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    const text = Buffer.concat(chunks).toString('utf8')
    expect(text.length).toBeGreaterThan(1_000_000)
    expect(JSON.parse(text).result.failures.entries.length).toBe(rows.length)
    expect(code).toBe(5)
  })
})
