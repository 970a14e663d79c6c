import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runCli} from '../support/cli.js'
import {createSyncEnv, type SyncEnv} from '../support/sync-env.js'

/**
 * The shape of `status --json` (schema version 1): every key and its type. `--json` is a public
 * API: a change here must be deliberate, with the README's schema description updated.
 */
const NUM = 'number'
const STR = 'string'
const BOOL = 'boolean'
const STR_OR_NULL = 'string|null'
const NUM_OR_NULL = 'number|null'
const DIRECTION = {
  watermark: STR_OR_NULL,
  watermarkAt: STR_OR_NULL,
  behindSeconds: NUM_OR_NULL,
  watermarkOf: STR_OR_NULL,
  resumable: BOOL,
  lastRunId: NUM_OR_NULL,
  lastOutcome: STR_OR_NULL,
  lastOutcomeAt: STR_OR_NULL,
  lastSuccessAt: STR_OR_NULL,
  lastCompletedAt: STR_OR_NULL,
  lastMessage: STR_OR_NULL,
  pending: NUM_OR_NULL,
  futureDated: 'object|null',
  failed: NUM,
  givenUp: NUM,
  stale: BOOL,
}
const GOLDEN = {
  schemaVersion: NUM,
  generatedAt: STR,
  database: {host: STR, port: NUM, name: STR},
  health: {
    state: STR,
    summary: STR,
    problems: [{rule: STR, severity: STR, subject: STR, message: STR}],
    thresholds: {staleAfterMinutes: NUM, failedAttemptsMinutes: NUM, maxFailures: NUM, lockStaleMinutes: NUM},
  },
  modules: [{module: STR, linked: NUM, archivedLinks: NUM, push: DIRECTION, pull: DIRECTION}],
  failures: {
    open: NUM,
    due: NUM,
    givenUp: NUM,
    entries: [
      {
        id: NUM,
        module: STR,
        direction: STR,
        crmid: NUM_OR_NULL,
        hubspotId: STR_OR_NULL,
        category: STR_OR_NULL,
        message: STR,
        attempts: NUM,
        firstFailedAt: STR,
        lastFailedAt: STR,
        nextRetryAt: STR_OR_NULL,
        givenUp: BOOL,
      },
    ],
    truncated: BOOL,
  },
  api: {today: NUM, dailyLimit: NUM, tier: STR, limitFrom: STR, dayStart: STR},
  carrierWrites: {queued: NUM, oldestAt: STR_OR_NULL},
  lock: {held: BOOL, since: STR_OR_NULL, heldSeconds: NUM_OR_NULL, holder: 'object|null'},
  runs: [
    {
      id: NUM,
      command: STR,
      state: STR,
      startedAt: STR,
      finishedAt: STR_OR_NULL,
      durationSeconds: NUM_OR_NULL,
      exitCode: NUM_OR_NULL,
      dryRun: BOOL,
      apiCalls: NUM,
      counts: 'object',
      message: STR_OR_NULL,
      host: STR_OR_NULL,
      pid: NUM_OR_NULL,
    },
  ],
  legacy: {found: BOOL, lastPollAt: STR_OR_NULL, pollFrequencySeconds: NUM_OR_NULL, pollSyncing: STR_OR_NULL},
  actions: {retried: NUM, dismissed: NUM, mirrored: NUM, unknownIds: [NUM]},
}

