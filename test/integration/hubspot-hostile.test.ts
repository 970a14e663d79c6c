/**
 * HubSpot answers are checked before they are believed (DESIGN §5.15), through the real binary
 * against the emulator's hostile modes (src/emulator/hostile.ts): an HTML page where JSON was
 * expected, a page listing one id twice, ids that are not digits, a cursor that repeats, a search
 * total that cannot be, a redirect to another port. Each stops the pass with exit 4 naming the
 * endpoint, moves no watermark, writes nothing to coreBOS, releases the lock, and a later good
 * pass still brings the edit that was pending.
 */
import {createServer, type IncomingHttpHeaders, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, beforeEach, describe, expect, it} from 'vitest'
import {HOSTILE_ID, type HostileSpec} from '../../src/emulator/index.js'
import {runCli, type CliResult} from '../support/cli.js'
import {HOSTILE_ANSWERS} from '../support/emulator.js'
import {captureStoredState, findSecrets, secretEnvOptions, TEST_SECRETS} from '../support/secrets.js'
import {createSyncEnv, type SyncEnv} from '../support/sync-env.js'

const LIST_CONTACTS = /^\/crm\/objects\/[^/]+\/contacts$/
const SEARCH_CONTACTS = /^\/crm\/objects\/[^/]+\/contacts\/search$/
/** a hostile pass must end on its own, well inside this */
const PROMPT_MS = 30_000

interface Mark {
  module: string
  direction: string
  value: string | null
  cursor_value: string | null
}

