/**
 * HubSpot's rate limits (§3.1): a rolling 10-second burst per token, a daily count per account that
 * resets at midnight in the portal's time zone, and a separate per-second budget for search.
 */
import {randomUUID} from 'node:crypto'

export interface LimitsOptions {
  /** requests per rolling 10 s: 100 (Free/Starter), 190 (Pro/Enterprise), 250 (API add-on) */
  tenSecondly: number
  /** requests per day; defaults to the tier that goes with tenSecondly */
  daily?: number
  /** search requests per rolling second, default 5 */
  searchPerSecond?: number
}

export const TEN_SECONDS_MS = 10_000

/** 'exempt': outside the 10-second burst without a limit of its own (association batch calls) */
export type RequestKind = 'general' | 'search' | 'exempt'

export type LimitDecision =
  | {ok: true; headers: Record<string, string>}
  | {ok: false; status: 429; body: Record<string, unknown>; headers: Record<string, string>}

/** A FIFO of timestamps inside a sliding window; amortised O(1). */
class Window {
  private stamps: number[] = []
  private head = 0

  count(now: number, spanMs: number): number {
    const floor = now - spanMs
    while (this.head < this.stamps.length && this.stamps[this.head]! <= floor) this.head++
    if (this.head > 1024 && this.head * 2 > this.stamps.length) {
      this.stamps = this.stamps.slice(this.head)
      this.head = 0
    }
    return this.stamps.length - this.head
  }

  add(now: number): void {
    this.stamps.push(now)
  }
}

const dayFormat = new Intl.DateTimeFormat('en-CA', {timeZone: 'America/New_York', year: 'numeric', month: '2-digit', day: '2-digit'})

export function defaultDaily(tenSecondly: number): number {
  if (tenSecondly <= 100) return 250_000
  if (tenSecondly <= 190) return 625_000
  return 1_000_000
}

export class RateLimiter {
  private burst = new Map<string, Window>()
  private search = new Window()
  private day = ''
  dailyUsage = 0
  overBudget = 0

  constructor(public options: LimitsOptions | false, private readonly portalId: number) {}

  set(options: LimitsOptions | false): void {
    this.options = options
    this.burst.clear()
    this.search = new Window()
  }

  setDailyUsage(n: number, now: number): void {
    this.rollDay(now)
    this.dailyUsage = n
  }

  dailyLimit(): number {
    return this.options ? this.options.daily ?? defaultDaily(this.options.tenSecondly) : defaultDaily(100)
  }

  private rollDay(now: number): void {
    const key = dayFormat.format(new Date(now))
    if (key !== this.day) {
      this.day = key
      this.dailyUsage = 0
    }
  }

  /**
   * Decides one request. Search and association batch calls are exempt from the burst
   * (`x-hubspot-rate-limit-exemptions: ["ten-secondly"]` in the specification); search has its own
   * per-second limit and carries no headers.
   */
  check(token: string, kind: RequestKind, now: number): LimitDecision {
    const isSearch = kind === 'search'
    const o = this.options
    if (!o) return {ok: true, headers: {}}
    this.rollDay(now)
    const daily = this.dailyLimit()
    const refuse = (message: string, policyName: string, headers: Record<string, string>): LimitDecision => {
      this.overBudget++
      const body: Record<string, unknown> = {
        status: 'error',
        message,
        errorType: 'RATE_LIMIT',
        correlationId: randomUUID(),
        // the specification's Error schema requires a category on every error body, 429s included
        category: 'RATE_LIMITS',
        policyName,
      }
      if (policyName === 'DAILY') body.requestId = randomUUID()
      else body.groupName = `privateapps:${this.portalId}`
      return {ok: false, status: 429, body, headers}
    }
    if (this.dailyUsage >= daily) {
      return refuse('You have reached your daily limit.', 'DAILY', isSearch ? {} : this.headers(o.tenSecondly, 0, daily))
    }
    if (isSearch) {
      const perSecond = o.searchPerSecond ?? 5
      if (this.search.count(now, 1_000) >= perSecond) return refuse('You have reached your secondly limit.', 'SECONDLY', {})
      this.search.add(now)
      this.dailyUsage++
      return {ok: true, headers: {}}
    }
    if (kind === 'exempt') {
      this.dailyUsage++
      return {ok: true, headers: {}}
    }
    let w = this.burst.get(token)
    if (!w) this.burst.set(token, (w = new Window()))
    const used = w.count(now, TEN_SECONDS_MS)
    if (used >= o.tenSecondly) {
      return refuse('You have reached your ten_secondly_rolling limit.', 'TEN_SECONDLY_ROLLING', this.headers(o.tenSecondly, 0, daily))
    }
    w.add(now)
    this.dailyUsage++
    return {ok: true, headers: this.headers(o.tenSecondly, o.tenSecondly - used - 1, daily)}
  }

  private headers(max: number, remaining: number, daily: number): Record<string, string> {
    const secondly = Math.max(1, Math.floor(max / 10))
    return {
      'X-HubSpot-RateLimit-Daily': String(daily),
      'X-HubSpot-RateLimit-Daily-Remaining': String(Math.max(0, daily - this.dailyUsage)),
      'X-HubSpot-RateLimit-Interval-Milliseconds': String(TEN_SECONDS_MS),
      'X-HubSpot-RateLimit-Max': String(max),
      'X-HubSpot-RateLimit-Remaining': String(Math.max(0, remaining)),
      'X-HubSpot-RateLimit-Secondly': String(secondly),
      'X-HubSpot-RateLimit-Secondly-Remaining': String(Math.max(0, Math.min(secondly, remaining))),
    }
  }
}