/** Every mismatch between a value and a golden shape, as 'path: expected, got'. */
function shapeErrors(value: unknown, shape: unknown, path = '$'): string[] {
  if (typeof shape === 'string') {
    const got = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value
    return shape.split('|').includes(got) ? [] : [`${path}: expected ${shape}, got ${got}`]
  }
  if (Array.isArray(shape)) {
    if (!Array.isArray(value)) return [`${path}: expected array`]
    return value.flatMap((item, i) => shapeErrors(item, shape[0], `${path}[${i}]`))
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [`${path}: expected object`]
  const want = Object.keys(shape as object).sort()
  const got = Object.keys(value).sort()
  const keyErrors = JSON.stringify(want) === JSON.stringify(got) ? [] : [`${path}: keys ${JSON.stringify(got)} ≠ ${JSON.stringify(want)}`]
  return [...keyErrors, ...want.flatMap((k) => shapeErrors((value as Record<string, unknown>)[k], (shape as Record<string, unknown>)[k], `${path}.${k}`))]
}

describe('cbhs status: failures from ledger to resolved, the JSON schema', () => {
  let env: SyncEnv
  let bad: number[]

  beforeAll(async () => {
    env = await createSyncEnv()
    await env.create('Contacts', [{firstname: 'Ada', lastname: 'Lovelace', email: 'ada@example.org'}])
    bad = await env.create('Contacts', [
      {firstname: 'Bad', lastname: 'Email', email: 'not-an-email'},
      {firstname: 'Worse', lastname: 'Email', email: 'also-not-an-email'},
    ])
  })
  afterAll(async () => env?.close())

  it('a push with a rejected email exits 5; status lists the ledger entry and exits 5', async () => {
    const push = await runCli(['push'], {env: env.env})
    expect(push.code).toBe(5)

    const r = await runCli(['status', '--failures'], {env: env.env})
    expect(r.code).toBe(5)
    expect(r.stdout).toMatch(/^cbhs status: WARNING, 1 problem\(s\)/)
    expect(r.stdout).toContain('failures: 2 open failures (> 0)')
    expect(r.stdout).toContain('Failures: 2 open, 0 due for retry, 0 given up')
    const row = r.stdout.split('\n').find((l) => l.includes(`Contacts ${bad[0]}`))!
    // at 80 columns the message is cut; `status --failure ID` shows it whole
    expect(row).toMatch(/ push {2}INVALID_EMAIL {2}Email address not-an\S* +1 {2}in [56] min$/)
    // Contacts push: in step (lag 0, nothing pending: the failures are in the ledger, not behind the watermark), two failed, one linked
    expect(r.stdout).toMatch(/^Contacts +push +0 s +0 +2 +1 {2}\d+ s +partial \d+ s$/m)
  })

  it('--retry all makes them due now; the next push with the records fixed resolves them', async () => {
    // one fixed through coreBOS (modifiedtime moves), one by a data fix in SQL (it does not):
    // only the ledger's retry brings the second one back
    await env.db.records.update('Contacts', bad[0], {email: 'bad.fixed@example.org'}, 1)
    await env.testDb.query("UPDATE vtiger_contactdetails SET email = 'worse.fixed@example.org' WHERE contactid = ?", [bad[1]])

    const retry = await runCli(['status', '--retry', 'all', '--json'], {env: env.env})
    expect(retry.code).toBe(0)
    expect(retry.json.result.actions).toEqual({retried: 2, dismissed: 0, mirrored: 0, unknownIds: []})
    expect(retry.json.result.failures).toMatchObject({open: 2, due: 2, givenUp: 0})
    for (const f of retry.json.result.failures.entries) expect(Date.parse(f.nextRetryAt)).toBeLessThanOrEqual(Date.parse(retry.json.result.generatedAt))

    const push = await runCli(['push'], {env: env.env})
    expect(push.code).toBe(0)
    const emails = env.emu.control.all('contacts').map((c) => c.properties.email).sort()
    expect(emails).toEqual(['ada@example.org', 'bad.fixed@example.org', 'worse.fixed@example.org'])
    const ledger = await env.testDb.query<{resolution: string}>('SELECT resolution FROM cbhs_failure ORDER BY id')
    expect(ledger.map((l) => l.resolution)).toEqual(['synced', 'synced'])
  })

  it('healthy again: exit 0, and --json keeps its documented shape', async () => {
    // the retried records moved the push watermark past themselves: nothing is pending
    const r0 = await runCli(['status', '--json'], {env: env.env})
    expect(r0.json.result.modules[1].push.pending).toBe(0)
    await env.pass('push')

    const r = await runCli(['status', '--json', '--runs', '5'], {env: env.env})
    expect(r.code).toBe(0)
    expect(r.json.status).toBe(0)
    expect(r.json.warnings).toEqual([])
    const result = r.json.result
    expect(shapeErrors(result, GOLDEN)).toEqual([])
    expect(result.health).toMatchObject({state: 'OK', problems: []})
    expect(result.health.summary).toMatch(/^CBHS OK - 4 module direction\(s\) in step, oldest last pass \d+ s ago; 0 open failure\(s\); \d+\/250000 API calls today \| /)
    expect(result.modules.map((m: {module: string}) => m.module)).toEqual(['Accounts', 'Contacts', 'Leads', 'Potentials'])
    const contacts = result.modules[1]
    expect(contacts).toMatchObject({linked: 3, push: {lastOutcome: 'ok', failed: 0, pending: 0, stale: false}, pull: {lastOutcome: null, pending: null}})
    expect(result.modules[2].pull.watermarkOf).toBe('Contacts')
    expect(result.runs.map((x: {command: string; exitCode: number; state: string}) => [x.command, x.exitCode, x.state])).toEqual([
      ['push', 0, 'finished'],
      ['push', 0, 'finished'],
      ['push', 5, 'finished'],
    ])
    expect(result.runs[2].counts).toMatchObject({'push.Contacts.created': 1, 'push.Contacts.failed': 2})
    // API calls today: the sum over the runs, against the starter tier
    const calls = result.runs.reduce((n: number, x: {apiCalls: number}) => n + x.apiCalls, 0)
    expect(result.api).toMatchObject({today: calls, dailyLimit: 250_000, tier: 'starter', limitFrom: 'tier'})
    expect(result.api.today).toBeGreaterThan(0)
    expect(result.api.dayStart).toMatch(/T00:00:00\.000Z$/)
    expect(result.lock).toEqual({held: false, since: null, heldSeconds: null, holder: null})

    // a change waiting for the next push is pending, not unhealthy; --daily-limit overrides the tier
    await env.db.records.update('Contacts', bad[0], {phone: '+34 600'}, 1)
    const check = await runCli(['status', '--check', '--json', '--daily-limit', '1000000'], {env: env.env})
    expect(check.code).toBe(0)
    expect(check.json.result.modules[1].push.pending).toBe(1)
    expect(check.json.result.api).toMatchObject({dailyLimit: 1_000_000, limitFrom: 'flag'})
    expect(check.json.result.health.summary).toMatch(/^CBHS OK - /)
  })

  it('--dismiss closes a failure, reports unknown ids with exit 2; --mirror-errorlog writes each attempt once', async () => {
    await env.db.state.recordFailure({module: 'Accounts', direction: 'push', crmid: 999_001, category: 'TEST', message: 'first'})
    await env.db.state.recordFailure({module: 'Accounts', direction: 'push', crmid: 999_002, category: 'TEST', message: 'second'})
    const [first, second] = await env.testDb.query<{id: number}>('SELECT id FROM cbhs_failure WHERE open_flag = 1 ORDER BY id')

    const mirror = await runCli(['status', '--mirror-errorlog', '--json'], {env: env.env})
    expect(mirror.code).toBe(0)
    expect(mirror.json.result.actions.mirrored).toBe(2)
    const again = await runCli(['status', '--mirror-errorlog', '--dismiss', String(first.id), '--dismiss', '987654', '--json'], {env: env.env})
    expect(again.code).toBe(2)
    expect(again.json.result.actions).toEqual({retried: 0, dismissed: 1, mirrored: 0, unknownIds: [987654]})
    expect(again.json.warnings.join('\n')).toContain('No open failure with id 987654')
    expect(again.json.result.failures.entries.map((f: {id: number}) => f.id)).toEqual([second.id])
    const messages = await env.testDb.query<{information: string}>("SELECT information FROM cb_messagequeue WHERE channel = 'errorlog' ORDER BY information")
    expect(messages.map((m) => /\[push Accounts\]: (\w+)/.exec(m.information)?.[1])).toEqual(['first', 'second'])
    const [dismissed] = await env.testDb.query<{resolution: string}>('SELECT resolution FROM cbhs_failure WHERE id = ?', [first.id])
    expect(dismissed.resolution).toBe('dismissed')
  })
})
