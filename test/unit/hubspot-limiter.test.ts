import {describe, expect, it} from 'vitest'
import {budgetFor, RateLimiter, TIER_TEN_SECOND_MAX} from '../../src/hubspot/limiter.js'

function fakeTime(start = 1_000_000) {
  const t = {now: start}
  return {
    t,
    clock: {nowMs: () => t.now},
    // let granted callers run at the instant they were granted before time moves on
    sleep: async (ms: number) => {
      await new Promise((r) => setImmediate(r))
      t.now += ms
    },
  }
}

/** The most requests found in any rolling window (t - span, t], as HubSpot counts them. */
function maxInWindow(times: number[], span: number): number {
  let max = 0
  let lo = 0
  for (let hi = 0; hi < times.length; hi++) {
    while (times[lo] <= times[hi] - span) lo++
    max = Math.max(max, hi - lo + 1)
  }
  return max
}

async function saturate(limiter: RateLimiter, bucket: 'general' | 'search', t: {now: number}, untilMs: number, workers = 6) {
  const grants: number[] = []
  const worker = async () => {
    while (t.now < untilMs) {
      const release = await limiter.acquire(bucket)
      grants.push(t.now)
      release()
    }
  }
  await Promise.all(Array.from({length: workers}, worker))
  return grants
}

