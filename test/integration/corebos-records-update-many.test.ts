import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {Pool} from '../../src/corebos/connection.js'
import {CoreBosRecords} from '../../src/corebos/records.js'
import {addControlColumns} from '../support/corebos-fixtures.js'
import {createTestDatabase, type TestDatabase} from '../support/db.js'

/** The pool, with every statement sent through it or its connections counted. */
function countingPool(pool: Pool): {pool: Pool; statements: () => number} {
  let n = 0
  const counted = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(t, key, receiver) {
        const value = Reflect.get(t, key, receiver)
        if (typeof value !== 'function') return value
        if (key === 'query' || key === 'execute') return (...args: unknown[]) => (n++, value.apply(t, args))
        if (key === 'getConnection') return async (...args: unknown[]) => counted(await value.apply(t, args))
        return value.bind(t)
      },
    })
  return {pool: counted(pool), statements: () => n}
}

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

  const contacts = async (n: number, tag: string) => {
    const created = await records.create('Contacts', Array.from({length: n}, (_, i) => ({fields: {lastname: `${tag} ${i}`}})), 1)
    const ids = created.map((r) => r.crmid)
    await db.query("UPDATE vtiger_crmentity SET modifiedtime = '2020-01-01 00:00:00' WHERE crmid IN (?)", [ids])
    return ids
  }
  const expected = {modifiedtime: '2020-01-01 00:00:00'}

  it('a batch costs the same few statements whatever its size, not several per record', async () => {
    const counting = countingPool(db.pool)
    const batched = new CoreBosRecords(counting.pool, {timezone: 'UTC'})
    const cost = async (n: number) => {
      const ids = await contacts(n, `Cost${n}`)
      await batched.meta('Contacts')
      const before = counting.statements()
      const results = await batched.updateMany('Contacts', ids.map((crmid, i) => ({crmid, fields: {phone: `+34 ${n} ${i}`, mailingcity: `City ${i}`}, expected: {...expected, fields: {phone: ''}}})), 1)
      expect(results.every((r) => r.ok)).toBe(true)
      return counting.statements() - before
    }
    const few = await cost(3)
    const many = await cost(60)
    expect(many).toBe(few)
    const phones = await db.query<{phone: string}>('SELECT phone FROM vtiger_contactdetails WHERE phone LIKE ? ORDER BY contactid', ['+34 60 %'])
    expect(phones).toHaveLength(60)
  })

  it('a stale record in the middle of a batch comes back stale and untouched; the records around it are written', async () => {
    const [a, b, c] = await contacts(3, 'Mid')
    // a user saves b after cbhs read it
    await db.query("UPDATE vtiger_crmentity SET modifiedtime = '2020-01-01 00:00:05' WHERE crmid = ?", [b])
    const results = await records.updateMany('Contacts', [a, b, c].map((crmid) => ({crmid, fields: {phone: `mid ${crmid}`}, expected})), 1)
    expect(results.map((r) => [r.ok, r.stale ?? false])).toEqual([[true, false], [false, true], [true, false]])
    expect(results[1].error).toMatch(new RegExp(`Contacts ${b} changed in coreBOS since it was read \\(modifiedtime 2020-01-01 00:00:05, read 2020-01-01 00:00:00\\)`))
    const rows = await db.query<{contactid: number; phone: string; modifiedtime: string}>(
      'SELECT d.contactid, d.phone, e.modifiedtime FROM vtiger_contactdetails d JOIN vtiger_crmentity e ON e.crmid = d.contactid WHERE d.contactid IN (?) ORDER BY d.contactid',
      [[a, b, c]],
    )
    expect(rows.map((r) => r.phone)).toEqual([`mid ${a}`, '', `mid ${c}`])
    expect(rows[1].modifiedtime).toBe('2020-01-01 00:00:05')
    const [obj] = await db.query<{modifiedtime: string}>('SELECT modifiedtime FROM vtiger_crmobject WHERE crmid = ?', [a])
    expect(obj.modifiedtime).toBe(rows[0].modifiedtime)
  })

  it('a value of one record the database refuses fails that record alone, with the reason; the rest of the batch is written', async () => {
    const [a, b, c] = await contacts(3, 'Refused')
    // a constraint cbhs cannot check before the write (a site's own rule): the database refuses the row
    await db.query('DROP TRIGGER IF EXISTS cbhs_test_refuse')
    await db.query(
      "CREATE TRIGGER cbhs_test_refuse BEFORE UPDATE ON vtiger_contactdetails FOR EACH ROW IF NEW.phone = 'refuse me' THEN SIGNAL SQLSTATE '23000' SET MESSAGE_TEXT = 'refused by the site rule'; END IF",
    )
    try {
      const results = await records.updateMany(
        'Contacts',
        [
          {crmid: a, fields: {phone: 'ok a', title: 'T a'}, expected},
          {crmid: b, fields: {phone: 'refuse me', title: 'T b'}, expected},
          {crmid: c, fields: {phone: 'ok c', title: 'T c'}, expected},
        ],
        1,
      )
      expect(results.map((r) => r.ok)).toEqual([true, false, true])
      expect(results[1].stale).toBeUndefined()
      expect(results[1].error).toMatch(/refused by the site rule/)
    } finally {
      await db.query('DROP TRIGGER IF EXISTS cbhs_test_refuse')
    }
    const rows = await db.query<{phone: string; title: string; modifiedtime: string}>(
      'SELECT d.phone, d.title, e.modifiedtime FROM vtiger_contactdetails d JOIN vtiger_crmentity e ON e.crmid = d.contactid WHERE d.contactid IN (?) ORDER BY d.contactid',
      [[a, b, c]],
    )
    expect(rows.map((r) => [r.phone, r.title])).toEqual([['ok a', 'T a'], ['', ''], ['ok c', 'T c']])
    expect(rows[1].modifiedtime).toBe('2020-01-01 00:00:00')
  })

  it('records setting different fields and owners in one batch each get their own values, in the secondary tables too', async () => {
    const [a, b, c] = await contacts(3, 'Mixed')
    const results = await records.updateMany(
      'Contacts',
      [
        {crmid: a, fields: {phone: 'pa', mailingcity: 'Bilbao'}},
        {crmid: b, fields: {title: 'tb', assigned_user_id: '5'}},
        {crmid: c, fields: {phone: 'pc'}},
      ],
      3,
    )
    expect(results.every((r) => r.ok)).toBe(true)
    const rows = await db.query<{phone: string; title: string; city: string | null; owner: number; by: number; objowner: number}>(
      `SELECT d.phone, d.title, ad.mailingcity AS city, e.smownerid AS owner, e.modifiedby AS \`by\`, o.smownerid AS objowner
       FROM vtiger_contactdetails d JOIN vtiger_crmentity e ON e.crmid = d.contactid JOIN vtiger_crmobject o ON o.crmid = d.contactid
       LEFT JOIN vtiger_contactaddress ad ON ad.contactaddressid = d.contactid WHERE d.contactid IN (?) ORDER BY d.contactid`,
      [[a, b, c]],
    )
    expect(rows).toEqual([
      {phone: 'pa', title: '', city: 'Bilbao', owner: 1, by: 3, objowner: 1},
      {phone: '', title: 'tb', city: rows[1].city, owner: 5, by: 3, objowner: 5},
      {phone: 'pc', title: '', city: rows[2].city, owner: 1, by: 3, objowner: 1},
    ])
  })
})
