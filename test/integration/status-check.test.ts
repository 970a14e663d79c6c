import {createServer} from 'node:net'
import {hostname} from 'node:os'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {DbPassLock, lockNameFor} from '../../src/corebos/lock.js'
import {setupCoreBos} from '../../src/corebos/setup.js'
import {CoreBosStateStore} from '../../src/corebos/state.js'
import {runCli} from '../support/cli.js'
import {createTestDatabase, type TestDatabase} from '../support/db.js'

const MIN = 60_000

describe('cbhs status: a running pass, failures and a stale direction; --check exit codes', () => {
  let db: TestDatabase
  let bare: TestDatabase
  let lock: DbPassLock
  let runId: number

  const dbEnv = (t: TestDatabase) => ({
    CBHS_DB_HOST: t.settings.host,
    CBHS_DB_PORT: String(t.settings.port),
    CBHS_DB_USER: t.settings.user,
    CBHS_DB_PASSWORD: t.settings.password,
    CBHS_DB_NAME: t.settings.database,
  })

  beforeAll(async () => {
    // the state tables are all `status` needs to tell "not set up": an empty database will do
    ;[db, bare] = await Promise.all([createTestDatabase(), createTestDatabase({empty: true})])
    await setupCoreBos(db.pool, {dryRun: false, database: db.settings.database})
    const now = new CoreBosStateStore(db.pool)
    const earlier = (minutes: number) => new CoreBosStateStore(db.pool, {now: () => Date.now() - minutes * MIN})
    // push Accounts last completed 47 minutes ago (stale at 3 × 6 min); the other pushes just now
    await earlier(47).recordOutcome('Accounts', 'push', {outcome: 'ok'})
    for (const module of ['Contacts', 'Leads', 'Potentials'] as const) await now.recordOutcome(module, 'push', {outcome: 'ok'})
    for (const crmid of [101, 102, 103]) await now.recordFailure({module: 'Contacts', direction: 'push', crmid, category: 'INVALID_EMAIL', message: `bad email of ${crmid}`})
    // a pass holding the lock for 75 minutes, with its open run row
    lock = new DbPassLock(db.pool)
    expect(await lock.acquire(lockNameFor(db.settings.database))).toBe(true)
    runId = await earlier(75).startRun('push', false, {lockConnectionId: lock.connectionId})
  })
  afterAll(async () => {
    await lock?.releaseAll()
    await db?.drop()
    await bare?.drop()
  })

  it('shows the running pass, the failures and the stale direction on one screen, exit 5', async () => {
    const r = await runCli(['status'], {env: dbEnv(db)})
    expect(r.code).toBe(5)
    const out = r.stdout
    const holder = `push run #${runId} (${hostname()}, pid ${process.pid})`
    expect(out).toMatch(/^cbhs status: CRITICAL, 3 problem\(s\) \(database cbhs_t_\w+ on [^,]+, \d{4}-\d\d-\d\d \d\d:\d\d UTC\)\n/)
    expect(out).toContain('  CRITICAL push Accounts: last completed pass 47 min ago (> 18 min)\n')
    expect(out).toContain(`  CRITICAL lock: held by ${holder} for 1 h 15 min (> 1 h)\n`)
    expect(out).toContain('  WARNING  failures: 3 open failures (> 0)\n')
    // module, dir, lag, pending, failed, linked, last pass ago, last attempt ago
    expect(out).toMatch(/^Accounts +push +0 s +0 +0 +0 {2}47 min STALE +ok 47 min$/m)
    expect(out).toMatch(/^Contacts +push +0 s +0 +3 +0 {2}\d+ s +ok \d+ s$/m)
    expect(out).toMatch(new RegExp(`Lock: held by ${holder.replace(/[()#]/g, '\\$&')} since \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC \\(1 h 15 min\\)`))
    expect(out).toContain('Failures: 3 open, 0 due for retry, 0 given up (`cbhs status --failures` lists them)')
    expect(out).toContain(`Last run: #${runId} push, started 1 h 15 min ago, running now`)
    // one screen: problems, the table and the summary lines
    expect(out.trimEnd().split('\n').length).toBeLessThanOrEqual(40)
  })

  it('--check prints one Nagios line, CRITICAL first, exit 2; --json carries the holder', async () => {
    const [check, json] = await Promise.all([runCli(['status', '--check'], {env: dbEnv(db)}), runCli(['status', '--json', '--runs', '1'], {env: dbEnv(db)})])
    expect(check.code).toBe(2)
    expect(check.stdout.split('\n').filter(Boolean)).toHaveLength(1)
    expect(check.stdout).toMatch(
      /^CBHS CRITICAL - push Accounts: last completed pass 47 min ago \(> 18 min\); lock: held by push run #\d+ .* for 1 h 15 min \(> 1 h\); failures: 3 open failures \(> 0\) \| open_failures=3;0;;0; /,
    )
    expect(json.code).toBe(5)
    const {lock: l, runs, modules} = json.json.result
    expect(l).toMatchObject({held: true, holder: {connectionId: lock.connectionId, run: {id: runId, command: 'push'}}})
    expect(l.heldSeconds).toBeGreaterThanOrEqual(75 * 60)
    expect(runs).toMatchObject([{id: runId, state: 'running', finishedAt: null}])
    expect(modules[0].push.stale).toBe(true)
  })

  it('--stale-after and --max-failures override the config; given-up failures and a live legacy poller count', async () => {
    await new CoreBosStateStore(db.pool).finishRun(runId, {exitCode: 0, counts: {}, apiCalls: 7})
    await lock.releaseAll()

    const [ok, warning] = await Promise.all([
      runCli(['status', '--check', '--stale-after', '60', '--max-failures', '3'], {env: dbEnv(db)}),
      runCli(['status', '--check', '--stale-after', '60'], {env: dbEnv(db)}),
    ])
    expect([ok.code, ok.stdout]).toEqual([0, expect.stringMatching(/^CBHS OK - 4 module direction\(s\) in step, oldest last pass 47 min ago; 3 open failure\(s\); 7\/250000 API calls today \| /)])
    expect([warning.code, warning.stdout]).toEqual([1, expect.stringMatching(/^CBHS WARNING - failures: 3 open failures \(> 0\) \| /)])

    await db.query('UPDATE cbhs_failure SET given_up = 1, next_retry_at = NULL WHERE crmid = 101')
    await db.query("INSERT INTO cb_settings (setting_key, setting_value) VALUES ('hubspot_polllastsync', ?), ('hubspot_pollfrequency', '360')", [
      String(Math.floor(Date.now() / 1000) - 120),
    ])
    const critical = await runCli(['status', '--check', '--stale-after', '60', '--max-failures', '3'], {env: dbEnv(db)})
    expect(critical.code).toBe(2)
    expect(critical.stdout).toMatch(/^CBHS CRITICAL - failures: 1 failure given up .*; legacy: the legacy coreBOS HubSpot poller ran 2 min ago: two integrations are writing the same records/)
  })

  it('not set up: exit 3 (UNKNOWN under --check); unreachable: exit 4 (CRITICAL under --check); bad flags under --check: UNKNOWN', async () => {
    // a port just freed refuses at once (a filtered one would wait for the connect timeout)
    const down = {...dbEnv(db), CBHS_DB_PORT: String(await freePort())}
    const [notSetUp, notSetUpCheck, unreachable, unreachableCheck, usage, unknownFlag] = await Promise.all([
      runCli(['status'], {env: dbEnv(bare)}),
      runCli(['status', '--check'], {env: dbEnv(bare)}),
      runCli(['status'], {env: down}),
      runCli(['status', '--check'], {env: down}),
      runCli(['status', '--check', '--retry', 'all'], {env: dbEnv(db)}),
      runCli(['status', '--check', '--no-such-flag'], {env: dbEnv(db)}),
    ])
    expect(notSetUp.code).toBe(3)
    expect(notSetUp.stderr).toContain('Run `cbhs setup`')
    expect([notSetUpCheck.code, notSetUpCheck.stdout]).toEqual([3, 'CBHS UNKNOWN - The cbhs state tables are missing in this coreBOS database.\n'])
    expect(unreachable.code).toBe(4)
    expect(unreachableCheck.code).toBe(2)
    expect(unreachableCheck.stdout).toMatch(/^CBHS CRITICAL - Cannot reach the coreBOS database at .*:\d+ \(ECONNREFUSED\)/)
    expect(usage.code).toBe(3)
    expect(usage.stdout).toMatch(/^CBHS UNKNOWN - .*--retry/)
    expect(unknownFlag.code).toBe(3)
    expect(unknownFlag.stdout).toMatch(/^CBHS UNKNOWN - .*no-such-flag/)
  })
})

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address() as {port: number}
      server.close(() => resolve(port))
    })
  })
}
