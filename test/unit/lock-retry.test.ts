/** A state writer that loses a lock race runs again, a bounded number of times, and only for lock races. */
import {describe, expect, it} from 'vitest'
import {LOCK_ATTEMPTS, retryLockVictim} from '../../src/corebos/lock-retry.js'

const lockError = (errno: number) => Object.assign(new Error(`errno ${errno}`), {errno})

describe('retryLockVictim', () => {
  it('runs a deadlock victim and a lock-wait timeout again until it succeeds', async () => {
    const errors = [lockError(1213), lockError(1205)]
    let runs = 0
    const result = await retryLockVictim(async () => {
      runs++
      const error = errors.shift()
      if (error) throw error
      return 'done'
    })
    expect(result).toBe('done')
    expect(runs).toBe(3)
  })

  it(`gives up after ${LOCK_ATTEMPTS} runs and throws the last error`, async () => {
    let runs = 0
    await expect(
      retryLockVictim(async () => {
        runs++
        throw lockError(1213)
      }),
    ).rejects.toMatchObject({errno: 1213})
    expect(runs).toBe(LOCK_ATTEMPTS)
  })

  it('throws any other error at once', async () => {
    let runs = 0
    await expect(
      retryLockVictim(async () => {
        runs++
        throw Object.assign(new Error('Duplicate entry'), {errno: 1062})
      }),
    ).rejects.toThrow('Duplicate entry')
    expect(runs).toBe(1)
  })
})
