/**
 * Client-side throttle for HubSpot: a rolling 10-second budget per app, a separate per-second
 * bucket for search, association batch calls outside the 10-second budget, and a cap on requests
 * in flight. The aim is to stay just under the limits
 * rather than bounce off them, because every 429 costs a full window of waiting.
 */
import type {Clock} from '../sync/ports.js'

/**
 * 'unlimited' is for HubSpot stand-ins without limits (the emulator with limits off, benchmarks of
 * cbhs's own cost); against the real HubSpot it would only trade throttling for 429s.
 */
export type HubSpotTier = 'starter' | 'professional' | 'enterprise' | 'addon' | 'unlimited'

/** Requests per rolling 10 seconds, per app (reference/hubspot-api.md §3.1). */
export const TIER_TEN_SECOND_MAX: Readonly<Record<HubSpotTier, number>> = {
  starter: 100,
  professional: 190,
  enterprise: 190,
  addon: 250,
  unlimited: 1_000_000,
}

/** Search requests per second cbhs allows itself by default (HubSpot: 5 per account; keep one spare). */
export function searchRateFor(tier: HubSpotTier, configured: number | undefined): number {
  return tier === 'unlimited' ? 10_000 : (configured ?? 4)
}

/**
 * 'search' and 'associations' are the operations HubSpot's specification marks
 * `x-hubspot-rate-limit-exemptions: ["ten-secondly"]`: they never draw on the 10-second budget.
 * Search has its own per-second limit; association batch calls have no published one, so they are
 * held back only by the in-flight cap and by their own 429s (which pause only them).
 */
export type Bucket = 'general' | 'search' | 'associations'

/**
 * How much of a window we allow ourselves. A few requests of headroom absorb the difference between
 * our send times and HubSpot's arrival times; any more would fall under the 95 % throughput target.
 */
export function budgetFor(max: number): number {
  return Math.max(1, max - Math.max(3, Math.ceil(max * 0.03)))
}

export interface RateLimiterOptions {
  /** the tier's bound per window */
  windowMax: number
  windowMs?: number
  /** our window is this much longer than HubSpot's, so latency jitter cannot squeeze one extra request in */
  windowPadMs?: number
  maxConcurrent?: number
  searchPerSecond: number
  searchPadMs?: number
  clock: Clock
  sleep: (ms: number) => Promise<void>
}

export interface RateHeaders {
  max?: number
  remaining?: number
  intervalMs?: number
}

type Waiter = (release: () => void) => void

export class RateLimiter {
  private windowMax: number
  private windowMs: number
  private readonly windowPadMs: number
  private readonly maxConcurrent: number
  private readonly searchPerSecond: number
  private readonly searchPadMs: number
  private readonly clock: Clock
  private readonly sleep: (ms: number) => Promise<void>

  private readonly sent: number[] = []
  private readonly searchSent: number[] = []
  private inFlight = 0
  private readonly pausedUntil: Record<Bucket, number> = {general: 0, search: 0, associations: 0}
  /** requests HubSpot counted in its window that we did not send (another app or process on the token) */
  private foreign = {count: 0, until: 0}
  private foreignObservedAt = 0
  private readonly queues: Record<Bucket, Waiter[]> = {general: [], search: [], associations: []}
  private readonly draining: Record<Bucket, boolean> = {general: false, search: false, associations: false}
  private slotWaiters: Array<() => void> = []

  constructor(options: RateLimiterOptions) {
    this.windowMax = options.windowMax
    this.windowMs = options.windowMs ?? 10_000
    this.windowPadMs = options.windowPadMs ?? 100
    this.maxConcurrent = options.maxConcurrent ?? 6
    this.searchPerSecond = options.searchPerSecond
    this.searchPadMs = options.searchPadMs ?? 50
    this.clock = options.clock
    this.sleep = options.sleep
  }

  /** Resolves with a release function once a request of this bucket may be sent. */
  acquire(bucket: Bucket): Promise<() => void> {
    return new Promise((resolve) => {
      this.queues[bucket].push(resolve)
      void this.drain(bucket)
    })
  }

  /** Stop sending in a bucket until `untilMs` (after a 429, or a Retry-After). */
  pause(bucket: Bucket, untilMs: number): void {
    this.pausedUntil[bucket] = Math.max(this.pausedUntil[bucket], untilMs)
  }

