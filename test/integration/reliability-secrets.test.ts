/**
 * Secrets stay secret (DESIGN §5.9): the HubSpot token and the database password, both real and
 * secret-looking (test/support/secrets.ts), go through every path that prints or stores text —
 * success, --json, --verbose, auth refused on either side, DEBUG stack traces, config files,
 * config.inc.php — and never come out. Global teardown scans all of it again suite-wide.
 */
import {chmodSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runCli, type CliResult} from '../support/cli.js'
import {
  captureStoredState,
  findSecrets,
  SECRET_DB_PASSWORD,
  SECRET_DB_USER,
  SECRET_HUBSPOT_TOKEN,
  secretEnvOptions,
  TEST_SECRETS,
} from '../support/secrets.js'
import {createSyncEnv, type SyncEnv} from '../support/sync-env.js'

/** a HubSpot token of three characters, two of which JSON escapes */
const SHORT_TOKEN = 'T"\\'
/** a database password JSON changes (quote, backslash) with a character URL encoding changes */
const ESCAPED_PASSWORD = 'Lo"ng\\pässwörd'
const ESCAPED_USER = 'cbhs_escaped_t'

function clean(r: CliResult, extra: string[] = []): void {
  expect(findSecrets(r.stdout + r.stderr, [...TEST_SECRETS, ...extra])).toEqual([])
}

