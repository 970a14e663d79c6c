/**
 * Every HubSpot request goes through `Transport.call`: it waits for the limiter, counts the call,
 * guards it with a watchdog, feeds the rate headers back, and retries what is worth retrying.
 */
import * as http from 'node:http'
import * as https from 'node:https'
import type {Duplex} from 'node:stream'
import {HubSpotUnavailableError, redact} from '../errors.js'
import type {Clock} from '../sync/ports.js'
import {
  authRefused,
  backoffDelay,
  classifyFailure,
  dailyLimitReached,
  HubSpotTimeoutError,
  isHttpFailure,
  type Classified,
} from './failures.js'
import type {AnswerCheck} from './answers.js'
import type {Bucket, RateHeaders, RateLimiter} from './limiter.js'

export interface RetryInfo {
  /** endpoint label, e.g. 'batch/upsert contacts' */
  label: string
  /** 1 for the first retry */
  attempt: number
  delayMs: number
  reason: string
  status?: number
}

export interface HttpInfoLike<T> {
  httpStatusCode: number
  headers: Record<string, string>
  data: T
}

export interface TransportOptions {
  baseUrl: string
  maxRetries: number
  requestTimeoutMs: number
  limiter: RateLimiter
  clock: Clock
  sleep: (ms: number) => Promise<void>
  random: () => number
  onRetry?: (info: RetryInfo) => void
  /** the portal's zone once known, for the daily-limit message */
  timeZone: () => string | undefined
}

export function rateHeaders(headers: Record<string, string> | undefined): RateHeaders {
  if (!headers) return {}
  const num = (name: string) => {
    const raw = headers[name]
    if (raw === undefined || raw === '') return undefined
    const n = Number(raw)
    return Number.isFinite(n) ? n : undefined
  }
  return {
    max: num('x-hubspot-ratelimit-max'),
    remaining: num('x-hubspot-ratelimit-remaining'),
    intervalMs: num('x-hubspot-ratelimit-interval-milliseconds'),
  }
}

/**
 * The client's HTTP layer has no timeout and Node's agent only *reports* an idle socket,
 * so a silent server would hold a socket forever. This agent destroys sockets idle for `idleMs`,
 * which ends the abandoned request the watchdog has already given up on.
 */
export function createAgent(baseUrl: string, idleMs: number, maxSockets: number): http.Agent {
  const options = {keepAlive: true, maxSockets, timeout: idleMs}
  const agent = baseUrl.startsWith('https:') ? new https.Agent(options) : new http.Agent(options)
  const withConnect = agent as unknown as {createConnection: (...args: unknown[]) => Duplex}
  const original = withConnect.createConnection
  withConnect.createConnection = function (this: unknown, ...args: unknown[]) {
    const socket = original.apply(this, args) as Duplex & {setTimeout?: (ms: number) => void}
    socket.setTimeout?.(idleMs)
    socket.on('timeout', () => socket.destroy(new Error(`no data from HubSpot for ${idleMs} ms`)))
    return socket
  }
  return agent
}

export class Transport {
  private readonly counts = new Map<string, number>()
  private total = 0
  private readonly host: string

  constructor(private readonly options: TransportOptions) {
    this.host = safeHost(options.baseUrl)
  }

  callCounts(): Record<string, number> {
    return Object.fromEntries([...this.counts.entries()].sort(([a], [b]) => a.localeCompare(b)))
  }

  totalCalls(): number {
    return this.total
  }