  /**
   * Feed back `X-HubSpot-RateLimit-*` from a response, so usage by others on the same app slows us
   * down. `sentAt` is when the request left: HubSpot counted its window then, so ours is counted
   * over the same span (at response time some of ours would already have aged out).
   */
  observe(headers: RateHeaders, sentAt = this.clock.nowMs()): void {
    if (headers.intervalMs && headers.intervalMs > this.windowMs) this.windowMs = headers.intervalMs
    if (headers.max && headers.max > 0 && headers.max < this.windowMax) this.windowMax = headers.max
    if (headers.max === undefined || headers.remaining === undefined) return
    const serverUsed = headers.max - headers.remaining
    const ours = this.countBetween(this.sent, sentAt - this.windowMs, sentAt)
    const foreign = serverUsed - ours
    if (foreign > 0) this.foreign = {count: foreign, until: sentAt + this.windowMs}
    else if (sentAt >= this.foreignObservedAt) this.foreign = {count: 0, until: 0}
    this.foreignObservedAt = Math.max(this.foreignObservedAt, sentAt)
  }

  /** The number of requests we allow ourselves per window right now. */
  currentBudget(now = this.clock.nowMs()): number {
    const foreign = now < this.foreign.until ? this.foreign.count : 0
    return Math.max(1, budgetFor(this.windowMax) - foreign)
  }

  get windowLimit(): number {
    return this.windowMax
  }

  get inFlightCount(): number {
    return this.inFlight
  }

  /**
   * How many requests of the 10-second budget could leave right now without waiting: what this
   * window has left after ours, others' (as HubSpot reported them) and those already queued.
   */
  spareNow(): number {
    const now = this.clock.nowMs()
    if (this.pausedUntil.general > now) return 0
    return Math.max(0, this.currentBudget(now) - this.sentInWindow(now).length - this.queues.general.length)
  }

  /** ms until the oldest request in our window expires (0 when the window is empty) */
  msUntilWindowFrees(): number {
    const now = this.clock.nowMs()
    const sent = this.sentInWindow(now)
    return sent.length === 0 ? 0 : Math.max(0, sent[0] + this.windowMs + this.windowPadMs - now)
  }

  /** our budgeted requests still inside the (padded) window, oldest first */
  private sentInWindow(now: number): number[] {
    this.prune(this.sent, now - (this.windowMs + this.windowPadMs))
    return this.sent
  }

  private async drain(bucket: Bucket): Promise<void> {
    if (this.draining[bucket]) return
    this.draining[bucket] = true
    try {
      const queue = this.queues[bucket]
      while (queue.length > 0) {
        const wait = this.waitFor(bucket)
        if (wait === 'slot') {
          await new Promise<void>((resolve) => this.slotWaiters.push(resolve))
        } else if (wait > 0) {
          await this.sleep(wait)
        } else {
          this.grant(bucket, queue.shift()!)
        }
      }
    } finally {
      this.draining[bucket] = false
    }
  }

  private grant(bucket: Bucket, waiter: Waiter): void {
    const now = this.clock.nowMs()
    this.inFlight++
    if (bucket === 'search') this.searchSent.push(now)
    else if (bucket === 'general') this.sent.push(now)
    let released = false
    waiter(() => {
      if (released) return
      released = true
      this.inFlight--
      const waiters = this.slotWaiters
      this.slotWaiters = []
      for (const wake of waiters) wake()
    })
  }

  private waitFor(bucket: Bucket): number | 'slot' {
    if (this.inFlight >= this.maxConcurrent) return 'slot'
    const now = this.clock.nowMs()
    const paused = this.pausedUntil[bucket] - now
    if (paused > 0) return paused
    if (bucket === 'search') return this.windowWait(this.searchSent, 1000 + this.searchPadMs, this.searchPerSecond, now)
    if (bucket === 'associations') return 0
    return this.windowWait(this.sent, this.windowMs + this.windowPadMs, this.currentBudget(now), now)
  }

  private windowWait(times: number[], span: number, budget: number, now: number): number {
    this.prune(times, now - span)
    if (times.length < budget) return 0
    // the request that has to leave the window before one more fits
    return Math.max(1, times[times.length - budget] + span - now)
  }

  private prune(times: number[], cutoff: number): void {
    let drop = 0
    while (drop < times.length && times[drop] <= cutoff) drop++
    if (drop > 0) times.splice(0, drop)
  }

  /** requests sent in (from, to] */
  private countBetween(times: number[], from: number, to: number): number {
    let n = 0
    for (let i = times.length - 1; i >= 0 && times[i] > from; i--) if (times[i] <= to) n++
    return n
  }
}
