import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {CoreBosRecords} from '../../src/corebos/records.js'
import {forgetModuleMeta} from '../../src/corebos/metadata.js'
import {createTestDatabase, type TestDatabase} from '../support/db.js'
import {addControlColumns, denormalizeModule, listViewRow, potentialFields} from '../support/corebos-fixtures.js'
import type {CrmRecord} from '../../src/sync/types.js'

describe('CoreBosRecords on denormalized modules', () => {
  let db: TestDatabase
  let crm: CoreBosRecords
  let before: number
  beforeAll(async () => {
    db = await createTestDatabase()
    await addControlColumns(db)
    const legacy = new CoreBosRecords(db.pool as never, {timezone: 'UTC'})
    // one contact written before the switch: denormalize must carry it over
    ;[{crmid: before}] = await legacy.create('Contacts', [{fields: {lastname: 'Before', description: 'old'}}], 1)
    await denormalizeModule(db, 'Contacts')
    await denormalizeModule(db, 'Potentials')
    // metadata is cached per pool (per process in production): a schema change needs a refresh
    forgetModuleMeta(db.pool as never)
    crm = new CoreBosRecords(db.pool as never, {timezone: 'UTC'})
  })
  afterAll(async () => db?.drop())

  it('describes the base table as the entity table', async () => {
    const meta = await crm.meta('Contacts')
    expect(meta).toMatchObject({denormalized: true, entityTable: 'vtiger_contactdetails', baseTable: 'vtiger_contactdetails', baseKey: 'contactid'})
    expect(meta.fields.get('assigned_user_id')).toMatchObject({table: 'vtiger_contactdetails', column: 'smownerid'})
    expect(meta.tables.map((t) => t.name)).toEqual(['vtiger_contactdetails', 'vtiger_contactaddress', 'vtiger_contactsubdetails', 'vtiger_contactscf', 'vtiger_customerdetails'])
  })

  it('creates records into the base table, not vtiger_crmentity, with crmobject and every module table', async () => {
    const [c] = await crm.create('Contacts', [{fields: {lastname: 'Denorm', description: 'in base', assigned_user_id: '4'}}], 1)
    expect(c.ok, c.error).toBe(true)
    expect(await db.query('SELECT crmid FROM vtiger_crmentity WHERE crmid = ?', [c.crmid])).toEqual([])
    const row = await listViewRow(db, 'Contacts', c.crmid)
    expect(row).toMatchObject({crmid: c.crmid, contactid: c.crmid, setype: 'Contacts', smownerid: 4, smcreatorid: 1, modifiedby: 1, deleted: 0, description: 'in base', contact_no: 'CON12'})
    expect(String(row!.cbuuid)).toMatch(/^[0-9a-f]{40}$/)
    const [obj] = await db.query<Record<string, unknown>>('SELECT setype, deleted, smownerid, cbuuid FROM vtiger_crmobject WHERE crmid = ?', [c.crmid])
    expect(obj).toEqual({setype: 'Contacts', deleted: 0, smownerid: 4, cbuuid: row!.cbuuid})

    const [a] = await crm.create('Accounts', [{fields: {accountname: 'Normal'}}], 1)
    const [p] = await crm.create('Potentials', [{fields: {...potentialFields(a.crmid), description: 'deal text'}}], 1)
    expect(await listViewRow(db, 'Potentials', p.crmid)).toMatchObject({potential_no: 'POT11', setype: 'Potentials', related_to: a.crmid, description: 'deal text'})
  })

  it('reads denormalized records, old and new, in keyset order with deleted flags', async () => {
    const [c] = await crm.create('Contacts', [{fields: {lastname: 'Later'}}], 1)
    await db.query("UPDATE vtiger_contactdetails SET modifiedtime = '2030-01-01 00:00:00' WHERE contactid = ?", [c.crmid])
    await crm.trash('Contacts', before, 2)
    await db.query("UPDATE vtiger_contactdetails SET hubspotsyncwith = '1' WHERE contactid IN (?)", [[c.crmid, before]])
    const pages: CrmRecord[][] = []
    for await (const page of crm.readChanged('Contacts', {since: null, optIn: 'default-on', includeDeleted: true, pageSize: 2})) pages.push(page)
    const all = pages.flat()
    expect(all[all.length - 1]).toMatchObject({crmid: c.crmid, modifiedtime: '2030-01-01 00:00:00'})
    const old = all.find((r) => r.crmid === before)!
    expect(old).toMatchObject({deleted: true})
    expect(old.fields).toMatchObject({lastname: 'Before', description: 'old', modifiedby: '2'})
    const [obj] = await db.query<{deleted: number}>('SELECT deleted FROM vtiger_crmobject WHERE crmid = ?', [before])
    expect(obj.deleted).toBe(1)
  })

  it('updates bump modifiedtime in the base table and crmobject; setControl does not', async () => {
    const [c] = await crm.create('Contacts', [{fields: {lastname: 'Upd'}}], 1)
    await db.query("UPDATE vtiger_contactdetails SET modifiedtime = '2020-01-01 00:00:00' WHERE contactid = ?", [c.crmid])
    await crm.setControl('Contacts', c.crmid, {hubspotid: '77'})
    expect((await db.query<{m: string}>('SELECT modifiedtime AS m FROM vtiger_contactdetails WHERE contactid = ?', [c.crmid]))[0].m).toBe('2020-01-01 00:00:00')
    await crm.update('Contacts', c.crmid, {lastname: 'Updated', mailingcity: 'Bilbao', assigned_user_id: '6'}, 3)
    const row = await listViewRow(db, 'Contacts', c.crmid)
    expect(row).toMatchObject({lastname: 'Updated', mailingcity: 'Bilbao', smownerid: 6, modifiedby: 3, hubspotid: '77'})
    expect(String(row!.modifiedtime) > '2020-01-01 00:00:00').toBe(true)
    const [obj] = await db.query<{modifiedtime: string; smownerid: number}>('SELECT modifiedtime, smownerid FROM vtiger_crmobject WHERE crmid = ?', [c.crmid])
    expect(obj).toEqual({modifiedtime: row!.modifiedtime, smownerid: 6})
  })

  it('updateMany writes a batch into the base table and crmobject, a stale record in the middle left untouched', async () => {
    const ids = (await crm.create('Contacts', [1, 2, 3].map((i) => ({fields: {lastname: `Batch ${i}`}})), 1)).map((r) => r.crmid)
    await db.query("UPDATE vtiger_contactdetails SET modifiedtime = '2020-01-01 00:00:00' WHERE contactid IN (?)", [ids])
    await db.query("UPDATE vtiger_contactdetails SET modifiedtime = '2020-01-01 00:00:09' WHERE contactid = ?", [ids[1]])
    const results = await crm.updateMany(
      'Contacts',
      ids.map((crmid, i) => ({crmid, fields: {lastname: `Batched ${i}`, mailingcity: `City ${i}`, ...(i === 2 ? {assigned_user_id: '6'} : {})}, expected: {modifiedtime: '2020-01-01 00:00:00'}})),
      3,
    )
    expect(results.map((r) => [r.ok, r.stale ?? false])).toEqual([[true, false], [false, true], [true, false]])
    const rows = await Promise.all(ids.map((id) => listViewRow(db, 'Contacts', id)))
    expect(rows.map((r) => [r!.lastname, r!.mailingcity, r!.smownerid])).toEqual([
      ['Batched 0', 'City 0', 1],
      ['Batch 2', rows[1]!.mailingcity, 1],
      ['Batched 2', 'City 2', 6],
    ])
    expect(String(rows[1]!.modifiedtime)).toBe('2020-01-01 00:00:09')
    for (const [k, id] of [ids[0], ids[2]].entries()) {
      const row = rows[k * 2]!
      expect(row.modifiedby).toBe(3)
      const [obj] = await db.query<{modifiedtime: string; smownerid: number}>('SELECT modifiedtime, smownerid FROM vtiger_crmobject WHERE crmid = ?', [id])
      expect(obj).toEqual({modifiedtime: row.modifiedtime, smownerid: row.smownerid})
    }
  })
})
