import mysql from 'mysql2/promise'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {DbPassLock, LockLostError, lockNameFor} from '../../src/corebos/lock.js'
import {setupCoreBos} from '../../src/corebos/setup.js'
import {CoreBosStateStore} from '../../src/corebos/state.js'
import {createTestDatabase, type TestDatabase} from '../support/db.js'

describe('DbPassLock', () => {
  let db: TestDatabase
  let otherPool: mysql.Pool
  let name: string

  beforeAll(async () => {
    db = await createTestDatabase()
    await setupCoreBos(db.pool, {dryRun: false, database: db.settings.database})
    // a second process: its own pool on the same database
    otherPool = mysql.createPool({...db.settings, dateStrings: true, connectionLimit: 2})
    name = lockNameFor(db.settings.database)
  })
  afterAll(async () => {
    await otherPool?.end()
    await db?.drop()
  })

  it('names the lock per database, within the 64-character limit', () => {
    expect(lockNameFor('crm_a')).toBe('cbhs:crm_a')
    expect(lockNameFor('crm_b')).not.toBe(lockNameFor('crm_a'))
    const long = lockNameFor('x'.repeat(80))
    expect(long.length).toBeLessThanOrEqual(64)
    expect(long).not.toBe(lockNameFor('x'.repeat(79)))
  })

  it('keeps a second pass out while the first holds the lock, and reports the holder', async () => {
    const first = new DbPassLock(db.pool)
    const second = new DbPassLock(otherPool)
    expect(await first.acquire(name)).toBe(true)
    expect(first.connectionId).toBeGreaterThan(0)
    // a re-acquire by the holder counts once, so one release frees it
    expect(await first.acquire(name)).toBe(true)
    expect(await second.acquire(name)).toBe(false)
    expect(await second.holder(name)).toEqual({connectionId: first.connectionId})

    // the holder stays on its own session while the pool keeps serving other queries
    await Promise.all(Array.from({length: 10}, () => db.pool.query('SELECT SLEEP(0.01)')))
    await first.assertHeld(name)

    const store = new CoreBosStateStore(db.pool)
    const runId = await store.startRun('push', false, {lockConnectionId: first.connectionId})
    const who = await second.describeHolder(name)
    expect(who).toMatchObject({connectionId: first.connectionId, user: db.settings.user})
    expect(who?.run).toMatchObject({id: runId, command: 'push', pid: process.pid})
    expect(who?.run?.startedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    await store.finishRun(runId, {exitCode: 0, counts: {}, apiCalls: 0})

    await first.release(name)
    expect(await second.holder(name)).toBeNull()
    expect(await second.acquire(name)).toBe(true)
    expect(await first.acquire(name)).toBe(false)
    await second.release(name)
    expect(await first.holder(name)).toBeNull()
  })

  it('is released by the server when the holding session dies', async () => {
    const first = new DbPassLock(db.pool)
    const second = new DbPassLock(otherPool)
    expect(await first.acquire(name)).toBe(true)
    // what kill -9 of the holding process amounts to on the server side
    await otherPool.query(`KILL ${Number(first.connectionId)}`)
    await expect(first.assertHeld(name)).rejects.toBeInstanceOf(LockLostError)
    expect(await second.acquire(name)).toBe(true)
    await second.release(name)
    await first.releaseAll()
    expect(await first.acquire(name)).toBe(true)
    await first.release(name)
  })

  it('does not collide with a lock of another database on the same server', async () => {
    const here = new DbPassLock(db.pool)
    const there = new DbPassLock(otherPool)
    expect(await here.acquire(name)).toBe(true)
    expect(await there.acquire(lockNameFor(`${db.settings.database}_other`))).toBe(true)
    await there.releaseAll()
    await here.releaseAll()
  })
})
