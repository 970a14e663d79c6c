/**
 * HubSpot ends its legacy APIs (v4 associations on 2027-03-30, v1–v4 in September 2027). Every
 * request the real binary makes, command by command, is recorded by the emulator: none may be a
 * `/crm/v3/`, `/crm/v4/` or other legacy `/v<n>/` path; all are on the configured date-versioned release.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runCli} from '../support/cli.js'
import {createSyncEnv, type SyncEnv} from '../support/sync-env.js'

const LEGACY = /\/v\d+(\/|$)/

describe('every command on the date-versioned HubSpot APIs (binary)', () => {
  let env: SyncEnv
  beforeAll(async () => {
    env = await createSyncEnv()
  }, 60_000)
  afterAll(async () => env?.close())

  it('setup, push, pull, sync, reconcile, status and map:validate --online call no legacy path', async () => {
    const [account] = await env.create('Accounts', [{accountname: 'Paths Inc', phone: '+1 555 0101'}])
    await env.create('Contacts', [{firstname: 'Ada', lastname: 'Paths', email: 'ada@paths.test', account_id: String(account)}])
    const minutesAgo = Date.now() - 5 * 60_000
    const [company] = env.emu.control.seed('companies', [{name: 'From HubSpot'}], {modifiedAt: minutesAgo})
    const [person] = env.emu.control.seed('contacts', [{firstname: 'Hal', lastname: 'Spot', email: 'hal@paths.test', lifecyclestage: 'customer'}], {modifiedAt: minutesAgo})
    env.emu.control.associate('contacts', person!.id, 'companies', company!.id)
    const [deal] = env.emu.control.seed('deals', [{dealname: 'Paths deal', dealstage: 'contractsent', pipeline: 'default', closedate: '2026-12-01T00:00:00.000Z'}], {modifiedAt: minutesAgo})
    env.emu.control.associate('deals', deal!.id, 'contacts', person!.id)

    const commands: string[][] = [
      ['setup'],
      ['push'],
      ['pull', '--full'],
      ['pull'],
      ['sync'],
      ['reconcile', '--apply'],
      ['status'],
      ['map:validate', '--online'],
    ]
    const byCommand = new Map<string, string[]>()
    for (const argv of commands) {
      const mark = env.mark()
      const r = await runCli([...argv, '--json'], {env: env.env})
      expect(r.code, `${argv.join(' ')}: ${r.stdout}${r.stderr}`).toBe(0)
      byCommand.set(argv.join(' '), env.emu.control.requests().slice(mark).map((q) => `${q.method} ${q.path}`))
    }

    const legacy = [...byCommand].flatMap(([command, requests]) => requests.filter((q) => LEGACY.test(q.split(' ')[1]!)).map((q) => `${command}: ${q}`))
    expect(legacy).toEqual([])
    // status reads only the coreBOS database; every other command talks to HubSpot
    for (const [command, requests] of byCommand) {
      if (command === 'status') expect(requests, command).toEqual([])
      else expect(requests.length, command).toBeGreaterThan(0)
    }
    const all = [...byCommand.values()].flat()
    // what was recorded covers every API family the gateway uses, each on the 2026-03 release
    for (const family of [
      /^GET \/account-info\/2026-03\/details$/,
      /^GET \/crm\/properties\/2026-03\/contacts$/,
      /^GET \/crm\/properties\/2026-03\/contacts\/groups$/,
      /^GET \/crm\/pipelines\/2026-03\/deals$/,
      /^POST \/crm\/objects\/2026-03\/contacts\/batch\/upsert$/,
      /^POST \/crm\/objects\/2026-03\/contacts\/search$/,
      /^GET \/crm\/objects\/2026-03\/contacts$/,
      /^POST \/crm\/associations\/2026-03\/contacts\/companies\/batch\/create$/,
      /^POST \/crm\/associations\/2026-03\/[a-z]+\/[a-z]+\/batch\/read$/,
    ]) {
      expect(all.some((q) => family.test(q)), String(family)).toBe(true)
    }
    // and nothing the emulator did not know (an unknown route is recorded as UNKNOWN)
    expect(env.emu.control.requests().filter((q) => q.endpoint === 'UNKNOWN')).toEqual([])
  })
})