describe('reliability: secrets never leave cbhs', () => {
  let env: SyncEnv
  let dir: string

  beforeAll(async () => {
    env = await createSyncEnv(secretEnvOptions())
    dir = mkdtempSync(join(tmpdir(), 'cbhs-secrets-'))
    await env.create('Contacts', [
      {firstname: 'Ok', lastname: 'Person', email: 'ok@example.org'},
      // a value that happens to hold the token must not carry it into the ledger or the output
      {firstname: 'Leaky', lastname: `Leak ${SECRET_HUBSPOT_TOKEN}`, email: 'not an email'},
    ])
  })
  afterAll(async () => {
    if (env) await captureStoredState(env.testDb)
    await env?.close()
  })

  it('the scanner finds a secret in plain, URL-encoded, JSON-escaped and base64 form', () => {
    expect(findSecrets(`x ${SECRET_DB_PASSWORD} y`)).toEqual([SECRET_DB_PASSWORD])
    expect(findSecrets(`mysql://u:${encodeURIComponent(SECRET_DB_PASSWORD)}@h/db`)).toEqual([SECRET_DB_PASSWORD])
    expect(findSecrets(JSON.stringify({p: SECRET_DB_PASSWORD}))).toEqual([SECRET_DB_PASSWORD])
    expect(findSecrets(Buffer.from(SECRET_HUBSPOT_TOKEN).toString('base64'))).toEqual([SECRET_HUBSPOT_TOKEN])
    expect(findSecrets('nothing here')).toEqual([])
  })

  it('the suite runs with a capture file and the secret database user really logs in', () => {
    expect(process.env.CBHS_TEST_CAPTURE).toBeTruthy()
    expect(env.env.CBHS_DB_USER).toBe(SECRET_DB_USER)
    expect(env.env.HUBSPOT_ACCESS_TOKEN).toBe(SECRET_HUBSPOT_TOKEN)
  })

  it('push, --json and --verbose runs print neither secret, and the ledger entry is redacted', async () => {
    const push = await runCli(['push', '--verbose'], {env: env.env})
    expect(push.code).toBe(5)
    clean(push)
    const json = await runCli(['push', '--json'], {env: env.env})
    expect(json.json).toBeDefined()
    clean(json)
    const status = await runCli(['status', '--json'], {env: env.env})
    clean(status)
    const rows = await env.testDb.query<{message: string}>('SELECT message FROM cbhs_failure')
    expect(rows.length).toBeGreaterThan(0)
    expect(findSecrets(JSON.stringify(rows))).toEqual([])
  })

  it('HubSpot refusing the token exits 4 without echoing the token sent', async () => {
    const wrong = 'pat-eu1-testonly-dead-beef-0000-wrongtoken99'
    // one after another: two pushes at once would meet the pass lock
    for (const args of [['push'], ['push', '--json'], ['status', '--json']]) {
      const r = await runCli(args, {env: {...env.env, HUBSPOT_ACCESS_TOKEN: wrong}})
      if (args[0] === 'push') expect(r.code).toBe(4)
      clean(r, [wrong])
    }
  })

  it('the database refusing the password exits 4 naming the user, never the password', async () => {
    const wrong = 'Wr0ng-pa55word-for-cbhs!'
    const results = await Promise.all([['push'], ['push', '--json'], ['status']].map((args) => runCli(args, {env: {...env.env, CBHS_DB_PASSWORD: wrong, DEBUG: 'cbhs'}})))
    for (const r of results) {
      expect(r.code).toBe(4)
      expect(r.stdout + r.stderr).toContain(SECRET_DB_USER)
      clean(r, [wrong])
    }
  })

  it('a DATABASE_URL with the password, good or malformed, never echoes it', async () => {
    const {CBHS_DB_USER: _u, CBHS_DB_PASSWORD: _p, CBHS_DB_HOST: host, CBHS_DB_PORT: port, CBHS_DB_NAME: name, ...rest} = env.env
    const url = `mysql://${SECRET_DB_USER}:${encodeURIComponent(SECRET_DB_PASSWORD)}@${host}:${port}/${name}`
    const good = await runCli(['status'], {env: {...rest, DATABASE_URL: url}})
    clean(good)
    const bad = await runCli(['status', '--json'], {env: {...rest, DATABASE_URL: `mysql//${SECRET_DB_USER}:${SECRET_DB_PASSWORD}@${host}/x`}})
    expect(bad.code).toBe(3)
    clean(bad)
  })

  it('a config file holding the token draws a warning when others can read it, none at 0600', async () => {
    const file = join(dir, 'cbhs.json')
    writeFileSync(file, JSON.stringify({hubspot: {accessToken: SECRET_HUBSPOT_TOKEN}}))
    const {HUBSPOT_ACCESS_TOKEN: _t, ...rest} = env.env
    chmodSync(file, 0o644)
    const open = await runCli(['status', '--config', file], {env: rest})
    expect(open.stderr).toMatch(new RegExp(`Config file ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} holds a secret and is readable by other users; run: chmod 600`))
    clean(open)
    chmodSync(file, 0o600)
    const closed = await runCli(['status', '--config', file], {env: rest})
    expect(closed.stderr).not.toMatch(/readable by other users/)
    clean(closed)
  })

  it('a config.inc.php holding the password, read with --corebos-dir, never echoes it', async () => {
    const corebos = mkdtempSync(join(dir, 'corebos-'))
    const escaped = SECRET_DB_PASSWORD.replace(/\\/g, '\\\\').replace(/'/g, "\\'")
    writeFileSync(
      join(corebos, 'config.inc.php'),
      `<?php\n$dbconfig['db_server'] = '${env.env.CBHS_DB_HOST}';\n$dbconfig['db_port'] = ':${env.env.CBHS_DB_PORT}';\n` +
        `$dbconfig['db_username'] = "${SECRET_DB_USER}";\n$dbconfig['db_password'] = '${escaped}';\n` +
        `$dbconfig['db_name'] = '${env.env.CBHS_DB_NAME}';\n$default_timezone = 'UTC';\n`,
    )
    const {CBHS_DB_USER: _u, CBHS_DB_PASSWORD: _p, CBHS_DB_HOST: _h, CBHS_DB_PORT: _o, CBHS_DB_NAME: _n, ...rest} = env.env
    const r = await runCli(['push', '--corebos-dir', corebos, '--verbose'], {env: rest})
    // it logged in with the password from the file: the pass ran (the bad e-mail is still failing)
    expect(r.code).toBe(5)
    clean(r)
    // a syntax error right after the password line: the error names file and line, not the value
    writeFileSync(join(corebos, 'config.inc.php'), `<?php\n$dbconfig['db_password'] = '${escaped}'\n$dbconfig['db_name'] = 'x' 'y';\n`)
    const bad = await runCli(['status', '--corebos-dir', corebos], {env: rest})
    expect(bad.code).toBe(3)
    expect(bad.stderr).toMatch(/config\.inc\.php:\d+/)
    clean(bad)
  })
})

describe('reliability: short secrets and secrets that escaping changes', () => {
  let env: SyncEnv

  beforeAll(async () => {
    env = await createSyncEnv({emulator: {token: SHORT_TOKEN}})
    for (const host of ['127.0.0.1', 'localhost', '::1']) {
      await env.testDb.query('CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ?', [ESCAPED_USER, host, ESCAPED_PASSWORD])
      await env.testDb.query('ALTER USER ?@? IDENTIFIED BY ?', [ESCAPED_USER, host, ESCAPED_PASSWORD])
      await env.testDb.query(`GRANT ALL PRIVILEGES ON \`${env.testDb.settings.database}\`.* TO ?@?`, [ESCAPED_USER, host])
    }
    // HubSpot refuses the address and quotes it back: both secrets come back in its error message
    await env.create('Contacts', [{firstname: 'Echo', lastname: 'Secrets', email: `${ESCAPED_PASSWORD}${SHORT_TOKEN}@@echo.example`}])
  })
  afterAll(async () => {
    if (env) await captureStoredState(env.testDb)
    await env?.close()
  })

  it('a three-character token and a password with quote, backslash and umlauts stay hidden in plain and --json output and in the ledger', async () => {
    const secrets = [SHORT_TOKEN, ESCAPED_PASSWORD]
    const cliEnv = {...env.env, CBHS_DB_USER: ESCAPED_USER, CBHS_DB_PASSWORD: ESCAPED_PASSWORD}
    const push = await runCli(['push', '--verbose'], {env: cliEnv})
    expect(push.code, push.stderr).toBe(5)
    expect(push.stdout + push.stderr).toMatch(/INVALID_EMAIL|is invalid/)
    clean(push, secrets)
    const json = await runCli(['push', '--json'], {env: cliEnv})
    expect(json.json, json.stdout).toBeDefined()
    clean(json, secrets)
    const status = await runCli(['status', '--failures', '--json'], {env: cliEnv})
    clean(status, secrets)
    const rows = await env.testDb.query<{message: string}>('SELECT message FROM cbhs_failure')
    expect(rows.length).toBeGreaterThan(0)
    expect(findSecrets(JSON.stringify(rows), secrets)).toEqual([])
    expect(findSecrets(rows.map((r) => r.message).join('\n'), secrets)).toEqual([])
  })
})
