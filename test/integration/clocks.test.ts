/**
 * Clocks are the database's, never the host's (DESIGN.md §5, invariant 13; issue 15), on a real
 * MariaDB with the real schema, the emulator and the real binary:
 *  - every time cbhs writes into coreBOS comes from the database clock, in the install's zone;
 *  - a host clock 10 minutes ahead (the test seam CBHS_TEST_HOST_CLOCK_OFFSET_MS, src/host-clock.ts)
 *    neither stamps records in the future nor moves a watermark past the database's NOW();
 *  - a record dated in the future is sent, does not freeze its module, and `status` names it;
 *  - an edit saved in the hour repeated when clocks go back is pushed.
 */
import mysql from 'mysql2/promise'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {CoreBosRecords} from '../../src/corebos/records.js'
import {naiveNow} from '../../src/corebos/values.js'
import {naiveToEpochMs} from '../../src/sync/time.js'
import {runCli} from '../support/cli.js'
import {databaseNowMs, setModifiedtime, hostSkewEnv} from '../support/clock-skew.js'
import {addControlColumns} from '../support/corebos-fixtures.js'
import {createTestDatabase, type TestDatabase} from '../support/db.js'
import {createSyncEnv, type SyncEnv} from '../support/sync-env.js'

const TEN_MIN_MS = 10 * 60_000


describe('the records adapter stamps coreBOS times from the database clock, in the install zone', () => {
  let db: TestDatabase
  let skewed: mysql.Pool
  let dbClockMs: number
  beforeAll(async () => {
    db = await createTestDatabase()
    await addControlColumns(db)
    // a pool whose server clock is 10 minutes behind this host: the same as a host 10 minutes ahead
    dbClockMs = Math.floor((Date.now() - TEN_MIN_MS) / 1000) * 1000
    skewed = mysql.createPool({...db.settings, dateStrings: true, connectionLimit: 2, charset: 'UTF8MB4_GENERAL_CI'})
    skewed.on('connection', (conn) => {
      conn.query(`SET timestamp = ${dbClockMs / 1000}`)
    })
  })
  afterAll(async () => {
    await skewed?.end()
    await db?.drop()
  })

  it('create, update, updateMany, trash and now() use the server clock, not the host clock', async () => {
    const zone = 'Europe/Madrid'
    const records = new CoreBosRecords(skewed, {timezone: zone})
    const expected = naiveNow(zone, new Date(dbClockMs))
    expect(await records.now()).toBe(expected)

    const [a, b, c] = (await records.create('Contacts', [1, 2, 3].map((i) => ({fields: {lastname: `Clock ${i}`}})), 1)).map((r) => r.crmid)
    await records.update('Contacts', a, {phone: '1'}, 1)
    await records.updateMany('Contacts', [{crmid: b, fields: {phone: '2'}}], 1)
    await records.trash('Contacts', c, 1)
    const rows = await db.query<{crmid: number; createdtime: string; modifiedtime: string}>(
      'SELECT crmid, createdtime, modifiedtime FROM vtiger_crmentity WHERE crmid IN (?) ORDER BY crmid',
      [[a, b, c]],
    )
    for (const row of rows) {
      expect(row.createdtime, `createdtime of ${row.crmid}`).toBe(expected)
      expect(row.modifiedtime, `modifiedtime of ${row.crmid}`).toBe(expected)
    }
    const [object] = await db.query<{modifiedtime: string}>('SELECT modifiedtime FROM vtiger_crmobject WHERE crmid = ?', [a])
    expect(object.modifiedtime).toBe(expected)
  })
})