describe('hostile HubSpot answers: exit 4, nothing written, nothing skipped', () => {
  let env: SyncEnv
  let cliEnv: Record<string, string>
  let contactId: string
  let crmid: number

  // the contacts stream's watermark and bookmark (companies are pulled first, and rightly move theirs)
  const watermarks = () => env.testDb.query<Mark>("SELECT module, direction, value, cursor_value FROM cbhs_watermark WHERE module = 'Contacts' AND direction = 'pull'")
  const records = async () => (await env.testDb.query<{n: number}>("SELECT COUNT(*) AS n FROM vtiger_crmentity WHERE setype IN ('Contacts','Leads') AND deleted = 0"))[0]!.n
  const lastname = async () => (await env.testDb.query<{lastname: string}>('SELECT lastname FROM vtiger_contactdetails WHERE contactid = ?', [crmid]))[0]?.lastname
  const cbhs = (args: string[]) => runCli(args, {env: cliEnv, timeoutMs: PROMPT_MS})
  const hostile = (spec: HostileSpec) => env.emu.control.hostile(spec)

  /** The pass stopped as a HubSpot outage, naming what it asked and never the secrets. */
  function expectStopped(r: CliResult, endpoint: RegExp): void {
    expect(r.signal, `the pass did not end within ${PROMPT_MS / 1000} s`).toBeNull()
    expect(r.code, r.stderr).toBe(4)
    expect(r.stderr).toMatch(endpoint)
    expect(findSecrets(r.stdout + r.stderr, TEST_SECRETS)).toEqual([])
  }

  /** The run record is closed (the lock went with it) and says exit 4. */
  async function expectRunClosed(): Promise<void> {
    const [run] = await env.testDb.query<{exit_code: number; finished_at: string | null}>('SELECT exit_code, finished_at FROM cbhs_run ORDER BY id DESC LIMIT 1')
    expect(run).toMatchObject({exit_code: 4})
    expect(run!.finished_at).not.toBeNull()
  }

  /** A HubSpot edit the hostile pass must not skip: the next good pull brings it. */
  async function pendingEdit(value: string): Promise<void> {
    await new Promise((r) => setTimeout(r, 20))
    env.emu.control.update('contacts', contactId, {lastname: value})
  }

  async function expectEditArrives(value: string): Promise<void> {
    env.emu.control.clearHostile()
    const good = await cbhs(['pull'])
    expect(good.code, good.stderr).toBe(0)
    expect(await lastname()).toBe(value)
  }

  beforeAll(async () => {
    env = await createSyncEnv(secretEnvOptions())
    const dir = mkdtempSync(join(tmpdir(), 'cbhs-hostile-'))
    // no pull lag, so a watermark moved by a bad pass would lie past the pending edit at once
    const config = join(dir, 'cbhs.json')
    writeFileSync(config, JSON.stringify({sync: {pullLagSeconds: 0}, hubspot: {requestTimeoutMs: 5000}}), {mode: 0o600})
    cliEnv = {...env.env, CBHS_CONFIG: config}
    const [company] = env.emu.control.seed('companies', [{name: 'Hostile Co'}])
    const [contact] = env.emu.control.seed('contacts', [{firstname: 'Pen', lastname: 'Ding', email: 'pen@hostile.example', lifecyclestage: 'customer'}])
    env.emu.control.associate('contacts', contact.id, 'companies', company.id)
    contactId = contact.id
    const first = await cbhs(['pull'])
    expect(first.code, first.stderr).toBe(0)
    crmid = (await env.testDb.query<{contactid: number}>('SELECT contactid FROM vtiger_contactdetails WHERE hubspotid = ?', [contactId]))[0]!.contactid
  }, 120_000)
  beforeEach(() => env?.emu.control.clearHostile())
  afterAll(async () => {
    if (env) await captureStoredState(env.testDb)
    await env?.close()
  })

  it('a 200 HTML page from the list endpoint is not "HubSpot is empty": pull --full exits 4, the watermark stays', async () => {
    await pendingEdit('Ding-html-list')
    const before = await watermarks()
    hostile({kind: 'html', match: LIST_CONTACTS, method: 'GET'})
    const mark = env.mark()
    const r = await cbhs(['pull', '--full'])
    expectStopped(r, /list contacts \(GET \/crm\/objects\/2026-03\/contacts\)/)
    expect(r.stderr).toMatch(/200 with text\/html, not JSON/)
    // HubSpot was reached: the page is not a network failure, and it is asked for three times at most
    expect(r.stderr).not.toMatch(/Cannot reach/)
    expect(env.emu.control.requests().slice(mark).filter((q) => q.hostile === 'html')).toHaveLength(3)
    expect(await watermarks()).toEqual(before)
    await expectRunClosed()
    await expectEditArrives('Ding-html-list')
  })

  it('a 200 JSON page without results is not "HubSpot is empty" either: pull --full exits 4, the watermark stays', async () => {
    await pendingEdit('Ding-shape')
    const before = await watermarks()
    hostile({kind: 'wrongShape', match: LIST_CONTACTS, method: 'GET'})
    const r = await cbhs(['pull', '--full'])
    expectStopped(r, /list contacts/)
    expect(r.stderr).toMatch(/results is .* not a list/)
    expect(await watermarks()).toEqual(before)
    await expectEditArrives('Ding-shape')
  })

  it('an empty 200 from search exits 4, not 1', async () => {
    await pendingEdit('Ding-empty')
    const before = await watermarks()
    hostile({kind: 'emptyBody', match: SEARCH_CONTACTS})
    const r = await cbhs(['pull'])
    expectStopped(r, /search contacts/)
    expect(r.stderr).toMatch(/an empty body/)
    expect(await watermarks()).toEqual(before)
    await expectEditArrives('Ding-empty')
  })

  it('a 200 HTML page from search exits 4 (not a crash), the watermark stays', async () => {
    await pendingEdit('Ding-html-search')
    const before = await watermarks()
    hostile({kind: 'html', match: SEARCH_CONTACTS})
    const r = await cbhs(['pull'])
    expectStopped(r, /search contacts/)
    expect(r.stderr).toMatch(/200 with text\/html, not JSON/)
    expect(await watermarks()).toEqual(before)
    await expectEditArrives('Ding-html-search')
  })

  it('a page listing the same new id twice creates no coreBOS record; the next pass creates exactly one', async () => {
    const [twice] = env.emu.control.seed('contacts', [{firstname: 'Two', lastname: 'Times', email: 'twice@hostile.example', lifecyclestage: 'customer'}])
    const count = await records()
    const before = await watermarks()
    hostile({kind: 'duplicateIds', match: LIST_CONTACTS, method: 'GET'})
    const r = await cbhs(['pull', '--full'])
    expectStopped(r, /list contacts/)
    expect(r.stderr).toMatch(new RegExp(`${twice.id}|twice`))
    expect(await records()).toBe(count)
    expect(await watermarks()).toEqual(before)
    env.emu.control.clearHostile()
    expect((await cbhs(['pull', '--full'])).code).toBe(0)
    const made = await env.testDb.query<{contactid: number}>('SELECT contactid FROM vtiger_contactdetails WHERE hubspotid = ?', [twice.id])
    expect(made).toHaveLength(1)
  })

  it(`an id that is not digits (${HOSTILE_ID}) is refused: no record, no link, no hubspotrecord URL carries it`, async () => {
    env.emu.control.seed('contacts', [{firstname: 'Non', lastname: 'Digit', email: 'nondigit@hostile.example', lifecyclestage: 'customer'}])
    const count = await records()
    const before = await watermarks()
    hostile({kind: 'nonDigitIds', match: LIST_CONTACTS, method: 'GET'})
    const r = await cbhs(['pull', '--full'])
    expectStopped(r, /list contacts/)
    expect(r.stderr).toMatch(/not .*digits/)
    expect(await records()).toBe(count)
    expect(await watermarks()).toEqual(before)
    const carrying = await env.testDb.query(
      "SELECT contactid FROM vtiger_contactdetails WHERE hubspotid LIKE '%OR 1=1%' OR hubspotrecord LIKE '%OR 1=1%' UNION ALL SELECT crmid FROM cbhs_link WHERE hubspot_id LIKE '%OR 1=1%'",
    )
    expect(carrying).toEqual([])
  })

  it('a list cursor that repeats stops pull --full within seconds, lock released, watermark unchanged', async () => {
    await pendingEdit('Ding-cursor')
    const before = await watermarks()
    const mark = env.mark()
    hostile({kind: 'repeatCursor', match: LIST_CONTACTS, method: 'GET'})
    const started = Date.now()
    const r = await cbhs(['pull', '--full'])
    expectStopped(r, /list contacts/)
    expect(r.stderr).toMatch(/cursor/)
    expect(Date.now() - started).toBeLessThan(PROMPT_MS)
    const listed = env.emu.control.requests().slice(mark).filter((q) => LIST_CONTACTS.test(q.path))
    expect(listed.length).toBeLessThan(5)
    expect(await watermarks()).toEqual(before)
    await expectRunClosed()
    await expectEditArrives('Ding-cursor')
  })

  it('an association cursor that repeats stops the pull within seconds', async () => {
    await pendingEdit('Ding-assoc')
    const before = await watermarks()
    const mark = env.mark()
    hostile({kind: 'repeatCursor', match: /\/associations\/.*\/batch\/read$/})
    const r = await cbhs(['pull'])
    expectStopped(r, /associations\/read contacts->companies/)
    expect(r.stderr).toMatch(/cursor/)
    const reads = env.emu.control.requests().slice(mark).filter((q) => q.path.endsWith('/batch/read') && q.path.includes('associations'))
    expect(reads.length).toBeLessThan(5)
    const contacts = before.filter((m) => m.module === 'Contacts')
    expect((await watermarks()).filter((m) => m.module === 'Contacts')).toEqual(contacts)
    await expectEditArrives('Ding-assoc')
  })

  it('a search total smaller than the results it lists is refused', async () => {
    await pendingEdit('Ding-total')
    const before = await watermarks()
    hostile({kind: 'badTotal', match: SEARCH_CONTACTS})
    const r = await cbhs(['pull'])
    expectStopped(r, /search contacts/)
    expect(r.stderr).toMatch(/total/)
    expect(await watermarks()).toEqual(before)
    await expectEditArrives('Ding-total')
  })

  it('the chaos catalogue (test/support HOSTILE_ANSWERS): each lie stops its pass with exit 4, and the pass after it succeeds', async () => {
    for (const [i, entry] of HOSTILE_ANSWERS.entries()) {
      // something to push, and something pending in HubSpot, for every entry
      await env.create('Contacts', [{firstname: 'Cat', lastname: `Alogue ${i}`, email: `catalogue${i}@hostile.example`}])
      await pendingEdit(`Ding-catalogue-${i}`)
      const args = entry.full ? [entry.command, '--full'] : [entry.command]
      hostile(entry.spec)
      const r = await cbhs(args)
      expect(r.signal, entry.name).toBeNull()
      expect(r.code, `${entry.name}: ${r.stderr}`).toBe(4)
      expect(r.stderr, entry.name).toMatch(/HubSpot at \S+ (gave|kept failing) /)
      env.emu.control.clearHostile()
      const good = await cbhs(args)
      expect(good.code, `${entry.name} (after): ${good.stderr}`).toBe(0)
    }
    // nothing pending was lost and nothing doubled: the last edit arrives, each pushed contact is in HubSpot once
    expect((await cbhs(['sync'])).code).toBe(0)
    expect(await lastname()).toBe(`Ding-catalogue-${HOSTILE_ANSWERS.length - 1}`)
    const pushed = env.emu.control.all('contacts').filter((o) => o.properties.email?.startsWith('catalogue'))
    expect(pushed.map((o) => o.properties.email).sort()).toEqual(HOSTILE_ANSWERS.map((_, i) => `catalogue${i}@hostile.example`).sort())
  }, 240_000)

  describe('a redirect to another port of the same host', () => {
    let trap: Server
    let trapped: IncomingHttpHeaders[] = []
    let origin: string

    beforeAll(async () => {
      trap = createServer((req, res) => {
        trapped.push(req.headers)
        res.writeHead(200, {'Content-Type': 'application/json'})
        res.end(JSON.stringify({results: []}))
      })
      await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve))
      origin = `http://127.0.0.1:${(trap.address() as AddressInfo).port}`
    })
    afterAll(() => new Promise<void>((resolve) => trap.close(() => resolve())))

    it('is not followed: the token never reaches it, exit 4 names the endpoint and where it pointed', async () => {
      trapped = []
      await pendingEdit('Ding-redirect')
      const before = await watermarks()
      hostile({kind: 'redirect', location: origin, match: SEARCH_CONTACTS})
      const r = await cbhs(['pull'])
      expectStopped(r, /search contacts/)
      expect(r.stderr).toContain(origin.replace('http://', ''))
      expect(trapped).toEqual([])
      expect(await watermarks()).toEqual(before)
      await expectEditArrives('Ding-redirect')
    })
  })
})
