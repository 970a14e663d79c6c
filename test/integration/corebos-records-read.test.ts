import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {CoreBosRecords} from '../../src/corebos/records.js'
import {forgetModuleMeta} from '../../src/corebos/metadata.js'
import {pastModifiedTime, type ReadChangedOptions} from '../../src/sync/ports.js'
import type {CrmModule, CrmRecord} from '../../src/sync/types.js'
import {ConfigError} from '../../src/errors.js'
import {createTestDatabase, type TestDatabase} from '../support/db.js'
import {addControlColumns} from '../support/corebos-fixtures.js'

async function collect(crm: CoreBosRecords, module: CrmModule, options: Partial<ReadChangedOptions>): Promise<CrmRecord[][]> {
  const pages: CrmRecord[][] = []
  for await (const page of crm.readChanged(module, {since: null, optIn: 'default-on', includeDeleted: false, pageSize: 3, ...options})) pages.push(page)
  return pages
}

describe('CoreBosRecords reads', () => {
  let db: TestDatabase
  let crm: CoreBosRecords
  const ids: number[] = []
  beforeAll(async () => {
    db = await createTestDatabase()
    crm = new CoreBosRecords(db.pool as never, {timezone: 'Europe/Madrid'})
  })
  afterAll(async () => db?.drop())

  it('refuses to read changes before the control fields exist', async () => {
    const err = await collect(crm, 'Contacts', {}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ConfigError)
    expect((err as ConfigError).message).toMatch(/hubspotsyncwith/)
    expect((err as ConfigError).suggestion).toMatch(/cbhs setup/)
  })

  it('sets up ten contacts with chosen modifiedtimes (five share one second)', async () => {
    await addControlColumns(db, ['Contacts', 'Leads'])
    forgetModuleMeta(db.pool as never)
    const results = await crm.create(
      'Contacts',
      Array.from({length: 10}, (_, i) => ({fields: {lastname: `C${i}`, email: `c${i}@example.com`, birthday: '1990-01-0' + ((i % 9) + 1)}})),
      1,
    )
    ids.push(...results.map((r) => r.crmid))
    // modifiedtime deliberately not in crmid order; ids[2..6] tie on one second
    const times = ['2024-01-03 00:00:00', '2024-01-01 00:00:00', '2024-01-02 12:00:00', '2024-01-02 12:00:00', '2024-01-02 12:00:00',
      '2024-01-02 12:00:00', '2024-01-02 12:00:00', '2024-01-04 00:00:00', '2024-01-05 00:00:00', '2024-01-06 00:00:00']
    for (let i = 0; i < 10; i++) await db.query('UPDATE vtiger_crmentity SET modifiedtime = ? WHERE crmid = ?', [times[i], ids[i]])
    // records from before `cbhs setup` (or the legacy integration): the opt-in box was never written
    await db.query('UPDATE vtiger_contactdetails SET hubspotsyncwith = NULL WHERE contactid IN (?)', [ids])
  })

  it('streams pages in (modifiedtime, crmid) order, ties split across page boundaries exactly once', async () => {
    const pages = await collect(crm, 'Contacts', {pageSize: 3})
    expect(pages.map((p) => p.length)).toEqual([3, 3, 3, 1])
    const order = pages.flat().map((r) => r.crmid)
    expect(order).toEqual([ids[1], ids[2], ids[3], ids[4], ids[5], ids[6], ids[0], ids[7], ids[8], ids[9]])
    const first = pages[0][0]
    expect(first).toMatchObject({module: 'Contacts', crmid: ids[1], modifiedtime: '2024-01-01 00:00:00', deleted: false})
    expect(first.fields).toMatchObject({lastname: 'C1', email: 'c1@example.com', birthday: '1990-01-02', account_id: '0', assigned_user_id: '1', modifiedtime: '2024-01-01 00:00:00', hubspotsyncwith: null, emailoptout: '0'})
    expect(typeof first.fields.createdtime).toBe('string')
    expect(first.converted).toBeUndefined()
  })

  it('resumes at a cursor inside a run of equal modifiedtimes, inclusive of the cursor id', async () => {
    const pages = await collect(crm, 'Contacts', {since: {modifiedtime: '2024-01-02 12:00:00', crmid: ids[4]}, pageSize: 100})
    expect(pages.flat().map((r) => r.crmid)).toEqual([ids[4], ids[5], ids[6], ids[0], ids[7], ids[8], ids[9]])
  })

  it('returns the same sequence with a tiny scan window (many keyset scans)', async () => {
    const small = new CoreBosRecords(db.pool as never, {timezone: 'Europe/Madrid', readWindow: 2})
    const pages = await collect(small, 'Contacts', {pageSize: 3})
    expect(pages.flat().map((r) => r.crmid)).toEqual([ids[1], ids[2], ids[3], ids[4], ids[5], ids[6], ids[0], ids[7], ids[8], ids[9]])
  })

  it('applies the opt-in modes', async () => {
    await db.query("UPDATE vtiger_contactdetails SET hubspotsyncwith = '1' WHERE contactid IN (?)", [[ids[0], ids[1]]])
    await db.query("UPDATE vtiger_contactdetails SET hubspotsyncwith = '0' WHERE contactid = ?", [ids[2]])
    await db.query("UPDATE vtiger_contactdetails SET hubspotsyncwith = '' WHERE contactid = ?", [ids[3]])
    const explicit = (await collect(crm, 'Contacts', {optIn: 'explicit'})).flat().map((r) => r.crmid)
    expect(explicit).toEqual([ids[1], ids[0]])
    const defaultOn = (await collect(crm, 'Contacts', {optIn: 'default-on'})).flat().map((r) => r.crmid)
    expect(defaultOn).not.toContain(ids[2])
    expect(defaultOn).toContain(ids[3])
    expect(defaultOn).toHaveLength(9)
  })

  it('reports trashed records only with includeDeleted', async () => {
    await crm.trash('Contacts', ids[9], 1)
    await db.query("UPDATE vtiger_crmentity SET modifiedtime = '2024-01-07 00:00:00' WHERE crmid = ?", [ids[9]])
    const live = (await collect(crm, 'Contacts', {})).flat()
    expect(live.map((r) => r.crmid)).not.toContain(ids[9])
    const all = (await collect(crm, 'Contacts', {includeDeleted: true})).flat()
    expect(all[all.length - 1]).toMatchObject({crmid: ids[9], deleted: true, modifiedtime: '2024-01-07 00:00:00'})
  })

  it('treats converted Leads as deleted and says so', async () => {
    const [a, b] = await crm.create('Leads', [{fields: {lastname: 'L1', company: 'X'}, control: {hubspotsyncwith: '1'}}, {fields: {lastname: 'L2', company: 'Y'}, control: {hubspotsyncwith: '1'}}], 1)
    await db.query('UPDATE vtiger_leaddetails SET converted = 1 WHERE leadid = ?', [b.crmid])
    const live = (await collect(crm, 'Leads', {})).flat()
    expect(live.map((r) => [r.crmid, r.converted, r.deleted])).toEqual([[a.crmid, false, false]])
    const all = (await collect(crm, 'Leads', {includeDeleted: true})).flat()
    expect(all.find((r) => r.crmid === b.crmid)).toMatchObject({converted: true, deleted: true})
    expect(all.find((r) => r.crmid === b.crmid)!.fields).toMatchObject({lastname: 'L2', company: 'Y', phone: ''})
  })

  it('countChanged counts exactly what readChanged reads, for every opt-in, deletion and position', async () => {
    const positions = [null, {modifiedtime: '2024-01-02 12:00:00', crmid: ids[4]}, {modifiedtime: '2024-01-02 12:00:00', crmid: 0}, {modifiedtime: '2024-01-05 00:00:00', crmid: ids[8] + 1}, {modifiedtime: '2030-01-01 00:00:00', crmid: 0}]
    let compared = 0
    for (const module of ['Contacts', 'Leads'] as CrmModule[]) {
      for (const optIn of ['explicit', 'default-on', 'any'] as const) {
        for (const includeDeleted of [false, true]) {
          for (const since of positions) {
            const read = (await collect(crm, module, {since, optIn, includeDeleted})).flat().length
            const counted = await crm.countChanged(module, {since, optIn, includeDeleted})
            expect(counted, `${module} ${optIn} ${includeDeleted ? 'with' : 'without'} deleted from ${JSON.stringify(since)}`).toBe(read)
            if (read > 0) compared++
          }
        }
      }
    }
    expect(compared).toBeGreaterThan(20)
    // past every record of one second: what a watermark at that second has not covered
    expect(await crm.countChanged('Contacts', {since: pastModifiedTime('2024-01-02 12:00:00'), optIn: 'any', includeDeleted: true})).toBe(4)
  })

  it('countNotOptedIn is the live records readChanged leaves out by the opt-in, in one count', async () => {
    let nonZero = 0
    for (const module of ['Contacts', 'Leads'] as CrmModule[]) {
      const live = (await collect(crm, module, {since: null, optIn: 'any', includeDeleted: false})).flat().length
      for (const optIn of ['explicit', 'default-on', 'any'] as const) {
        const optedIn = (await collect(crm, module, {since: null, optIn, includeDeleted: false})).flat().length
        expect(await crm.countNotOptedIn(module, optIn), `${module} ${optIn}`).toBe(live - optedIn)
        if (live - optedIn > 0) nonZero++
      }
    }
    expect(nonZero).toBeGreaterThan(1)
  })

  it('readByIds returns deleted records too, omits purged and other-module ids', async () => {
    const [lead] = await crm.create('Leads', [{fields: {lastname: 'Other', company: 'Z'}}], 1)
    await db.query('DELETE FROM vtiger_crmentity WHERE crmid = ?', [ids[8]])
    const found = await crm.readByIds('Contacts', [ids[0], ids[9], ids[8], lead.crmid, 123456])
    expect(found.map((r) => [r.crmid, r.deleted])).toEqual([[ids[0], false], [ids[9], true]])
  })

  it('findByHubSpotIds finds live records by their hubspotid', async () => {
    await crm.setControl('Contacts', ids[0], {hubspotid: '501'})
    await crm.setControl('Contacts', ids[9], {hubspotid: '502'}) // trashed
    const found = await crm.findByHubSpotIds('Contacts', ['501', '502', '503'])
    expect([...found.keys()]).toEqual(['501'])
    expect(found.get('501')!.crmid).toBe(ids[0])
  })

  it('now() is the install clock as a naive datetime in its own timezone', async () => {
    const madrid = await crm.now()
    const utc = await new CoreBosRecords(db.pool as never, {timezone: 'UTC'}).now()
    expect(madrid).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/)
    const diffHours = (Date.parse(madrid.replace(' ', 'T') + 'Z') - Date.parse(utc.replace(' ', 'T') + 'Z')) / 3_600_000
    expect([1, 2]).toContain(Math.round(diffHours))
    expect(() => new CoreBosRecords(db.pool as never, {timezone: 'Mars/Olympus'})).toThrow(ConfigError)
  })

  it('writes createdtime and modifiedtime in the install timezone, not the session one', async () => {
    const before = await crm.now()
    const [c] = await crm.create('Contacts', [{fields: {lastname: 'Tz'}}], 1)
    const after = await crm.now()
    const [row] = await db.query<{createdtime: string; modifiedtime: string}>('SELECT createdtime, modifiedtime FROM vtiger_crmentity WHERE crmid = ?', [c.crmid])
    expect(row.createdtime >= before && row.createdtime <= after).toBe(true)
    expect(row.modifiedtime).toBe(row.createdtime)
    const [rec] = await crm.readByIds('Contacts', [c.crmid])
    expect(rec.modifiedtime).toBe(row.modifiedtime)
  })
})