describe('a host clock 10 minutes ahead (the binary, CBHS_TEST_HOST_CLOCK_OFFSET_MS)', () => {
  let env: SyncEnv
  let ids: number[]
  const skew = () => ({...env.env, ...hostSkewEnv(TEN_MIN_MS)})
  beforeAll(async () => {
    env = await createSyncEnv()
    ids = await env.create('Contacts', [
      {lastname: 'Ahead', firstname: 'Ann', email: 'ann@ahead.test'},
      {lastname: 'Ahead', firstname: 'Bob', email: 'bob@ahead.test'},
    ])
    const push = await runCli(['push'], {env: skew()})
    expect(push.code, push.stderr).toBe(0)
  })
  afterAll(async () => env?.close())

  const hubspotIdOf = async (crmid: number) => (await env.testDb.query<{hubspotid: string}>('SELECT hubspotid FROM vtiger_contactdetails WHERE contactid = ?', [crmid]))[0].hubspotid

  it('pull stamps modifiedtime and hubspotlastsync from the database clock', async () => {
    env.emu.control.update('contacts', await hubspotIdOf(ids[0]), {jobtitle: 'Pulled'})
    const pull = await runCli(['pull'], {env: skew()})
    expect(pull.code, pull.stderr).toBe(0)
    const now = await databaseNowMs(env.testDb)
    const [row] = await env.testDb.query<{title: string; modifiedtime: string; hubspotlastsync: string}>(
      'SELECT d.title, e.modifiedtime, d.hubspotlastsync FROM vtiger_contactdetails d JOIN vtiger_crmentity e ON e.crmid = d.contactid WHERE d.contactid = ?',
      [ids[0]],
    )
    expect(row.title).toBe('Pulled')
    for (const [what, value] of [['modifiedtime', row.modifiedtime], ['hubspotlastsync', row.hubspotlastsync]] as const) {
      const ms = naiveToEpochMs(value, env.config.timezone)
      expect(ms, `${what} ${value} is not from the database clock`).toBeLessThanOrEqual(now + 1000)
      expect(now - ms, `${what} ${value}`).toBeLessThan(60_000)
    }
  })

  it('a HubSpot edit made right after a pull is read by the next pull', async () => {
    const pull = await runCli(['pull'], {env: skew()})
    expect(pull.code, pull.stderr).toBe(0)
    env.emu.control.update('contacts', await hubspotIdOf(ids[1]), {jobtitle: 'Just after'})
    const next = await runCli(['pull'], {env: skew()})
    expect(next.code, next.stderr).toBe(0)
    const [row] = await env.testDb.query<{title: string}>('SELECT title FROM vtiger_contactdetails WHERE contactid = ?', [ids[1]])
    expect(row.title).toBe('Just after')
  })

  it('the push watermark never passes the database NOW(), and a later coreBOS edit is pushed', async () => {
    const push = await runCli(['push'], {env: skew()})
    expect(push.code, push.stderr).toBe(0)
    const [mark] = await env.testDb.query<{value: string}>("SELECT value FROM cbhs_watermark WHERE module = 'Contacts' AND direction = 'push'")
    const now = await databaseNowMs(env.testDb)
    const markMs = /T.*Z$/.test(mark.value) ? Date.parse(mark.value) : naiveToEpochMs(mark.value, env.config.timezone)
    expect(markMs).toBeLessThanOrEqual(now)

    await env.db.records.update('Contacts', ids[1], {phone: '+34 600 111 222'}, 1)
    const again = await runCli(['push'], {env: skew()})
    expect(again.code, again.stderr).toBe(0)
    expect(env.emu.control.get('contacts', await hubspotIdOf(ids[1]))!.properties.phone).toBe('+34 600 111 222')
  })

  it('a failure that waits for a change is retried when the record is saved right after it', async () => {
    // two contacts with one e-mail: the second fails, waiting for one of them to change
    const [twin] = await env.create('Contacts', [{lastname: 'Twin', email: 'ann@ahead.test'}])
    const first = await runCli(['push'], {env: skew()})
    expect(first.code, first.stderr).toBe(5)
    const [failure] = await env.testDb.query<{category: string}>('SELECT category FROM cbhs_failure WHERE crmid = ? AND open_flag = 1', [twin])
    expect(failure.category).toBe('DUPLICATE_EMAIL')
    // saved a few seconds later by the database clock (minutes before the failure by the host's)
    await new Promise((resolve) => setTimeout(resolve, 1100))
    await env.db.records.update('Contacts', twin, {email: 'twin@ahead.test'}, 1)
    const second = await runCli(['push'], {env: skew()})
    expect(second.code, second.stderr).toBe(0)
    expect(env.emu.control.all('contacts').map((c) => c.properties.email)).toContain('twin@ahead.test')
  })
})

describe('a host clock 10 minutes behind (the binary)', () => {
  let env: SyncEnv
  afterAll(async () => env?.close())

  it('pull stamps modifiedtime from the database clock', async () => {
    env = await createSyncEnv()
    const [crmid] = await env.create('Contacts', [{lastname: 'Behind', email: 'behind@clock.test'}])
    const behind = {...env.env, ...hostSkewEnv(-TEN_MIN_MS)}
    expect((await runCli(['push'], {env: behind})).code).toBe(0)
    const [link] = await env.testDb.query<{hubspotid: string}>('SELECT hubspotid FROM vtiger_contactdetails WHERE contactid = ?', [crmid])
    env.emu.control.update('contacts', link.hubspotid, {jobtitle: 'Pulled behind'})
    const pull = await runCli(['pull'], {env: behind})
    expect(pull.code, pull.stderr).toBe(0)
    const now = await databaseNowMs(env.testDb)
    const [row] = await env.testDb.query<{title: string; modifiedtime: string}>(
      'SELECT d.title, e.modifiedtime FROM vtiger_contactdetails d JOIN vtiger_crmentity e ON e.crmid = d.contactid WHERE d.contactid = ?',
      [crmid],
    )
    expect(row.title).toBe('Pulled behind')
    const ms = naiveToEpochMs(row.modifiedtime, env.config.timezone)
    expect(now - ms, `modifiedtime ${row.modifiedtime}`).toBeLessThan(60_000)
    expect(ms).toBeLessThanOrEqual(now + 1000)
  })
})