  /**
   * `check` turns the parsed body into what the caller reads (answers.ts); an answer it refuses, or
   * a redirect, stops the pass at once, naming `label` and `endpoint` (e.g. 'GET /crm/objects/…').
   */
  async call<T>(
    label: string,
    bucket: Bucket,
    endpoint: string,
    send: () => Promise<HttpInfoLike<unknown>>,
    check: AnswerCheck<T>,
  ): Promise<HttpInfoLike<T>> {
    const {limiter, clock} = this.options
    for (let attempt = 0; ; attempt++) {
      const release = await limiter.acquire(bucket)
      const sentAt = clock.nowMs()
      this.count(label)
      let failure: Classified
      try {
        const response = await this.watch(send(), label)
        limiter.observe(rateHeaders(response.headers), sentAt)
        return {...response, data: check(response.data)}
      } catch (err) {
        if (isHttpFailure(err)) limiter.observe(rateHeaders(err.headers), sentAt)
        failure = classifyFailure(err, label, clock.nowMs())
      } finally {
        release()
      }
      switch (failure.kind) {
        case 'daily':
          throw dailyLimitReached(failure.body, clock.nowMs(), this.options.timeZone())
        case 'auth':
          throw authRefused(failure.status, failure.body, this.host)
        case 'http':
          throw failure.error
        case 'bug':
          throw failure.error
        case 'untrusted':
          throw this.untrusted(label, endpoint, failure.reason)
        case 'retry':
          break
      }
      if (attempt >= Math.min(this.options.maxRetries, failure.maxRetries ?? Infinity)) throw this.exhausted(label, endpoint, attempt + 1, failure)
      const delayMs = backoffDelay(attempt, failure.minDelayMs, this.options.random)
      // an exempt call's 429 is its own limit's, whatever its message says: it pauses only its bucket
      const pause = failure.pauseBucket && (bucket === 'general' ? failure.pauseBucket : bucket)
      if (pause) limiter.pause(pause, clock.nowMs() + failure.minDelayMs)
      this.options.onRetry?.({label, attempt: attempt + 1, delayMs, reason: failure.reason, status: failure.status})
      await this.options.sleep(delayMs)
    }
  }

  private count(label: string): void {
    this.total++
    this.counts.set(label, (this.counts.get(label) ?? 0) + 1)
  }

  private watch<T>(request: Promise<T>, label: string): Promise<T> {
    const ms = this.options.requestTimeoutMs
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new HubSpotTimeoutError(label, ms)), ms)
    })
    // once the watchdog has fired, the abandoned request's own late failure must not go unhandled
    request.catch(() => undefined)
    return Promise.race([request, timeout]).finally(() => clearTimeout(timer))
  }

  private untrusted(label: string, endpoint: string, reason: string): HubSpotUnavailableError {
    return new HubSpotUnavailableError(
      'HUBSPOT_UNAVAILABLE',
      redact(`HubSpot at ${this.host} gave ${label} (${endpoint}) an answer cbhs cannot trust: ${reason}`),
      {
        suggestion:
          'Nothing was written from it and no watermark moved; run the pass again later. If it persists, check hubspot.baseUrl and any proxy between this machine and HubSpot.',
        data: {host: this.host, label, endpoint, reason},
      },
    )
  }

  private exhausted(label: string, endpoint: string, attempts: number, failure: Extract<Classified, {kind: 'retry'}>): HubSpotUnavailableError {
    if (failure.network) {
      return new HubSpotUnavailableError(
        'HUBSPOT_UNREACHABLE',
        redact(`Cannot reach HubSpot at ${this.host}: ${label} failed ${attempts} times (last: ${failure.reason})`),
        {
          suggestion: `Check the network, proxy and firewall between this machine and ${this.host}, and the configured HubSpot base URL; see status.hubspot.com for outages.`,
          data: {host: this.host, label, attempts},
        },
      )
    }
    return new HubSpotUnavailableError(
      'HUBSPOT_UNAVAILABLE',
      redact(`HubSpot at ${this.host} kept failing ${label} (${endpoint}): ${attempts} attempts (last: ${failure.reason})`),
      {
        suggestion: 'HubSpot is overloaded or having an outage (see status.hubspot.com); run the pass again later, nothing is lost.',
        data: {host: this.host, label, endpoint, attempts, status: failure.status},
      },
    )
  }
}

export function safeHost(baseUrl: string): string {
  try {
    return new URL(baseUrl).host
  } catch {
    return baseUrl
  }
}
