import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runCli} from '../support/cli.js'
import {runInTerminal, screenLines} from '../support/pty.js'
import {createSyncEnv, type SyncEnv} from '../support/sync-env.js'

/**
 * Progress and the dry-run plan through the real binary: counted before the pass, so a terminal
 * shows how far a backfill is (n/total, percent, rate, ETA) and a cron log or a pipe gets no
 * progress byte on stdout; a dry run predicts the failures HubSpot's validation would answer, and
 * the real pass then fails exactly those records with the same category.
 */
describe('progress with totals, and a dry-run plan that predicts HubSpot validation failures', () => {
  let env: SyncEnv
  const CONTACTS = 1500
  let badContact = 0
  // no search lag to allow for: an incremental pull reads exactly what changed after the last one;
  // pages of 500, so a push reads several and counts them first
  const dir = mkdtempSync(join(tmpdir(), 'cbhs-progress-'))
  const configFile = join(dir, 'cbhs.json')
  writeFileSync(configFile, JSON.stringify({sync: {pullLagSeconds: 0, pageSize: 500}}))

  beforeAll(async () => {
    env = await createSyncEnv({env: {CBHS_CONFIG: configFile}})
    const [acme] = await env.create('Accounts', [{accountname: 'Acme Ltd'}])
    await env.create(
      'Contacts',
      Array.from({length: CONTACTS}, (_, i) => ({firstname: `Person${i}`, lastname: 'Example', email: `p${i}@acme.example`, account_id: String(acme)})),
    )
    ;[badContact] = await env.create('Contacts', [{firstname: 'Grace', lastname: 'Typo', email: 'grace@@acme.example'}])
  }, 300_000)
  afterAll(async () => {
    await env?.close()
    rmSync(dir, {recursive: true, force: true})
  })

  it('push --dry-run predicts the invalid e-mail per module, and the JSON plan names the record and the category', async () => {
    const r = await runCli(['push', '--dry-run'], {env: env.env})
    expect(r.code).toBe(0)
    const contacts = r.stdout.split('\n').find((l) => /^\s*Contacts\b.*\bcreate\b/.test(l))
    expect(contacts, r.stdout).toMatch(/INVALID_EMAIL 1\b/)
    expect(r.stdout).toMatch(/Predicted failures: 1 — INVALID_EMAIL 1/)
    // progress goes to stderr only: the cron log has the step lines, with their counts
    expect(r.stdout).not.toMatch(/\d+\/\d[\d,]* \(\d+ %\)/)
    expect(r.stderr).toMatch(new RegExp(`^\\S+Z push Contacts: ${CONTACTS + 1} read, ${CONTACTS} created.* — ✖ 1 of ${CONTACTS + 1} would fail`, 'm'))

    const json = await runCli(['push', '--dry-run', '--json'], {env: env.env})
    expect(json.code).toBe(0)
    const report = json.json.result.reports[0]
    expect(report.failures).toEqual([expect.objectContaining({module: 'Contacts', crmid: badContact, category: 'INVALID_EMAIL'})])
    expect(report.failures[0].message).toMatch(/grace@@acme\.example/)
    // the full plan: every record, the invalid one not among the creates
    const creates = report.plan.filter((p: {module: string; action: string}) => p.module === 'Contacts' && p.action === 'create')
    expect(creates).toHaveLength(CONTACTS)
    expect(creates.some((p: {crmid: number}) => p.crmid === badContact)).toBe(false)
  }, 120_000)

  it('a push at a terminal shows n/total, percent, rate and ETA, no line wider than the terminal; it fails exactly the predicted record', async () => {
    const columns = 80
    // HubSpot holds the first batch back (423, retried after 2 s): the step runs long enough for a rate
    env.emu.control.injectFaults({kinds: [423], count: 1, match: /contacts\/batch\/upsert$/})
    const r = await runInTerminal(['push'], {columns, env: {...env.env, NO_COLOR: '1'}})
    expect(r.code, r.screen).toBe(5)
    const lines = screenLines(r.screen)
    const total = (CONTACTS + 1).toLocaleString('en-US')
    const progress = lines.filter((l) => new RegExp(`Contacts: [\\d,]+/${total} \\(\\d+ %\\)`).test(l))
    expect(progress.length, r.screen).toBeGreaterThan(0)
    expect(progress.some((l) => /\d+\/s, ETA \d/.test(l)), progress.join('\n')).toBe(true)
    expect(lines.filter((l) => [...l].length > columns)).toEqual([])

    const open = (await env.db.state.listFailures({})).filter((f) => !f.resolvedAt)
    expect(open.map((f) => ({module: f.module, crmid: f.crmid, category: f.category}))).toEqual([{module: 'Contacts', crmid: badContact, category: 'INVALID_EMAIL'}])
    expect(env.emu.control.all('contacts')).toHaveLength(CONTACTS)
  }, 180_000)

  it('an incremental pull counts what HubSpot has changed (the search total); without a terminal stdout gets no progress byte', async () => {
    const ids = env.emu.control.all('contacts').slice(0, 300).map((o) => o.id)
    // a first pull lists everything (no total known: rate only), then an incremental one searches
    // HubSpot holds the first page back (423, retried after 2 s): the listing runs long enough for a rate
    env.emu.control.injectFaults({kinds: [423], count: 1, match: /\/contacts$/})
    const first = await runInTerminal(['pull'], {columns: 100, env: {...env.env, NO_COLOR: '1'}})
    expect(first.code, first.screen).toBe(0)
    expect(screenLines(first.screen).some((l) => /contacts: [\d,]+, [\d,]+\/s/.test(l)), first.screen).toBe(true)
    expect(first.screen).not.toMatch(/contacts: [\d,]+\/[\d,]+ \(/)
    for (const id of ids) env.emu.control.update('contacts', id, {jobtitle: 'Engineer'})
    const columns = 100
    const r = await runInTerminal(['pull'], {columns, env: {...env.env, NO_COLOR: '1'}})
    expect(r.code, r.screen).toBe(0)
    const lines = screenLines(r.screen)
    expect(lines.some((l) => /contacts: [\d,]+\/300 \(\d+ %\)/.test(l)), r.screen).toBe(true)
    expect(lines.filter((l) => [...l].length > columns)).toEqual([])

    for (const id of ids) env.emu.control.update('contacts', id, {jobtitle: 'Manager'})
    const piped = await runCli(['pull'], {env: env.env})
    expect(piped.code).toBe(0)
    expect(piped.stdout).not.toMatch(/\/300|ETA|\d+\/s/)
    expect(piped.stderr).toMatch(/^\S+Z pull contacts: 300 read, 0 created, 300 updated/m)
  }, 180_000)
})
