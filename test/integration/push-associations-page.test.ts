/**
 * A push sends a page's associations in one call per type (issue 19: one per 100-record batch made
 * 0.018 writes a record), and records the page's links only once they are sent: a pass killed while
 * the association call hangs leaves no link that claims an association HubSpot never got, and the
 * next pass makes them.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {createMany, runAndKillWhen, runToEnd} from '../chaos/harness.js'
import {createSyncEnv, type SyncEnv} from '../support/sync-env.js'

const ASSOCIATE = /\/associations\/[^/]+\/contacts\/companies\/batch\/create$/

describe('push: associations of a page in one call', () => {
  let env: SyncEnv
  let accounts: number[]

  beforeAll(async () => {
    env = await createSyncEnv()
    accounts = await createMany(env, 'Accounts', 5, (i) => ({accountname: `Page Co ${i}`}))
    await runToEnd(['push', '--module', 'Accounts'], env.env)
  })
  afterAll(async () => env?.close())

  it('sends the associations of 450 contacts in one call', async () => {
    await createMany(env, 'Contacts', 450, (i) => ({firstname: `P${i}`, lastname: `Page ${i}`, email: `p${i}@page.example`, account_id: String(accounts[i % accounts.length])}))
    env.emu.control.resetLog()
    await runToEnd(['push', '--module', 'Contacts'], env.env)
    const calls = env.emu.control.requests().filter((r) => ASSOCIATE.test(r.path))
    expect(calls).toHaveLength(1)
    const upserts = env.emu.control.requests().filter((r) => /\/contacts\/batch\/upsert$/.test(r.path))
    expect(upserts).toHaveLength(5)
    const companies = new Map(env.emu.control.all('companies').map((c) => [c.properties.corebos_crmid, c.id]))
    for (const contact of env.emu.control.all('contacts')) {
      const account = accounts[(Number(contact.properties.firstname!.slice(1))) % accounts.length]
      expect(env.emu.control.associations('contacts', contact.id, 'companies').map((a) => a.toId)).toEqual([companies.get(String(account))])
    }
  })

  it('a pass killed while the association call hangs links nothing that claims it; the next pass sends it', async () => {
    const contacts = await createMany(env, 'Contacts', 250, (i) => ({firstname: `K${i}`, lastname: `Kill ${i}`, email: `k${i}@kill.example`, account_id: String(accounts[i % accounts.length])}))
    env.emu.control.injectFaults({kinds: ['hang'], count: 1, match: ASSOCIATE})
    const outcome = await runAndKillWhen(['push', '--module', 'Contacts'], env.env, async () => env.emu.control.requests().some((r) => r.fault === 'hang'))
    env.emu.control.clearFaults()
    expect(outcome.killed, outcome.stderr).toBe(true)
    // the upserts went through, the associations did not, and no link says they did
    const created = env.emu.control.all('contacts').filter((c) => c.properties.lastname?.startsWith('Kill '))
    expect(created).toHaveLength(250)
    for (const c of created) expect(env.emu.control.associations('contacts', c.id, 'companies')).toEqual([])
    const claimed = await env.testDb.query<{crmid: number; associations: string}>(
      "SELECT crmid, associations FROM cbhs_link WHERE module = 'Contacts' AND crmid IN (?) AND associations LIKE '%companies%'",
      [contacts],
    )
    expect(claimed).toEqual([])

    await runToEnd(['push', '--module', 'Contacts'], env.env)
    for (const c of env.emu.control.all('contacts').filter((o) => o.properties.lastname?.startsWith('Kill '))) {
      expect(env.emu.control.associations('contacts', c.id, 'companies')).toHaveLength(1)
    }
    const links = await env.testDb.query<{n: number}>("SELECT COUNT(*) AS n FROM cbhs_link WHERE module = 'Contacts' AND crmid IN (?) AND associations LIKE '%companies%'", [contacts])
    expect(Number(links[0]!.n)).toBe(250)
  })
})
