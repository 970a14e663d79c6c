import mysql from 'mysql2/promise'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {registerSecret} from '../../src/errors.js'
import {mirrorFailureToMessageQueue, naiveDatetime, printR} from '../../src/corebos/errorlog.js'
import {createTestDatabase, type TestDatabase} from '../support/db.js'

describe('mirrorFailureToMessageQueue', () => {
  let db: TestDatabase
  const now = Date.parse('2025-06-30T22:30:00Z')
  beforeAll(async () => {
    db = await createTestDatabase()
  })
  afterAll(async () => db?.drop())

  it('prints like PHP print_r', () => {
    expect(printR({error: '[op]: msg', info: {a: 1, b: ['x']}})).toBe(
      'Array\n(\n    [error] => [op]: msg\n    [info] => Array\n        (\n            [a] => 1\n            [b] => Array\n                (\n                    [0] => x\n                )\n\n        )\n\n)\n',
    )
  })

  it('writes the legacy errorlog row in the install timezone (2021 schema)', async () => {
    registerSecret('tok-secret-999')
    const n = await mirrorFailureToMessageQueue(
      db.pool,
      {module: 'Contacts', direction: 'push', crmid: 123, hubspotId: '456', category: 'INVALID_EMAIL', message: 'bad email (tok-secret-999)', attempts: 2},
      'Europe/Madrid',
      {now: () => now},
    )
    expect(n).toBe(1)
    const [row] = await db.query<Record<string, unknown>>('SELECT * FROM cb_messagequeue')
    expect(row).toMatchObject({
      channel: 'errorlog',
      producer: 'cbhs',
      consumer: 'logmanager',
      type: 'Event',
      share: 'P:S',
      sequence: 0,
      senton: '2025-07-01 00:30:00',
      deliverafter: '2025-07-01 00:30:00',
      expires: naiveDatetime(now + 32_000_000_000, 'Europe/Madrid'),
      version: '2.0',
      invalid: 0,
      invalidreason: '',
      userid: 0,
    })
    expect(row.information).toContain('[error] => [push Contacts]: bad email (***)')
    expect(row.information).toContain('[crmid] => 123')
    expect(row.information).toContain('[hubspotid] => 456')
    expect(row.information).not.toContain('tok-secret-999')
  })

  it('fills the 2022 delivery-window columns where they exist, and fans out to subscribers', async () => {
    await db.query(
      `ALTER TABLE cb_messagequeue ADD COLUMN deliverstarttime VARCHAR(10) NULL DEFAULT NULL, ADD COLUMN deliverendtime VARCHAR(10) NULL DEFAULT NULL,
         ADD COLUMN cansendonsaturday TINYINT NOT NULL DEFAULT 1, ADD COLUMN cansendonsunday TINYINT NOT NULL DEFAULT 1`,
    )
    await db.query('DELETE FROM cb_messagequeue')
    await db.query(
      `INSERT INTO cb_mqsubscriptions (md5idx, channel, producer, consumer, callback) VALUES
         (REPEAT('a', 32), 'errorlog', 'cbhs', 'logmanager', 'x'), (REPEAT('b', 32), 'errorlog', 'other', 'mailer', 'y')`,
    )
    // a new pool: the column list is cached per pool
    const pool = mysql.createPool({...db.settings, dateStrings: true, connectionLimit: 1})
    try {
      const n = await mirrorFailureToMessageQueue(pool, {module: 'Leads', direction: 'pull', hubspotId: '9', message: 'x'}, 'UTC', {now: () => now})
      expect(n).toBe(2)
    } finally {
      await pool.end()
    }
    const rows = await db.query<Record<string, unknown>>('SELECT consumer, senton, deliverstarttime, deliverendtime, cansendonsaturday, cansendonsunday FROM cb_messagequeue ORDER BY consumer')
    expect(rows).toEqual([
      {consumer: 'logmanager', senton: '2025-06-30 22:30:00', deliverstarttime: '00:00:00', deliverendtime: '23:59:59', cansendonsaturday: 1, cansendonsunday: 1},
      {consumer: 'mailer', senton: '2025-06-30 22:30:00', deliverstarttime: '00:00:00', deliverendtime: '23:59:59', cansendonsaturday: 1, cansendonsunday: 1},
    ])
  })
})
