/**
 * What a failed HubSpot call means: retry (and how long to wait first), stop the pass, or hand a
 * 4xx back to the caller. Messages are built from the parsed body only: the client's own
 * ApiException message embeds the response headers and is never shown.
 */
import type {Bucket} from './limiter.js'
import {HubSpotUnavailableError, redact} from '../errors.js'
import {BadAnswerError} from './answers.js'

/** A parsed HubSpot error body; every field optional (reference §3.12). */
export interface HubSpotErrorBody {
  status?: string
  message?: string
  category?: string
  subCategory?: unknown
  correlationId?: string
  policyName?: string
  errors?: Array<{message?: string; code?: string; in?: string; context?: Record<string, unknown>}>
  context?: Record<string, unknown>
}

/** An HTTP answer that is not retryable and not fatal: the caller decides (batch splitting, not found …). */
export class HubSpotApiError extends Error {
  readonly status: number
  readonly category: string
  readonly body: HubSpotErrorBody
  readonly correlationId?: string
  /** for 409 "Contact already exists. Existing ID: N" */
  readonly existingId?: string
  readonly label: string

  constructor(label: string, status: number, body: HubSpotErrorBody) {
    const category = body.category ?? categoryOfStatus(status)
    super(redact(`HubSpot ${label} answered ${status} ${category}: ${body.message ?? 'no message'}`))
    this.name = 'HubSpotApiError'
    this.label = label
    this.status = status
    this.category = category
    this.body = body
    this.correlationId = body.correlationId
    this.existingId = parseExistingId(body.message)
  }
}

/**
 * A 2xx whose body is not JSON (a proxy's or login page, no content type, a cut-off body). One
 * glitch is worth another try; a page that keeps coming is not HubSpot answering.
 */
export class UnreadableAnswerError extends Error {
  constructor(
    readonly status: number,
    readonly what: string,
  ) {
    super(`answered ${status} with ${what}, not JSON`)
    this.name = 'UnreadableAnswerError'
  }
}

/** HubSpot's API does not redirect: a 3xx is someone else answering, and is never followed. */
export class RedirectRefusedError extends Error {
  readonly target: string

  constructor(
    readonly status: number,
    location: string | undefined,
    base: string,
  ) {
    const target = originOf(location, base)
    super(`answered ${status} redirecting to ${target}`)
    this.name = 'RedirectRefusedError'
    this.target = target
  }
}

/** Only the origin of where a redirect points: its path and query may carry anything. */
function originOf(location: string | undefined, base: string): string {
  if (!location) return 'nowhere (no Location)'
  try {
    return new URL(location, base).origin
  } catch {
    return 'an unreadable Location'
  }
}

/** How many times an unreadable answer is asked again before the pass stops. */
export const UNREADABLE_RETRIES = 2

export class HubSpotTimeoutError extends Error {
  constructor(label: string, ms: number) {
    super(`HubSpot ${label} did not answer within ${ms} ms`)
    this.name = 'HubSpotTimeoutError'
  }
}

export function categoryOfStatus(status: number): string {
  switch (status) {
    case 400:
      return 'VALIDATION_ERROR'
    case 401:
      return 'INVALID_AUTHENTICATION'
    case 403:
      return 'MISSING_SCOPES'
    case 404:
      return 'OBJECT_NOT_FOUND'
    case 409:
      return 'CONFLICT'
    case 429:
      return 'RATE_LIMITS'
    default:
      return status >= 500 ? 'SERVER_ERROR' : 'ERROR'
  }
}

export function parseExistingId(message: string | undefined): string | undefined {
  const match = message ? /Existing ID:\s*(\d+)/i.exec(message) : null
  return match ? match[1] : undefined
}

/** The shape of `ApiException` (and of our own synthetic one for `apiRequest`), without importing a codegen module. */
export interface HttpFailure {
  code: number
  body: unknown
  headers: Record<string, string>
}

export function isHttpFailure(err: unknown): err is HttpFailure {
  return (
    typeof err === 'object' &&
    err !== null &&
    typeof (err as HttpFailure).code === 'number' &&
    'body' in err &&
    typeof (err as HttpFailure).headers === 'object'
  )
}

