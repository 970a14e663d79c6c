/**
 * coreBOS writes are compare-and-set (DESIGN.md §5, invariant 14), on a real MariaDB: an update
 * carrying the modifiedtime it was merged against applies only if the record still has it. The same
 * holds for comments and calendar activities (MysqlActivities).
 * The re-merge that follows a refused write is the engine's (test/unit/engine-clocks.test.ts).
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {MysqlActivities} from '../../src/corebos/activities.js'
import {CoreBosRecords} from '../../src/corebos/records.js'
import {addCalendar} from '../support/corebos-activities.js'
import {addControlColumns} from '../support/corebos-fixtures.js'
import {createTestDatabase, type TestDatabase} from '../support/db.js'
import {openStateStore, type StateStoreFixture} from '../support/state-store.js'

describe('CoreBosRecords.updateMany with the expected modifiedtime', () => {
  let db: TestDatabase
  let records: CoreBosRecords
  beforeAll(async () => {
    db = await createTestDatabase()
    await addControlColumns(db)
    records = new CoreBosRecords(db.pool, {timezone: 'UTC'})
  })
  afterAll(async () => db?.drop())

  const row = async (crmid: number) =>
    (
      await db.query<{phone: string; title: string; modifiedtime: string}>(
        'SELECT d.phone, d.title, e.modifiedtime FROM vtiger_contactdetails d JOIN vtiger_crmentity e ON e.crmid = d.contactid WHERE d.contactid = ?',
        [crmid],
      )
    )[0]

  it('writes the records still as read, and refuses, untouched, one a user saved in between', async () => {
    const [a, b] = (await records.create('Contacts', [{fields: {lastname: 'Cas A'}}, {fields: {lastname: 'Cas B'}}], 1)).map((r) => r.crmid)
    await db.query("UPDATE vtiger_crmentity SET modifiedtime = '2025-01-01 10:00:00' WHERE crmid IN (?)", [[a, b]])
    const [readA, readB] = await records.readByIds('Contacts', [a, b])
    // a coreBOS user saves B after the pass read it (what coreBOS's save does: the field and modifiedtime)
    await db.query("UPDATE vtiger_contactdetails SET title = 'user title' WHERE contactid = ?", [b])
    await db.query("UPDATE vtiger_crmentity SET modifiedtime = '2025-01-01 10:05:00' WHERE crmid = ?", [b])

    const results = await records.updateMany(
      'Contacts',
      [
        {crmid: a, fields: {title: 'from HubSpot'}, expected: {modifiedtime: readA.modifiedtime}},
        {crmid: b, fields: {title: 'from HubSpot'}, expected: {modifiedtime: readB.modifiedtime}},
      ],
      1,
    )
    expect(results).toEqual([
      {crmid: a, ok: true},
      {crmid: b, ok: false, stale: true, error: `Contacts ${b} changed in coreBOS since it was read (modifiedtime 2025-01-01 10:05:00, read 2025-01-01 10:00:00)`},
    ])
    expect((await row(a)).title).toBe('from HubSpot')
    expect(await row(b)).toMatchObject({title: 'user title', modifiedtime: '2025-01-01 10:05:00'})
  })

  it('a save in the same second (modifiedtime unchanged) of a field being written is caught by its value', async () => {
    const [a] = (await records.create('Contacts', [{fields: {lastname: 'Same second', title: 'old'}}], 1)).map((r) => r.crmid)
    await db.query("UPDATE vtiger_crmentity SET modifiedtime = '2025-03-01 10:00:00' WHERE crmid = ?", [a])
    const [read] = await records.readByIds('Contacts', [a])
    await db.query("UPDATE vtiger_contactdetails SET title = 'user, same second' WHERE contactid = ?", [a])
    const [result] = await records.updateMany('Contacts', [{crmid: a, fields: {title: 'from HubSpot', phone: '9'}, expected: {modifiedtime: read.modifiedtime, fields: {title: read.fields.title, phone: read.fields.phone}}}], 1)
    expect(result).toEqual({crmid: a, ok: false, stale: true, error: `Contacts ${a} changed in coreBOS since it was read (title is no longer what was read)`})
    expect(await row(a)).toMatchObject({title: 'user, same second', phone: '', modifiedtime: '2025-03-01 10:00:00'})
    // against what it holds now, the write goes through
    const [again] = await records.readByIds('Contacts', [a])
    const [ok] = await records.updateMany('Contacts', [{crmid: a, fields: {title: 'from HubSpot'}, expected: {modifiedtime: again.modifiedtime, fields: {title: again.fields.title}}}], 1)
    expect(ok).toEqual({crmid: a, ok: true})
    expect((await row(a)).title).toBe('from HubSpot')
  })

  it('a stale record does not spoil the batch when another record is invalid', async () => {
    const [a, b, c] = (await records.create('Contacts', [1, 2, 3].map((i) => ({fields: {lastname: `Mixed ${i}`}})), 1)).map((r) => r.crmid)
    await db.query("UPDATE vtiger_crmentity SET modifiedtime = '2025-02-01 10:00:00' WHERE crmid IN (?)", [[a, b, c]])
    await db.query("UPDATE vtiger_crmentity SET modifiedtime = '2025-02-01 10:01:00' WHERE crmid = ?", [b])
    const expected = {modifiedtime: '2025-02-01 10:00:00'}
    const results = await records.updateMany(
      'Contacts',
      [
        {crmid: a, fields: {phone: '1'}, expected},
        {crmid: b, fields: {phone: '2'}, expected},
        {crmid: c, fields: {lastname: ''}, expected},
      ],
      1,
    )
    expect(results.map((r) => [r.ok, r.stale ?? false])).toEqual([
      [true, false],
      [false, true],
      [false, false],
    ])
    expect((await row(a)).phone).toBe('1')
    expect((await row(b)).phone).toBe('')
  })
})

describe('MysqlActivities.update with the expected modifiedtime', () => {
  let fixture: StateStoreFixture
  let db: TestDatabase
  let activities: MysqlActivities
  beforeAll(async () => {
    fixture = await openStateStore()
    db = fixture.db
    activities = new MysqlActivities(fixture.pool, 'UTC', 1)
  })
  afterAll(async () => fixture?.close())

  const subject = async (crmid: number) =>
    (await db.query<{subject: string; modifiedtime: string}>('SELECT a.subject, e.modifiedtime FROM vtiger_activity a JOIN vtiger_crmentity e ON e.crmid = a.activityid WHERE a.activityid = ?', [crmid]))[0]

  it('writes an activity still as read, and refuses, untouched, one a user saved in between', async () => {
    const call = await addCalendar(db, {activitytype: 'Call', subject: 'as read', dtstart: '2025-03-03 10:00:00', dtend: '2025-03-03 10:10:00'})
    await db.query("UPDATE vtiger_crmentity SET modifiedtime = '2025-04-01 10:00:00' WHERE crmid = ?", [call])
    const [read] = await activities.readByIds('cbCalendar', [call])
    const expected = {modifiedtime: read.modifiedtime, fields: {subject: read.fields.subject}}
    await db.query("UPDATE vtiger_activity SET subject = 'user subject' WHERE activityid = ?", [call])
    await db.query("UPDATE vtiger_crmentity SET modifiedtime = '2025-04-01 10:05:00' WHERE crmid = ?", [call])

    const result = await activities.update('cbCalendar', call, {subject: 'from HubSpot'}, null, 1, expected)
    expect(result).toEqual({crmid: call, ok: false, stale: true, error: `cbCalendar ${call} changed in coreBOS since it was read (modifiedtime 2025-04-01 10:05:00, read 2025-04-01 10:00:00)`})
    expect(await subject(call)).toEqual({subject: 'user subject', modifiedtime: '2025-04-01 10:05:00'})

    const [again] = await activities.readByIds('cbCalendar', [call])
    expect(await activities.update('cbCalendar', call, {subject: 'from HubSpot'}, null, 1, {modifiedtime: again.modifiedtime, fields: {subject: again.fields.subject}})).toEqual({crmid: call, ok: true})
    expect((await subject(call)).subject).toBe('from HubSpot')
  })

  it('a save in the same second of a field being written is caught by its value', async () => {
    const call = await addCalendar(db, {activitytype: 'Call', subject: 'old', dtstart: '2025-03-03 10:00:00', dtend: '2025-03-03 10:10:00'})
    await db.query("UPDATE vtiger_crmentity SET modifiedtime = '2025-04-02 10:00:00' WHERE crmid = ?", [call])
    const [read] = await activities.readByIds('cbCalendar', [call])
    await db.query("UPDATE vtiger_activity SET subject = 'user, same second' WHERE activityid = ?", [call])
    const result = await activities.update('cbCalendar', call, {subject: 'from HubSpot'}, null, 1, {modifiedtime: read.modifiedtime, fields: {subject: read.fields.subject}})
    expect(result).toEqual({crmid: call, ok: false, stale: true, error: `cbCalendar ${call} changed in coreBOS since it was read (subject is no longer what was read)`})
    expect(await subject(call)).toEqual({subject: 'user, same second', modifiedtime: '2025-04-02 10:00:00'})
  })
})
