import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runCli} from '../support/cli.js'
import {createTestDatabase, testServer, type TestDatabase} from '../support/db.js'

describe('cbhs binary: help, exit codes, setup', () => {
  let empty: TestDatabase
  let corebos: TestDatabase
  beforeAll(async () => {
    empty = await createTestDatabase({empty: true})
    corebos = await createTestDatabase()
  })
  afterAll(async () => {
    await empty?.drop()
    await corebos?.drop()
  })

  const dbEnv = (db: TestDatabase) => ({
    CBHS_DB_HOST: db.settings.host,
    CBHS_DB_PORT: String(db.settings.port),
    CBHS_DB_USER: db.settings.user,
    CBHS_DB_PASSWORD: db.settings.password,
    CBHS_DB_NAME: db.settings.database,
  })

  it('lists the commands in --help', async () => {
    const r = await runCli(['--help'])
    expect(r.code).toBe(0)
    for (const command of ['setup', 'push', 'pull', 'sync']) expect(r.stdout).toMatch(new RegExp(`^\\s+${command}\\s`, 'm'))
  })

  it('exits 2 on an unknown flag', async () => {
    const r = await runCli(['push', '--no-such-flag'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/no-such-flag/)
  })

  it('setup --dry-run on a database that is not coreBOS exits 3 naming what is missing', async () => {
    const r = await runCli(['setup', '--dry-run'], {env: dbEnv(empty)})
    expect(r.code).toBe(3)
    expect(r.stderr).toMatch(/vtiger_tab/)
    expect(r.stderr).toMatch(/Try: /)
  })

  it('an unreachable database exits 4 naming host and port, never the password', async () => {
    const password = 'S3cret-pass-word'
    const r = await runCli(['setup', '--dry-run'], {env: {...dbEnv(corebos), CBHS_DB_PORT: '1', CBHS_DB_PASSWORD: password}})
    expect(r.code).toBe(4)
    expect(r.stderr).toContain(`${testServer().host}:1`)
    expect(r.stdout + r.stderr).not.toContain(password)
  })

  it('a refused password exits 4 without showing it, also under --json', async () => {
    const password = 'Wrong-pass-12345'
    const r = await runCli(['setup', '--dry-run', '--json'], {env: {...dbEnv(corebos), CBHS_DB_USER: 'cbhs_nobody', CBHS_DB_PASSWORD: password}})
    expect(r.code).toBe(4)
    expect(r.json?.error?.code).toBe('DB_AUTH_REFUSED')
    expect(r.stdout + r.stderr).not.toContain(password)
  })

  it('setup --dry-run lists the changes without making them; setup then makes them once', async () => {
    const dry = await runCli(['setup', '--dry-run', '--skip-hubspot', '--json'], {env: dbEnv(corebos)})
    expect(dry.code).toBe(0)
    const planned = dry.json.result.corebos.length
    expect(planned).toBeGreaterThan(10)
    const tables = await corebos.query("SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE 'cbhs%'")
    expect(tables).toEqual([])

    const real = await runCli(['setup', '--skip-hubspot', '--json'], {env: dbEnv(corebos)})
    expect(real.code).toBe(0)
    expect(real.json.result.corebos.length).toBe(planned)
    const again = await runCli(['setup', '--skip-hubspot', '--json'], {env: dbEnv(corebos)})
    expect(again.json.result.corebos).toEqual([])
  })
})
