/**
 * A first pull (the real binary) on a spent 10-second budget, through the gateway's limiter, the emulator's limits and
 * the coreBOS state tables: the crmid write-backs wait in cbhs_carrier_queue instead of halving the
 * listing's rate, and the next pass with room sends them (src/sync/carrier-queue.ts).
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runCli} from '../support/cli.js'
import {createSyncEnv, type SyncEnv} from '../support/sync-env.js'

const CONTACTS = 300

describe('pull: the crmid write-backs of a first pull wait for budget the listing does not need', () => {
  let env: SyncEnv
  let seeded: Array<{id: string}>

  beforeAll(async () => {
    env = await createSyncEnv()
    seeded = env.emu.control.seed(
      'contacts',
      Array.from({length: CONTACTS}, (_, i) => ({firstname: 'First', lastname: `Pull ${i}`, email: `first${i}@acme.test`, lifecyclestage: 'customer'})),
    )
  }, 60_000)
  afterAll(async () => env?.close())

  async function carrying(): Promise<number> {
    const rows = await env.testDb.query<{crmid: number; hubspotid: string}>(
      "SELECT contactid AS crmid, hubspotid FROM vtiger_contactdetails WHERE hubspotid <> '' UNION ALL SELECT leadid, hubspotid FROM vtiger_leaddetails WHERE hubspotid <> ''",
    )
    expect(rows).toHaveLength(CONTACTS)
    return rows.filter((r) => env.emu.control.get('contacts', r.hubspotid)!.properties.corebos_crmid === String(r.crmid)).length
  }

  async function queued(): Promise<number> {
    const [row] = await env.testDb.query<{n: number}>("SELECT COUNT(*) AS n FROM cbhs_carrier_queue WHERE object_type = 'contacts'")
    return Number(row.n)
  }

  it('the first pull links every contact without a 429; what it could not send without waiting stays queued', async () => {
    // 10 requests per 10 s: the listing (3 pages) and the pass's metadata calls spend the window
    env.emu.control.setLimits({tenSecondly: 10})
    const mark = env.emu.control.requests().length
    const pull = await runCli(['pull'], {env: env.env})
    expect(pull.code).toBe(0)
    const requests = env.emu.control.requests().slice(mark)
    expect(requests.filter((r) => r.status === 429)).toEqual([])
    const sent = requests.filter((r) => r.endpoint === 'POST /crm/objects/2026-03/contacts/batch/update').length
    expect(sent).toBeLessThan(CONTACTS / 100)
    expect(await queued()).toBe(CONTACTS - sent * 100)
    expect(await carrying()).toBe(sent * 100)

    // the operator sees what waits
    const status = await runCli(['status', '--json'], {env: env.env})
    const result = (JSON.parse(status.stdout) as {result: {carrierWrites: {queued: number; oldestAt: string | null}}}).result
    expect(result.carrierWrites).toEqual({queued: CONTACTS - sent * 100, oldestAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)})
    const text = await runCli(['status'], {env: env.env})
    expect(text.stdout).toContain(`crmid write-backs queued for HubSpot: ${CONTACTS - sent * 100}, the oldest since `)
  }, 120_000)

  it('the next pass with room sends the rest; nothing looked archived, and the queue is empty', async () => {
    env.emu.control.setLimits(false)
    const [pull] = await env.pass('pull')
    expect(pull.failures).toEqual([])
    expect(pull.apiCalls['list archived contacts'] ?? 0).toBe(0)
    expect(pull.modules.Contacts).toMatchObject({markedDeleted: 0})
    expect(await queued()).toBe(0)
    expect(await carrying()).toBe(CONTACTS)
    expect((await runCli(['status'], {env: env.env})).stdout).not.toContain('write-backs queued')

    const [after] = await env.pass('pull')
    expect(after.failures).toEqual([])
    expect(after.apiCalls['list archived contacts'] ?? 0).toBe(0)
    expect(after.apiCalls['batch/update contacts'] ?? 0).toBe(0)
    expect(after.modules.Contacts).toMatchObject({markedDeleted: 0, updated: 0})
    const links = await env.testDb.query<{n: number}>("SELECT COUNT(*) AS n FROM cbhs_link WHERE object_type = 'contacts' AND archived = 0")
    expect(Number(links[0].n)).toBe(seeded.length)
  }, 120_000)
})
