import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {CoreBosRecords} from '../../src/corebos/records.js'
import {addControlColumns} from '../support/corebos-fixtures.js'
import {createTestDatabase, type TestDatabase} from '../support/db.js'

describe('CoreBosRecords.updateMany', () => {
  let db: TestDatabase
  let records: CoreBosRecords
  beforeAll(async () => {
    db = await createTestDatabase()
    await addControlColumns(db)
    records = new CoreBosRecords(db.pool, {timezone: 'UTC'})
  })
  afterAll(async () => db?.drop())

  it('writes a batch of updates, and a record that cannot be written fails alone naming its field', async () => {
    const created = await records.create('Contacts', [1, 2, 3].map((i) => ({fields: {lastname: `Many ${i}`, email: `m${i}@many.test`}})), 1)
    const [a, b, c] = created.map((r) => r.crmid)
    await db.query("UPDATE vtiger_crmentity SET modifiedtime = '2020-01-01 00:00:00' WHERE crmid IN (?)", [[a, b, c]])
    const results = await records.updateMany(
      'Contacts',
      [
        {crmid: a, fields: {phone: '111'}},
        {crmid: b, fields: {lastname: ''}},
        {crmid: c, fields: {phone: '333', title: 'Boss'}},
        {crmid: 99_999_999, fields: {phone: '0'}},
      ],
      1,
    )
    expect(results.map((r) => r.ok)).toEqual([true, false, true, false])
    expect(results[1].error).toMatch(new RegExp(`Contacts ${b}: field 'lastname' is mandatory`))
    expect(results[3].error).toMatch(/99999999 does not exist/)
    const rows = await db.query<{contactid: number; phone: string | null; title: string | null; lastname: string; modifiedtime: string}>(
      'SELECT d.contactid, d.phone, d.title, d.lastname, e.modifiedtime FROM vtiger_contactdetails d JOIN vtiger_crmentity e ON e.crmid = d.contactid WHERE d.contactid IN (?) ORDER BY d.contactid',
      [[a, b, c]],
    )
    expect(rows.map((r) => [r.phone, r.title, r.lastname])).toEqual([
      ['111', '', 'Many 1'],
      ['', '', 'Many 2'],
      ['333', 'Boss', 'Many 3'],
    ])
    // written records had their modifiedtime bumped; the refused one was left as it was
    expect(rows[0].modifiedtime > '2020-01-01 00:00:00').toBe(true)
    expect(rows[1].modifiedtime).toBe('2020-01-01 00:00:00')
  })
})
