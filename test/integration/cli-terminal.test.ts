import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runCli} from '../support/cli.js'
import {runInTerminal, screenLines} from '../support/pty.js'
import {createSyncEnv, type SyncEnv} from '../support/sync-env.js'

/**
 * cbhs at a terminal of 80 and 100 columns: every screen fits the terminal (no line wider than it),
 * on real data with failures, a dry-run plan and the setup listing.
 */
describe('cbhs at terminals of 80 and 100 columns', () => {
  let env: SyncEnv
  beforeAll(async () => {
    env = await createSyncEnv()
    const [acme] = await env.create('Accounts', [{accountname: 'Acme Ltd with a rather long company name for the table', website: 'acme.example'}])
    await env.create(
      'Contacts',
      Array.from({length: 30}, (_, i) => ({firstname: `Person${i}`, lastname: 'Example', email: i % 3 === 0 ? `bad${i}@@example` : `p${i}@acme.example`, account_id: String(acme)})),
    )
    expect((await runCli(['push'], {env: env.env})).code).toBe(5)
    await env.testDb.query("UPDATE vtiger_contactdetails SET title = 'Head of a department with a very long name indeed'")
    await env.testDb.query('UPDATE vtiger_crmentity SET modifiedtime = NOW() WHERE setype = ?', ['Contacts'])
  }, 300_000)
  afterAll(async () => env?.close())

  const screens: Array<readonly [string, string[]]> = [
    ['status', ['status']],
    ['status --failures', ['status', '--failures']],
    ['status --runs', ['status', '--runs', '5']],
    ['push --dry-run', ['push', '--dry-run']],
    ['sync', ['sync']],
    ['setup --dry-run', ['setup', '--dry-run', '--skip-hubspot']],
    ['reconcile', ['reconcile']],
    ['--help', ['--help']],
    ['status --help', ['status', '--help']],
  ]
  it.each([80, 100].flatMap((columns) => screens.map(([name, args]) => [columns, name, args] as const)))('%i columns, %s: no line wider than the terminal', async (columns, _name, args) => {
    const r = await runInTerminal(args, {columns, env: {...env.env, NO_COLOR: '1'}})
    const lines = screenLines(r.screen)
    expect(lines.filter((l) => l.trim()).length).toBeGreaterThan(1)
    const wide = lines.filter((l) => [...l].length > columns)
    expect(wide).toEqual([])
  })
})