describe('a record dated in the future (the binary)', () => {
  let env: SyncEnv
  let ids: number[]
  beforeAll(async () => {
    env = await createSyncEnv()
    ids = await env.create('Contacts', [
      {lastname: 'Future', email: 'future@clock.test'},
      {lastname: 'Present', email: 'present@clock.test'},
    ])
    expect((await runCli(['push'], {env: env.env})).code).toBe(0)
  })
  afterAll(async () => env?.close())

  it('is sent, does not freeze push for its module, and status names it', async () => {
    const [future, present] = ids
    await env.testDb.query("UPDATE vtiger_contactdetails SET phone = '555 imported' WHERE contactid = ?", [future])
    await setModifiedtime(env.testDb, future, '2030-01-01 00:00:00')
    const first = await runCli(['push'], {env: env.env})
    expect(first.code, first.stderr).toBe(0)
    expect(first.stderr).toMatch(new RegExp(`Contacts: 1 record dated after the database clock \\(Contacts ${future} at 2030-01-01 00:00:00\\)`))
    const contactOf = async (crmid: number) => {
      const [row] = await env.testDb.query<{hubspotid: string}>('SELECT hubspotid FROM vtiger_contactdetails WHERE contactid = ?', [crmid])
      return env.emu.control.get('contacts', row.hubspotid)!
    }
    expect((await contactOf(future)).properties.phone).toBe('555 imported')

    await env.db.records.update('Contacts', present, {phone: '600 later'}, 1)
    const second = await runCli(['push'], {env: env.env})
    expect(second.code, second.stderr).toBe(0)
    expect((await contactOf(present)).properties.phone).toBe('600 later')

    const status = await runCli(['status', '--json'], {env: env.env})
    expect(status.json?.result, status.stderr).toBeDefined()
    const contacts = status.json.result.modules.find((m: {module: string}) => m.module === 'Contacts')
    expect(contacts.push.futureDated).toEqual({count: 1, sample: [{crmid: future, modifiedtime: '2030-01-01 00:00:00'}]})
    const human = await runCli(['status'], {env: env.env})
    expect(human.stdout).toMatch(new RegExp(`Contacts: 1 record dated after the database clock \\(Contacts ${future} at 2030-01-01 00:00:00\\)`))
    const accounts = status.json.result.modules.find((m: {module: string}) => m.module === 'Accounts')
    expect(accounts.push.futureDated).toEqual({count: 0, sample: []})
  })
})

describe('the hour repeated when clocks go back (the binary, Europe/Madrid)', () => {
  let env: SyncEnv
  afterAll(async () => env?.close())

  it('an edit saved at 02:10 CET, after a push at 02:57 CEST left the watermark at 02:50, is pushed', async () => {
    env = await createSyncEnv({env: {CBHS_TIMEZONE: 'Europe/Madrid'}})
    const [crmid] = await env.create('Contacts', [{lastname: 'Fall back', email: 'fallback@clock.test'}])
    expect((await runCli(['push'], {env: env.env})).code).toBe(0)
    // as the push of 2025-10-26 02:57 CEST left it (rows of older versions hold the naive datetime)
    await env.testDb.query("UPDATE cbhs_watermark SET value = '2025-10-26 02:50:00', cursor_value = NULL WHERE module = 'Contacts' AND direction = 'push'")
    // saved at 02:10 CET, the second time the clock showed 02:10
    await env.testDb.query("UPDATE vtiger_contactdetails SET phone = '+34 600 021 000' WHERE contactid = ?", [crmid])
    await setModifiedtime(env.testDb, crmid, '2025-10-26 02:10:00')
    const push = await runCli(['push'], {env: env.env})
    expect(push.code, push.stderr).toBe(0)
    const [row] = await env.testDb.query<{hubspotid: string}>('SELECT hubspotid FROM vtiger_contactdetails WHERE contactid = ?', [crmid])
    expect(env.emu.control.get('contacts', row.hubspotid)!.properties.phone).toBe('+34 600 021 000')
  })
})
