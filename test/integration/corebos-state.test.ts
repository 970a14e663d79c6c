import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {registerSecret} from '../../src/errors.js'
import {createPool, type Pool} from '../../src/corebos/connection.js'
import {setupCoreBos} from '../../src/corebos/setup.js'
import {CoreBosStateStore, LinkConflictError, retryDelayMs} from '../../src/corebos/state.js'
import type {Link} from '../../src/sync/ports.js'
import type {CrmModule} from '../../src/sync/types.js'
import {createTestDatabase, type TestDatabase} from '../support/db.js'

const MIN = 60_000

function link(module: CrmModule, crmid: number, hubspotId: string, extra: Partial<Link> = {}): Link {
  return {
    module,
    crmid,
    objectType: module === 'Accounts' ? 'companies' : module === 'Potentials' ? 'deals' : 'contacts',
    hubspotId,
    snapshot: {crm: {lastname: `Name ${crmid}`}, hs: {lastname: `Name ${crmid}`}},
    associations: {},
    archived: false,
    syncedAt: '2025-03-01T10:00:00.000Z',
    ...extra,
  }
}

/** A record the plain way: entity row + base table row (the record writer is not this module's). */
async function insertRecord(db: TestDatabase, module: CrmModule, crmid: number, options: {deleted?: boolean; converted?: boolean} = {}) {
  await db.query(
    `INSERT INTO vtiger_crmentity (crmid, smcreatorid, smownerid, modifiedby, setype, createdtime, modifiedtime, deleted)
     VALUES (?, 1, 1, 1, ?, '2025-01-01 00:00:00', '2025-01-01 00:00:00', ?)`,
    [crmid, module, options.deleted ? 1 : 0],
  )
  if (module === 'Contacts') await db.query("INSERT INTO vtiger_contactdetails (contactid, contact_no, lastname) VALUES (?, ?, 'x')", [crmid, `CON${crmid}`])
  if (module === 'Accounts') await db.query("INSERT INTO vtiger_account (accountid, account_no, accountname) VALUES (?, ?, 'x')", [crmid, `ACC${crmid}`])
  if (module === 'Leads') {
    await db.query("INSERT INTO vtiger_leaddetails (leadid, lead_no, lastname, company, converted) VALUES (?, ?, 'x', 'y', ?)", [
      crmid,
      `LEA${crmid}`,
      options.converted ? 1 : 0,
    ])
  }
  if (module === 'Potentials') await db.query("INSERT INTO vtiger_potential (potentialid, potential_no, potentialname) VALUES (?, ?, 'x')", [crmid, `POT${crmid}`])
}