export function errorBodyOf(body: unknown): HubSpotErrorBody {
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as unknown
      if (parsed && typeof parsed === 'object') return parsed as HubSpotErrorBody
    } catch {
      // an HTML error page: keep a short excerpt, never the whole page
    }
    const text = body.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim()
    return {message: text.slice(0, 200) || undefined}
  }
  if (body && typeof body === 'object') return body as HubSpotErrorBody
  return {}
}

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'UND_ERR_SOCKET',
  'ERR_STREAM_PREMATURE_CLOSE',
])

/** fetch and socket errors, truncated or unparseable bodies: all worth another try. */
export function isTransportError(err: unknown): boolean {
  if (!(err instanceof Error)) return false
  if (err instanceof HubSpotTimeoutError) return true
  const code = (err as {code?: unknown}).code
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true
  const errno = (err as {errno?: unknown}).errno
  if (typeof errno === 'string' && NETWORK_CODES.has(errno)) return true
  // native fetch (client 14 without an agent) wraps the socket error: TypeError('fetch failed', {cause})
  if (err.cause instanceof Error && isTransportError(err.cause)) return true
  if (err.name === 'FetchError' || err.name === 'AbortError') return true
  if (err instanceof SyntaxError) return true
  return /premature close|socket hang up|network|cannot parse content|not supported by ObjectSerializer|unexpected end of json|no data from HubSpot/i.test(
    err.message,
  )
}

export type Classified =
  | {
      kind: 'retry'
      reason: string
      status?: number
      /** at least this long before the next try */
      minDelayMs: number
      /** stop every request of this bucket for minDelayMs, not only this one */
      pauseBucket?: Bucket
      network?: boolean
      /** fewer tries than the transport's default */
      maxRetries?: number
    }
  | {kind: 'daily'; body: HubSpotErrorBody}
  | {kind: 'untrusted'; reason: string}
  | {kind: 'auth'; status: number; body: HubSpotErrorBody}
  | {kind: 'http'; error: HubSpotApiError}
  | {kind: 'bug'; error: unknown}

export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (!value) return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs)
}

export function classifyFailure(err: unknown, label: string, nowMs: number): Classified {
  if (err instanceof BadAnswerError || err instanceof RedirectRefusedError) return {kind: 'untrusted', reason: err.message}
  if (err instanceof UnreadableAnswerError) return {kind: 'retry', reason: err.message, status: err.status, minDelayMs: 0, maxRetries: UNREADABLE_RETRIES}
  if (isHttpFailure(err)) {
    const status = err.code
    const body = errorBodyOf(err.body)
    const headers = err.headers ?? {}
    const retryAfter = parseRetryAfter(headers['retry-after'], nowMs)
    const message = body.message ?? ''
    if (status === 429) {
      // the client's model drops policyName, so fall back to the message and the daily header
      if (body.policyName === 'DAILY' || /daily limit/i.test(message) || headers['x-hubspot-ratelimit-daily-remaining'] === '0') {
        return {kind: 'daily', body}
      }
      if (body.policyName === 'SECONDLY' || (/secondly limit/i.test(message) && !/ten_secondly|ten secondly/i.test(message))) {
        return {kind: 'retry', reason: '429 secondly', status, minDelayMs: retryAfter ?? 1000, pauseBucket: 'search'}
      }
      const interval = Number(headers['x-hubspot-ratelimit-interval-milliseconds'])
      const windowMs = Number.isFinite(interval) && interval > 0 ? interval : 10_000
      return {kind: 'retry', reason: '429 ten-secondly', status, minDelayMs: retryAfter ?? windowMs, pauseBucket: 'general'}
    }
    if (status === 401 || status === 403) return {kind: 'auth', status, body}
    if (status === 423) return {kind: 'retry', reason: '423 locked', status, minDelayMs: Math.max(retryAfter ?? 0, 2000)}
    if (status >= 500 || status === 0) return {kind: 'retry', reason: `${status} server error`, status, minDelayMs: retryAfter ?? 0}
    if (status >= 200 && status < 300) {
      // the generated code throws on any 2xx it does not list (reference §2.7); repeating will not help
      return {kind: 'bug', error: new Error(`HubSpot ${label} answered an unexpected ${status}`)}
    }
    return {kind: 'http', error: new HubSpotApiError(label, status, body)}
  }
  if (isTransportError(err)) {
    const reason = err instanceof HubSpotTimeoutError ? 'timeout' : describeTransportError(err)
    return {kind: 'retry', reason, minDelayMs: 0, network: true}
  }
  return {kind: 'bug', error: err}
}

