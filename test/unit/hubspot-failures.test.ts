import {describe, expect, it} from 'vitest'
import {EXIT, HubSpotUnavailableError, registerSecret} from '../../src/errors.js'
import {
  authRefused,
  backoffDelay,
  classifyFailure,
  dailyLimitReached,
  dailyResetText,
  HubSpotApiError,
  HubSpotTimeoutError,
  isTransportError,
  parseRetryAfter,
} from '../../src/hubspot/failures.js'

const NOW = Date.UTC(2026, 2, 10, 12, 0, 0)

function apiException(code: number, body: unknown, headers: Record<string, string> = {}) {
  const e = new Error(`HTTP-Code: ${code}\nHeaders: {"authorization":"Bearer pat-secret-123"}`) as Error & {code: number; body: unknown; headers: Record<string, string>}
  e.code = code
  e.body = body
  e.headers = headers
  return e
}

describe('classifyFailure', () => {
  it('never retries the daily limit, even without policyName (the client model drops it)', () => {
    expect(classifyFailure(apiException(429, {message: 'You have reached your daily limit.'}), 'x', NOW).kind).toBe('daily')
    expect(classifyFailure(apiException(429, {policyName: 'DAILY'}), 'x', NOW).kind).toBe('daily')
  })

  it('waits out the ten-secondly window and pauses every general request', () => {
    const c = classifyFailure(apiException(429, {message: 'You have reached your ten_secondly_rolling limit.'}), 'x', NOW)
    expect(c).toMatchObject({kind: 'retry', minDelayMs: 10_000, pauseBucket: 'general'})
  })

  it('waits one second on the search secondly limit', () => {
    const c = classifyFailure(apiException(429, {message: 'You have reached your secondly limit.'}), 'x', NOW)
    expect(c).toMatchObject({kind: 'retry', minDelayMs: 1000, pauseBucket: 'search'})
  })

  it('honours Retry-After', () => {
    const c = classifyFailure(apiException(429, {message: 'ten_secondly_rolling'}, {'retry-after': '3'}), 'x', NOW)
    expect(c).toMatchObject({kind: 'retry', minDelayMs: 3000})
    expect(parseRetryAfter(new Date(NOW + 5000).toUTCString(), NOW)).toBe(5000)
  })

  it('waits at least 2 s on 423 and retries 5xx and HTML error pages', () => {
    expect(classifyFailure(apiException(423, {}), 'x', NOW)).toMatchObject({kind: 'retry', minDelayMs: 2000})
    expect(classifyFailure(apiException(502, '<html><body>Bad gateway</body></html>'), 'x', NOW)).toMatchObject({kind: 'retry', status: 502})
  })

  it('retries network errors, timeouts and unparseable answers', () => {
    const fetchError = Object.assign(new Error('request to http://x failed, reason: socket hang up'), {name: 'FetchError', code: 'ECONNRESET'})
    expect(classifyFailure(fetchError, 'x', NOW)).toMatchObject({kind: 'retry', network: true})
    expect(isTransportError(new Error('Premature close'))).toBe(true)
    expect(isTransportError(new Error('Cannot parse content. No Content-Type defined.'))).toBe(true)
    expect(isTransportError(new SyntaxError('Unexpected token <'))).toBe(true)
    expect(classifyFailure(new HubSpotTimeoutError('x', 100), 'x', NOW)).toMatchObject({kind: 'retry', reason: 'timeout'})
    expect(classifyFailure(new TypeError('x is undefined'), 'x', NOW).kind).toBe('bug')
  })

  it('hands other 4xx back as HubSpotApiError built from the body only', () => {
    const c = classifyFailure(
      apiException(409, {category: 'CONFLICT', message: 'Contact already exists. Existing ID: 4711', correlationId: 'c-1'}),
      'batch/upsert contacts',
      NOW,
    )
    expect(c.kind).toBe('http')
    const error = (c as {error: HubSpotApiError}).error
    expect(error.existingId).toBe('4711')
    expect(error.message).toBe('HubSpot batch/upsert contacts answered 409 CONFLICT: Contact already exists. Existing ID: 4711')
    expect(error.message).not.toContain('Bearer')
  })

  it('refuses auth with exit code 4, a suggestion naming scopes, and no token', () => {
    registerSecret('pat-secret-123')
    const c = classifyFailure(apiException(401, {category: 'INVALID_AUTHENTICATION', message: 'Authentication credentials not found.'}), 'x', NOW)
    expect(c.kind).toBe('auth')
    const error = authRefused(401, {category: 'INVALID_AUTHENTICATION', message: 'bad token pat-secret-123'}, 'api.hubapi.com')
    expect(error).toBeInstanceOf(HubSpotUnavailableError)
    expect(error.exitCode).toBe(EXIT.UNAVAILABLE)
    expect(error.code).toBe('HUBSPOT_AUTH_REFUSED')
    expect(error.message).not.toContain('pat-secret-123')
    expect(error.suggestion).toContain('crm.objects.contacts.write')
    const scopes = authRefused(
      403,
      {category: 'MISSING_SCOPES', errors: [{message: 'x', context: {requiredGranularScopes: ['crm.objects.deals.write']}}]},
      'api.hubapi.com',
    )
    expect(scopes.suggestion).toMatch(/^Give the private app these scopes: crm\.objects\.deals\.write\./)
  })
})

describe('daily limit message', () => {
  it('says when the limit resets in the portal time zone', () => {
    // 12:00 UTC is 08:00 in New York (EDT from 8 March 2026): 16 hours left
    expect(dailyResetText(NOW, 'America/New_York')).toBe('at midnight America/New_York (2026-03-11T04:00:00Z), in about 16 h 0 min')
    expect(dailyResetText(NOW, undefined)).toBe("at midnight in the portal's time zone")
    const error = dailyLimitReached({message: 'You have reached your daily limit.'}, NOW, undefined)
    expect(error.code).toBe('HUBSPOT_DAILY_LIMIT')
    expect(error.exitCode).toBe(4)
    expect(error.message).toContain("at midnight in the portal's time zone")
  })
})

describe('backoffDelay', () => {
  it('is full jitter on top of the minimum, capped', () => {
    expect(backoffDelay(0, 0, () => 0)).toBe(0)
    expect(backoffDelay(0, 0, () => 0.999)).toBeLessThan(500)
    expect(backoffDelay(3, 2000, () => 1)).toBe(2000 + 4000)
    expect(backoffDelay(20, 0, () => 1)).toBe(30_000)
  })
})