describe('CoreBosStateStore', () => {
  let db: TestDatabase
  let clock = Date.parse('2025-03-01T12:00:00.000Z')
  let store: CoreBosStateStore
  let pool: Pool

  beforeAll(async () => {
    db = await createTestDatabase()
    await setupCoreBos(db.pool, {dryRun: false, database: db.settings.database})
    // the pool as cbhs makes it (big numbers as strings, utf8mb4 on the wire)
    pool = createPool({...db.settings, timezone: 'UTC'})
    store = new CoreBosStateStore(pool, {now: () => clock, maxAttempts: 4})
  })
  afterAll(async () => {
    await pool?.end()
    await db?.drop()
  })

  describe('watermarks', () => {
    it('starts empty, then round-trips value and cursor with a UTC update time', async () => {
      expect(await store.getWatermark('Contacts', 'push')).toEqual({module: 'Contacts', direction: 'push', value: null, cursor: null, updatedAt: null})
      await store.setWatermark('Contacts', 'push', '2025-02-28 23:59:59', JSON.stringify({modifiedtime: '2025-02-28 23:59:59', crmid: 42}))
      await store.setWatermark('Contacts', 'pull', '2025-02-28T23:59:59.123Z', null)
      expect(await store.getWatermark('Contacts', 'push')).toEqual({
        module: 'Contacts',
        direction: 'push',
        value: '2025-02-28 23:59:59',
        cursor: '{"modifiedtime":"2025-02-28 23:59:59","crmid":42}',
        updatedAt: '2025-03-01T12:00:00.000Z',
      })
      await store.setWatermark('Contacts', 'push', '2025-03-01 00:00:00', null)
      expect((await store.getWatermark('Contacts', 'push')).cursor).toBeNull()
      expect((await store.getWatermark('Contacts', 'pull')).value).toBe('2025-02-28T23:59:59.123Z')
    })

    it('keeps the last outcome per module and direction beside the watermark', async () => {
      await store.recordOutcome('Contacts', 'push', {runId: 7, outcome: 'ok'})
      clock += MIN
      await store.recordOutcome('Contacts', 'push', {runId: 8, outcome: 'partial', message: '2 records failed'})
      await store.recordOutcome('Leads', 'pull', {outcome: 'failed', message: 'HubSpot unreachable'})
      const rows = await store.listWatermarks()
      const push = rows.find((r) => r.module === 'Contacts' && r.direction === 'push')!
      expect(push).toMatchObject({
        value: '2025-03-01 00:00:00',
        lastRunId: 8,
        lastOutcome: 'partial',
        lastOutcomeAt: '2025-03-01T12:01:00.000Z',
        lastSuccessAt: '2025-03-01T12:00:00.000Z',
        lastMessage: '2 records failed',
      })
      const leads = rows.find((r) => r.module === 'Leads')!
      expect(leads).toMatchObject({value: null, lastOutcome: 'failed', lastSuccessAt: null})
    })
  })

  describe('links', () => {
    it('saves and reads 2,500 links in chunks, keeping snapshots with any character', async () => {
      const links: Link[] = []
      for (let i = 0; i < 2500; i++) links.push(link('Contacts', 100_000 + i, String(5_000_000 + i)))
      links[0].snapshot = {crm: {lastname: 'Zoë 😀 Ünïcode', email: null}, hs: {lastname: 'Zoë 😀 Ünïcode', email: null}}
      links[0].associations = {companies: ['77', '78']}
      await store.saveLinks(links)
      expect(await store.countLinks('Contacts')).toBe(2500)

      const byCrmid = await store.getLinksByCrmids('Contacts', links.map((l) => l.crmid).concat([1, 2, 3]))
      expect(byCrmid.size).toBe(2500)
      expect(byCrmid.get(100_000)).toEqual(links[0])
      expect(byCrmid.get(102_499)).toEqual(links[2499])

      const byHs = await store.getLinksByHubSpotIds('contacts', links.map((l) => l.hubspotId).concat(['nope']))
      expect(byHs.size).toBe(2500)
      expect(byHs.get('5000000')?.crmid).toBe(100_000)
      expect((await store.getLinksByHubSpotIds('companies', ['5000000'])).size).toBe(0)
      expect((await store.getLinksByCrmids('Leads', [100_000])).size).toBe(0)
    })

    it('updates existing links in place (upsert) and keeps the last of duplicates in a batch', async () => {
      const updated = link('Contacts', 100_001, '5000001', {
        snapshot: {crm: {lastname: 'Changed'}, hs: {lastname: 'Changed'}},
        archived: true,
        syncedAt: '2025-03-02T08:00:00.000Z',
      })
      await store.saveLinks([link('Contacts', 100_001, '5000001'), updated])
      const got = (await store.getLinksByCrmids('Contacts', [100_001])).get(100_001)
      expect(got).toEqual(updated)
      expect(await store.countLinks('Contacts')).toBe(2500)
      expect(await store.linkCounts()).toEqual([{module: 'Contacts', total: 2500, archived: 1}])
    })

    it('refuses to link one HubSpot contact to a Lead and a Contact, writing nothing of the batch', async () => {
      const error = await store
        .saveLinks([link('Leads', 200_000, '5000002'), link('Leads', 200_001, '6000001')])
        .catch((e: unknown) => e)
      expect(error).toBeInstanceOf(LinkConflictError)
      expect((error as LinkConflictError).conflicts).toEqual([
        {objectType: 'contacts', hubspotId: '5000002', existing: {module: 'Contacts', crmid: 100_002}, incoming: {module: 'Leads', crmid: 200_000}},
      ])
      expect(await store.countLinks('Leads')).toBe(0)
      // within one batch too
      await expect(store.saveLinks([link('Leads', 200_000, '6000009'), link('Leads', 200_001, '6000009')])).rejects.toBeInstanceOf(LinkConflictError)
    })

    it('re-points links in one batch, even when two records swap HubSpot ids', async () => {
      await store.saveLinks([link('Contacts', 100_003, '5000004'), link('Contacts', 100_004, '5000003')])
      const got = await store.getLinksByCrmids('Contacts', [100_003, 100_004])
      expect(got.get(100_003)?.hubspotId).toBe('5000004')
      expect(got.get(100_004)?.hubspotId).toBe('5000003')
      // a merge: 100_005 moves to the survivor freed by 100_006, which moves elsewhere
      await store.saveLinks([link('Contacts', 100_005, '5000006'), link('Contacts', 100_006, '9000006')])
      expect((await store.getLinksByHubSpotIds('contacts', ['5000006'])).get('5000006')?.crmid).toBe(100_005)
    })

    it('deletes a link', async () => {
      await store.deleteLink('Contacts', 102_499)
      expect((await store.getLinksByCrmids('Contacts', [102_499])).size).toBe(0)
      expect(await store.countLinks('Contacts')).toBe(2499)
    })
  })

  describe('linksWithGoneRecords', () => {
    beforeAll(async () => {
      // as on installs after the 2022 changeset: purging leaves the module row as an orphan
      await db.query('ALTER TABLE vtiger_account DROP FOREIGN KEY fk_1_vtiger_account')
      await insertRecord(db, 'Accounts', 300_001)
      await insertRecord(db, 'Accounts', 300_002, {deleted: true})
      await insertRecord(db, 'Accounts', 300_003, {deleted: true})
      await insertRecord(db, 'Accounts', 300_004)
      await db.query('DELETE FROM vtiger_crmentity WHERE crmid = 300004') // recycle bin emptied
      await insertRecord(db, 'Leads', 300_011)
      await insertRecord(db, 'Leads', 300_012, {converted: true})
      await insertRecord(db, 'Leads', 300_013, {deleted: true})
      await store.saveLinks([
        link('Accounts', 300_001, '1'),
        link('Accounts', 300_002, '2'),
        link('Accounts', 300_003, '3', {archived: true}),
        link('Accounts', 300_004, '4'),
        link('Accounts', 300_005, '5'), // never had an entity row at all
        link('Leads', 300_011, '11'),
        link('Leads', 300_012, '12'),
        link('Leads', 300_013, '13'),
      ])
    })

    it('finds trashed and purged records, not live or already archived ones', async () => {
      const gone = await store.linksWithGoneRecords('Accounts', 100)
      expect(gone.map((l) => l.crmid)).toEqual([300_002, 300_004, 300_005])
      expect(gone[0]).toMatchObject({objectType: 'companies', hubspotId: '2', archived: false})
      expect((await store.linksWithGoneRecords('Accounts', 2)).map((l) => l.crmid)).toEqual([300_002, 300_004])
    })

    it('counts converted Leads as gone', async () => {
      const gone = await store.linksWithGoneRecords('Leads', 100)
      expect(gone.map((l) => l.crmid)).toEqual([300_012, 300_013])
    })

    it('reads the denormalized table when the module is denormalized', async () => {
      // what coreBOS's denormalize script does to Potentials: crmentity columns on the base table,
      // rows gone from vtiger_crmentity, vtiger_entityname pointing at the base table (after the
      // 2022 changeset that dropped the foreign keys to vtiger_crmentity)
      await db.query('ALTER TABLE vtiger_potential DROP FOREIGN KEY fk_1_vtiger_potential')
      await db.query(
        `ALTER TABLE vtiger_potential ADD COLUMN crmid int NOT NULL DEFAULT 0, ADD COLUMN smownerid int NOT NULL DEFAULT 0,
           ADD COLUMN modifiedtime datetime NULL, ADD COLUMN setype varchar(100) NULL, ADD COLUMN deleted int(1) NOT NULL DEFAULT 0`,
      )
      await db.query("UPDATE vtiger_entityname SET isdenormalized = '1', denormtable = 'vtiger_potential' WHERE modulename = 'Potentials'")
      await db.query(
        `INSERT INTO vtiger_potential (potentialid, potential_no, potentialname, crmid, setype, modifiedtime, deleted) VALUES
           (400001, 'POT1', 'live', 400001, 'Potentials', '2025-01-01 00:00:00', 0),
           (400002, 'POT2', 'cascaded delete', 400002, 'Potentials', '2025-01-01 00:00:00', 1)`,
      )
      // a live crmentity row with the same id would fool a reader that ignores denormtable
      await db.query(
        "INSERT INTO vtiger_crmentity (crmid, setype, createdtime, modifiedtime, deleted) VALUES (400002, 'Potentials', '2025-01-01', '2025-01-01', 0)",
      )
      await store.saveLinks([link('Potentials', 400_001, '41'), link('Potentials', 400_002, '42'), link('Potentials', 400_003, '43')])
      const fresh = new CoreBosStateStore(pool)
      const gone = await fresh.linksWithGoneRecords('Potentials', 100)
      expect(gone.map((l) => l.crmid)).toEqual([400_002, 400_003])
    })
  })

  describe('failures ledger', () => {
    it('goes recorded → due → retried (attempts 2, backoff doubled) → resolved', async () => {
      const t0 = clock
      await store.recordFailure({module: 'Contacts', direction: 'push', crmid: 555, category: 'INVALID_EMAIL', message: 'Email address x@ is invalid'})
      let [entry] = await store.listFailures({})
      expect(entry).toMatchObject({
        module: 'Contacts',
        direction: 'push',
        crmid: 555,
        hubspotId: null,
        category: 'INVALID_EMAIL',
        attempts: 1,
        firstFailedAt: new Date(t0).toISOString(),
        lastFailedAt: new Date(t0).toISOString(),
        nextRetryAt: new Date(t0 + 6 * MIN).toISOString(),
        givenUp: false,
        resolvedAt: null,
      })
      expect(await store.dueFailures('Contacts', 'push', 10)).toEqual([])
      clock = t0 + 6 * MIN
      expect((await store.dueFailures('Contacts', 'push', 10)).map((f) => f.id)).toEqual([entry.id])
      expect(await store.dueFailures('Contacts', 'pull', 10)).toEqual([])

      // the retry fails again, now also knowing the HubSpot id
      await store.recordFailure({module: 'Contacts', direction: 'push', crmid: 555, hubspotId: '901', message: 'still invalid'})
      ;[entry] = await store.listFailures({})
      expect(entry).toMatchObject({attempts: 2, hubspotId: '901', category: 'INVALID_EMAIL', message: 'still invalid'})
      expect(entry.nextRetryAt).toBe(new Date(clock + 12 * MIN).toISOString())
      expect(await store.dueFailures('Contacts', 'push', 10)).toEqual([])
      expect(await store.countFailures()).toEqual({open: 1, due: 0, givenUp: 0})

      await store.resolveFailure('Contacts', 'push', {crmid: 555})
      expect(await store.listFailures({})).toEqual([])
      const [resolved] = await store.listFailures({includeResolved: true})
      expect(resolved).toMatchObject({id: entry.id, resolvedAt: new Date(clock).toISOString(), nextRetryAt: null})
      expect(await store.countFailures()).toEqual({open: 0, due: 0, givenUp: 0})

      // failing again later opens a new entry
      await store.recordFailure({module: 'Contacts', direction: 'push', crmid: 555, message: 'again'})
      const open = await store.listFailures({})
      expect(open).toHaveLength(1)
      expect(open[0].id).not.toBe(entry.id)
      expect(open[0].attempts).toBe(1)
      await store.resolveFailure('Contacts', 'push', {hubspotId: '901'}) // the new entry has no HubSpot id yet
      expect(await store.listFailures({})).toHaveLength(1)
      await store.resolveFailure('Contacts', 'push', {crmid: 555})
    })

    it('a pull failure opened by HubSpot id is the same entry once the crmid is known', async () => {
      await store.recordFailure({module: 'Accounts', direction: 'pull', hubspotId: '777', message: 'create failed'})
      await store.recordFailure({module: 'Accounts', direction: 'pull', crmid: 12, hubspotId: '777', message: 'update failed'})
      const open = await store.listFailures({module: 'Accounts'})
      expect(open).toHaveLength(1)
      expect(open[0]).toMatchObject({crmid: 12, hubspotId: '777', attempts: 2})
      await store.resolveFailure('Accounts', 'pull', {hubspotId: '777'})
      expect(await store.listFailures({module: 'Accounts'})).toEqual([])
    })

    it('gives up after the configured attempts, still listed, and can be retried now or dismissed', async () => {
      for (let i = 0; i < 4; i++) {
        await store.recordFailure({module: 'Leads', direction: 'push', crmid: 900, message: `try ${i}`})
        clock += 25 * 60 * MIN
      }
      const [entry] = await store.listFailures({module: 'Leads'})
      expect(entry).toMatchObject({attempts: 4, givenUp: true, nextRetryAt: null, resolvedAt: null})
      expect(await store.dueFailures('Leads', 'push', 10)).toEqual([])
      expect(await store.countFailures()).toEqual({open: 1, due: 0, givenUp: 1})
      expect(await store.failureSummary()).toEqual([
        {module: 'Leads', direction: 'push', open: 1, due: 0, givenUp: 1, oldestFirstFailedAt: entry.firstFailedAt},
      ])

      expect(await store.retryNow([entry.id])).toBe(1)
      expect((await store.dueFailures('Leads', 'push', 10)).map((f) => f.id)).toEqual([entry.id])
      expect(await store.countFailures()).toEqual({open: 1, due: 1, givenUp: 0})
      expect(await store.dismiss([entry.id])).toBe(1)
      expect(await store.listFailures({})).toEqual([])
      expect(await store.retryNow('all')).toBe(0)
    })

    it('backs off 6 min × 2^(attempts-1), capped at 24 h', () => {
      expect([1, 2, 3, 4, 5, 8, 9, 10, 30].map((a) => retryDelayMs(a) / MIN)).toEqual([6, 12, 24, 48, 96, 768, 1440, 1440, 1440])
    })

    it('scrubs secrets from stored messages', async () => {
      registerSecret('pat-na1-secret-token-value')
      await store.recordFailure({module: 'Potentials', direction: 'push', crmid: 1, message: 'auth failed for pat-na1-secret-token-value'})
      const [entry] = await store.listFailures({module: 'Potentials'})
      expect(entry.message).toBe('auth failed for ***')
      const runId = await store.startRun('push', false)
      await store.finishRun(runId, {exitCode: 4, counts: {}, apiCalls: 1, message: 'token pat-na1-secret-token-value refused'})
      expect((await store.getRun(runId))?.message).toBe('token *** refused')
      await store.dismiss([entry.id])
    })
  })

  describe('runs', () => {
    it('records, lists and finds the last successful run', async () => {
      const a = await store.startRun('push', false, {lockConnectionId: 11})
      clock += MIN
      await store.finishRun(a, {exitCode: 0, counts: {created: 3, updated: 1}, apiCalls: 7})
      const b = await store.startRun('push', true)
      await store.finishRun(b, {exitCode: 0, counts: {}, apiCalls: 0})
      const c = await store.startRun('push', false)
      await store.finishRun(c, {exitCode: 5, counts: {failed: 1}, apiCalls: 2, message: '1 record failed'})
      const runs = await store.listRuns(3)
      expect(runs.map((r) => r.id)).toEqual([c, b, a])
      expect(runs[2]).toMatchObject({
        command: 'push',
        exitCode: 0,
        dryRun: false,
        counts: {created: 3, updated: 1},
        apiCalls: 7,
        message: null,
        pid: process.pid,
        lockConnectionId: 11,
      })
      expect(runs[2].finishedAt).toBe(new Date(clock).toISOString())
      expect((await store.lastSuccessfulRun('push'))?.id).toBe(a)
      expect(await store.lastSuccessfulRun('pull')).toBeNull()
    })

    it('closes runs abandoned by a dead pass, not the current one', async () => {
      const dead = await store.startRun('pull', false, {lockConnectionId: 1234})
      const mine = await store.startRun('pull', false, {lockConnectionId: 99})
      expect(await store.openRunForConnection(99)).toMatchObject({id: mine})
      expect(await store.closeAbandonedRuns(99)).toBe(1)
      expect((await store.getRun(dead))?.finishedAt).not.toBeNull()
      expect((await store.getRun(mine))?.finishedAt).toBeNull()
    })
  })
})

describe('CoreBosStateStore before setup', () => {
  let db: TestDatabase
  beforeAll(async () => {
    db = await createTestDatabase()
  })
  afterAll(async () => db?.drop())

  it('says to run setup (exit 3) instead of a raw SQL error', async () => {
    const store = new CoreBosStateStore(db.pool)
    await expect(store.getWatermark('Contacts', 'push')).rejects.toMatchObject({code: 'NOT_SET_UP', exitCode: 3})
  })

  it('names the table that is missing, as after an upgrade that added one (the carrier queue of schema 2)', async () => {
    const store = new CoreBosStateStore(db.pool)
    await expect(store.countQueuedCarrierWrites('contacts')).rejects.toMatchObject({
      code: 'NOT_SET_UP',
      exitCode: 3,
      suggestion: 'Run `cbhs setup` (add --dry-run first to see what it changes): cbhs_carrier_queue is missing, so setup never ran here or an older cbhs ran it.',
    })
  })
})