describe('RateLimiter', () => {
  it('keeps a small safety margin that still allows 95 % of every tier', () => {
    for (const max of Object.values(TIER_TEN_SECOND_MAX)) {
      expect(budgetFor(max)).toBeLessThan(max)
      expect(budgetFor(max) / max).toBeGreaterThanOrEqual(0.95)
    }
  })

  it('tells how many budgeted requests could leave now: the window less ours, others\' and those queued; none while paused', async () => {
    const {t, clock, sleep} = fakeTime()
    const limiter = new RateLimiter({windowMax: 100, searchPerSecond: 4, clock, sleep})
    const budget = budgetFor(100)
    expect(limiter.spareNow()).toBe(budget)
    for (let i = 0; i < 30; i++) (await limiter.acquire('general'))()
    ;(await limiter.acquire('search'))()
    ;(await limiter.acquire('associations'))()
    expect(limiter.spareNow()).toBe(budget - 30)
    // HubSpot counted 20 more in this window than we sent: another app on the token
    limiter.observe({max: 100, remaining: 50})
    expect(limiter.spareNow()).toBe(budget - 30 - 20)
    t.now += 10_200
    expect(limiter.spareNow()).toBe(budget)
    limiter.pause('general', t.now + 1_000)
    expect(limiter.spareNow()).toBe(0)
    t.now += 1_000
    for (let i = 0; i < budget; i++) (await limiter.acquire('general'))()
    expect(limiter.spareNow()).toBe(0)
  })

  it('association batch calls take no share of the ten-second budget; pausing them leaves the other buckets alone', async () => {
    const {t, clock, sleep} = fakeTime()
    const start = t.now
    const limiter = new RateLimiter({windowMax: 10, searchPerSecond: 4, clock, sleep})
    for (let i = 0; i < 50; i++) (await limiter.acquire('associations'))()
    expect(t.now).toBe(start)
    expect(limiter.msUntilWindowFrees()).toBe(0)
    // the general budget is whole: budgetFor(10) requests go at once, the next one waits
    for (let i = 0; i < budgetFor(10); i++) (await limiter.acquire('general'))()
    expect(t.now).toBe(start)
    limiter.pause('associations', t.now + 5_000)
    ;(await limiter.acquire('search'))()
    expect(t.now).toBe(start)
    ;(await limiter.acquire('associations'))()
    expect(t.now).toBeGreaterThanOrEqual(start + 5_000)
    const general = t.now
    ;(await limiter.acquire('general'))()
    expect(t.now - start).toBeGreaterThanOrEqual(10_000)
    expect(general).toBeLessThan(start + 10_000)
  })

  for (const [tier, max] of Object.entries(TIER_TEN_SECOND_MAX)) {
    it(`${tier}: never exceeds ${max} per rolling 10 s and sustains at least 95 % of it`, async () => {
      const {t, clock, sleep} = fakeTime()
      const start = t.now
      const limiter = new RateLimiter({windowMax: max, searchPerSecond: 4, clock, sleep})
      const grants = await saturate(limiter, 'general', t, start + 60_000)
      expect(maxInWindow(grants, 10_000)).toBeLessThanOrEqual(max)
      const steady = grants.filter((g) => g >= start + 10_000 && g < start + 60_000).length
      expect(steady / 5).toBeGreaterThanOrEqual(0.95 * max)
    })
  }

  it('limits search to its own per-second bucket, outside the 10-second budget', async () => {
    const {t, clock, sleep} = fakeTime()
    const limiter = new RateLimiter({windowMax: 100, searchPerSecond: 4, clock, sleep})
    const grants = await saturate(limiter, 'search', t, t.now + 20_000)
    expect(maxInWindow(grants, 1000)).toBeLessThanOrEqual(4)
    expect(grants.length).toBeGreaterThanOrEqual(70)
    // the general bucket is untouched
    const release = await limiter.acquire('general')
    release()
    expect(limiter.msUntilWindowFrees()).toBeGreaterThan(0)
  })

  it('caps requests in flight', async () => {
    const {clock, sleep} = fakeTime()
    const limiter = new RateLimiter({windowMax: 250, searchPerSecond: 4, maxConcurrent: 3, clock, sleep})
    const releases = await Promise.all([1, 2, 3].map(() => limiter.acquire('general')))
    let fourth = false
    const pending = limiter.acquire('general').then((r) => {
      fourth = true
      return r
    })
    await new Promise((r) => setTimeout(r, 5))
    expect(fourth).toBe(false)
    releases[0]()
    ;(await pending)()
    expect(fourth).toBe(true)
    releases[1]()
    releases[2]()
    expect(limiter.inFlightCount).toBe(0)
  })

  it('slows down when the rate headers show usage it did not cause', async () => {
    const {clock, sleep} = fakeTime()
    const limiter = new RateLimiter({windowMax: 100, searchPerSecond: 4, clock, sleep})
    const release = await limiter.acquire('general')
    release()
    // HubSpot counted 61 requests; we sent one, so 60 came from elsewhere on the same app
    limiter.observe({max: 100, remaining: 39, intervalMs: 10_000})
    expect(limiter.currentBudget()).toBe(budgetFor(100) - 60)
    // the foreign usage ages out with the window
    expect(limiter.currentBudget(clock.nowMs() + 10_001)).toBe(budgetFor(100))
  })

  it('does not mistake its own requests that aged out during the round trip for foreign usage', async () => {
    const {t, clock, sleep} = fakeTime()
    const limiter = new RateLimiter({windowMax: 100, searchPerSecond: 4, clock, sleep})
    for (let i = 0; i < 50; i++) {
      ;(await limiter.acquire('general'))()
      t.now += 100
    }
    const sentAt = t.now
    ;(await limiter.acquire('general'))()
    // HubSpot counted all 51 when the request arrived; the answer is read 3 s later
    t.now += 3000
    limiter.observe({max: 100, remaining: 49}, sentAt)
    expect(limiter.currentBudget()).toBe(budgetFor(100))
  })

  it('adopts a lower Max from the headers than the configured tier', () => {
    const {clock, sleep} = fakeTime()
    const limiter = new RateLimiter({windowMax: 190, searchPerSecond: 4, clock, sleep})
    limiter.observe({max: 100, remaining: 100})
    expect(limiter.windowLimit).toBe(100)
    limiter.observe({max: 250, remaining: 250})
    expect(limiter.windowLimit).toBe(100)
  })

  it('holds a paused bucket until the pause ends', async () => {
    const {t, clock, sleep} = fakeTime()
    const limiter = new RateLimiter({windowMax: 100, searchPerSecond: 4, clock, sleep})
    const start = t.now
    limiter.pause('general', start + 10_000)
    const release = await limiter.acquire('general')
    expect(t.now).toBeGreaterThanOrEqual(start + 10_000)
    release()
  })
})
