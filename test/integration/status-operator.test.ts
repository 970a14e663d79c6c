import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runCli} from '../support/cli.js'
import {createSyncEnv, type SyncEnv} from '../support/sync-env.js'

/**
 * `status` as an operator reads it: lag is what is pending (not the age of the data), --check
 * judges the last completed pass and the last attempt separately, and one failure can be read in full.
 */
describe('cbhs status for an operator: lag, --check after a failed attempt, one failure in full', () => {
  let env: SyncEnv
  let old: number[]

  beforeAll(async () => {
    env = await createSyncEnv()
    old = await env.create('Contacts', [
      {firstname: 'Ada', lastname: 'Lovelace', email: 'ada@example.org'},
      {firstname: 'Bad', lastname: 'Mail', email: 'bad@@example'},
    ])
    // records last modified years ago: the watermark after a push is their modifiedtime
    await env.testDb.query("UPDATE vtiger_crmentity SET modifiedtime = '2015-03-01 10:00:00' WHERE crmid IN (?)", [old])
  })
  afterAll(async () => env?.close())

  it('right after a push with nothing pending, push lags 0, whatever the age of the newest record', async () => {
    const push = await runCli(['push'], {env: env.env})
    expect(push.code).toBe(5)
    const r = await runCli(['status', '--json'], {env: env.env})
    const contacts = r.json.result.modules.find((m: {module: string}) => m.module === 'Contacts')
    expect(contacts.push.watermark).toBe('2015-03-01 10:00:00')
    expect(contacts.push.pending).toBe(0)
    expect(contacts.push.behindSeconds).toBe(0)
  })

  it('--check is OK after a failed attempt that followed good (partial) passes', async () => {
    // a second good pass, then one attempt that HubSpot's outage stopped (exit 4)
    expect((await runCli(['sync'], {env: env.env})).code).toBe(5)
    const down = await runCli(['sync'], {env: {...env.env, HUBSPOT_ACCESS_TOKEN: 'a-token-the-emulator-refuses'}})
    expect(down.code).toBe(4)
    const r = await runCli(['status', '--check'], {env: env.env})
    expect(r.stdout).not.toMatch(/never completed/)
    expect(r.stdout).toMatch(/^CBHS (OK|WARNING) - /)
    expect(r.stdout).not.toMatch(/^CBHS WARNING - (push|pull) /)
    const json = await runCli(['status', '--json'], {env: env.env})
    const contacts = json.json.result.modules.find((m: {module: string}) => m.module === 'Contacts')
    expect(contacts.push.lastOutcome).toBe('failed')
    expect(contacts.push.lastCompletedAt).not.toBeNull()
  })

  it('--failure ID shows one failure in full; --module and --category filter the list', async () => {
    const [failure] = await env.db.state.listFailures({limit: 1})
    const r = await runCli(['status', '--failure', String(failure!.id)], {env: env.env})
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`Failure ${failure!.id}`)
    expect(r.stdout).toContain(`record:       Contacts ${old[1]}`)
    expect(r.stdout).toMatch(/attempts:\s+\d+/)
    expect(r.stdout).toMatch(/next retry:\s+\S/)
    expect(r.stdout).toContain(failure!.message.split('\n')[0])
    const missing = await runCli(['status', '--failure', '999999'], {env: env.env})
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('No failure with id 999999')

    const match = await runCli(['status', '--module', 'contacts', '--category', failure!.category!.toLowerCase()], {env: env.env})
    expect(match.stdout).toContain(`Contacts ${old[1]}`)
    const none = await runCli(['status', '--module', 'accounts'], {env: env.env})
    expect(none.stdout).toContain('no open failure matches Accounts')
  })
})