export function describeTransportError(err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  if (err.cause instanceof Error) return `${redact(err.message)} (${describeTransportError(err.cause)})`
  const code = (err as {code?: unknown}).code
  return redact(typeof code === 'string' && code !== err.message ? `${code}: ${err.message}` : err.message)
}

/**
 * Exponential backoff with full jitter (a random wait up to base·2^attempt, capped), on top of
 * the minimum the failure itself asks for (a window, Retry-After, 2 s for 423).
 */
export function backoffDelay(attempt: number, minDelayMs: number, random: () => number, baseMs = 500, capMs = 30_000): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** attempt)
  return Math.floor(minDelayMs + random() * ceiling)
}

export const REQUIRED_SCOPES = [
  'crm.objects.contacts.read',
  'crm.objects.contacts.write',
  'crm.objects.companies.read',
  'crm.objects.companies.write',
  'crm.objects.deals.read',
  'crm.objects.deals.write',
  'crm.schemas.contacts.read',
  'crm.schemas.companies.read',
  'crm.schemas.deals.read',
  'crm.objects.owners.read',
]

export function authRefused(status: number, body: HubSpotErrorBody, host: string): HubSpotUnavailableError {
  const category = body.category ?? categoryOfStatus(status)
  const missing = (body.errors ?? [])
    .flatMap((e) => {
      const scopes = e.context?.requiredGranularScopes
      return Array.isArray(scopes) ? scopes.map(String) : []
    })
    .filter((s, i, all) => all.indexOf(s) === i)
  const what = status === 401 ? 'refused the access token' : 'refused the request for lack of permissions'
  const detail = body.message ? `: ${body.message}` : ''
  const message = redact(`HubSpot (${host}) ${what} (${status} ${category}${detail})`)
  const suggestion =
    status === 401
      ? 'Check the HubSpot access token (a private-app token or service key for this portal); it may be wrong, revoked or expired.'
      : `Give the private app these scopes: ${(missing.length > 0 ? missing : REQUIRED_SCOPES).join(', ')}.`
  return new HubSpotUnavailableError('HUBSPOT_AUTH_REFUSED', message, {
    suggestion: redact(`${suggestion} Scopes cbhs needs: ${REQUIRED_SCOPES.join(', ')}.`),
    data: {status, category, missingScopes: missing},
  })
}

/** Midnight in the portal's zone, as a sentence; HubSpot resets the daily counter then. */
export function dailyResetText(nowMs: number, timeZone: string | undefined): string {
  if (!timeZone) return "at midnight in the portal's time zone"
  try {
    const parts = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    }).formatToParts(new Date(nowMs))
    const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0)
    const left = 86_400 - (get('hour') * 3600 + get('minute') * 60 + get('second'))
    const hours = Math.floor(left / 3600)
    const minutes = Math.floor((left % 3600) / 60)
    const at = new Date(nowMs + left * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z')
    return `at midnight ${timeZone} (${at}), in about ${hours} h ${minutes} min`
  } catch {
    return `at midnight in the portal's time zone (${timeZone})`
  }
}

export function dailyLimitReached(body: HubSpotErrorBody, nowMs: number, timeZone: string | undefined): HubSpotUnavailableError {
  const reset = dailyResetText(nowMs, timeZone)
  return new HubSpotUnavailableError(
    'HUBSPOT_DAILY_LIMIT',
    redact(`HubSpot's daily API limit for this portal is used up (${body.message ?? 'DAILY'}); it resets ${reset}`),
    {
      suggestion:
        'Run the pass again after the reset; nothing is lost, unsynced records are picked up then. The daily limit is shared by every app on the portal.',
      data: {resets: reset},
    },
  )
}
