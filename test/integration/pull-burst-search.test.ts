/**
 * An incremental pull through the real binary after a burst of HubSpot edits that share one
 * millisecond (a bulk edit, a workflow): the search planner restarts on that millisecond leaving
 * out what it read, instead of walking it by id from its first id and re-reading the page (the
 * bench's 10,000 edits cost 62–72 searches that way, where 55 do).
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runCli} from '../support/cli.js'
import {createSyncEnv, type SyncEnv} from '../support/sync-env.js'

const BURST = 450

describe('pull: a burst of edits on one millisecond', () => {
  let env: SyncEnv
  let ids: string[]

  beforeAll(async () => {
    env = await createSyncEnv()
    ids = env.emu.control
      .seed('contacts', Array.from({length: BURST}, (_, i) => ({firstname: 'Burst', lastname: `Before ${i}`, email: `burst${i}@acme.test`, lifecyclestage: 'customer'})))
      .map((o) => o.id)
    const [first] = await env.pass('pull')
    expect(first.failures).toEqual([])
    expect(first.modules.Contacts).toMatchObject({created: BURST})
  }, 120_000)
  afterAll(async () => env?.close())

  it('pulls every edit once, with one search a page of 200 and no walk of the millisecond by id', async () => {
    const at = Date.now() - 1_000
    for (const [i, id] of ids.entries()) env.emu.control.update('contacts', id, {lastname: `After ${i}`}, {atMs: at})
    const mark = env.emu.control.requests().length
    const pull = await runCli(['pull'], {env: env.env})
    expect(pull.code).toBe(0)
    const searches = env.emu.control.requests().slice(mark).filter((r) => r.endpoint === 'POST /crm/objects/2026-03/contacts/search').length
    // the folded first search (too many changes for its page), the archived check's count, then
    // 200 + 200 + 50: walking the millisecond by id from its first id re-read the first page and took 8
    expect(searches).toBe(5)
    const rows = await env.testDb.query<{n: number}>("SELECT COUNT(*) AS n FROM vtiger_contactdetails WHERE lastname LIKE 'After %'")
    expect(Number(rows[0].n)).toBe(BURST)
  }, 120_000)
})
