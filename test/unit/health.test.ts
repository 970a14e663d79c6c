import {describe, expect, it} from 'vitest'
import {
  DAILY_API_LIMIT,
  NAGIOS_EXIT,
  checkLine,
  checkStateForExit,
  evaluateHealth,
  formatAge,
  lastCompletedAt,
  utcDayStart,
  type DirectionHealthInput,
  type HealthInput,
  type HealthThresholds,
} from '../../src/health.js'

const NOW = Date.parse('2025-06-30T12:00:00.000Z')
const minutesAgo = (m: number) => new Date(NOW - m * 60_000).toISOString()
const thresholds: HealthThresholds = {staleAfterMinutes: 18, failedAttemptsMinutes: 12, maxFailures: 0, lockStaleMinutes: 60}

function dir(partial: Partial<DirectionHealthInput> = {}): DirectionHealthInput {
  return {
    module: 'Contacts',
    direction: 'push',
    lastOutcome: 'ok',
    lastOutcomeAt: minutesAgo(2),
    lastSuccessAt: minutesAgo(2),
    lastMessage: null,
    ...partial,
  }
}

function input(partial: Partial<HealthInput> = {}): HealthInput {
  return {
    nowMs: NOW,
    directions: [dir(), dir({direction: 'pull'})],
    failures: {open: 0, givenUp: 0},
    lock: null,
    api: {today: 100, dailyLimit: 250_000},
    legacy: {},
    ...partial,
  }
}

const rules = (i: HealthInput, t = thresholds) => evaluateHealth(i, t).problems.map((p) => `${p.severity} ${p.rule}`)

describe('health rules', () => {
  it('is OK when every direction completed recently, nothing failed and the lock is free', () => {
    expect(evaluateHealth(input(), thresholds)).toEqual({state: 'OK', problems: []})
  })

  it('stale: CRITICAL once the last completed pass is older than the threshold, not at it', () => {
    expect(rules(input({directions: [dir({lastOutcomeAt: minutesAgo(18), lastSuccessAt: minutesAgo(18)})]}))).toEqual([])
    const report = evaluateHealth(input({directions: [dir({lastOutcomeAt: minutesAgo(47), lastSuccessAt: minutesAgo(47)})]}), thresholds)
    expect(report.state).toBe('CRITICAL')
    expect(report.problems).toEqual([
      {rule: 'stale', severity: 'CRITICAL', subject: 'push Contacts', message: 'last completed pass 47 min ago (> 18 min)'},
    ])
  })

  it('stale: a partial pass counts as completed (the failures rules report its bad records)', () => {
    const d = dir({lastOutcome: 'partial', lastOutcomeAt: minutesAgo(3), lastSuccessAt: minutesAgo(600)})
    expect(lastCompletedAt(d)).toBe(minutesAgo(3))
    expect(rules(input({directions: [d]}))).toEqual([])
  })

  it('last-failed: OK after one failed attempt between good passes, WARNING once failures last two intervals, then stale takes over as CRITICAL', () => {
    const once = dir({lastOutcome: 'failed', lastOutcomeAt: minutesAgo(1), lastSuccessAt: minutesAgo(7), lastMessage: 'HubSpot daily limit'})
    expect(evaluateHealth(input({directions: [once]}), thresholds)).toEqual({state: 'OK', problems: []})
    const recent = dir({lastOutcome: 'failed', lastOutcomeAt: minutesAgo(1), lastSuccessAt: minutesAgo(13), lastMessage: 'HubSpot daily limit'})
    const report = evaluateHealth(input({directions: [recent]}), thresholds)
    expect(report.state).toBe('WARNING')
    expect(report.problems[0]).toMatchObject({rule: 'last-failed', message: 'last pass failed 1 min ago: HubSpot daily limit'})
    const old = dir({lastOutcome: 'failed', lastOutcomeAt: minutesAgo(1), lastSuccessAt: minutesAgo(30)})
    expect(rules(input({directions: [old]}))).toEqual(['CRITICAL stale'])
  })

  it('a failed attempt after partial passes is judged on the last completed pass, not as never-completed', () => {
    // the outcome row only keeps the newest attempt: partial passes leave no lastSuccessAt behind
    const d = dir({lastOutcome: 'failed', lastOutcomeAt: minutesAgo(1), lastSuccessAt: null, lastCompletedAt: minutesAgo(7), lastMessage: 'HubSpot 503'})
    expect(evaluateHealth(input({directions: [d]}), thresholds)).toEqual({state: 'OK', problems: []})
    expect(rules(input({directions: [{...d, lastCompletedAt: minutesAgo(30)}]}))).toEqual(['CRITICAL stale'])
  })

  it('never-completed: CRITICAL for a direction that was tried and always failed', () => {
    const d = dir({lastOutcome: 'failed', lastOutcomeAt: minutesAgo(1), lastSuccessAt: null, lastMessage: 'token refused'})
    const report = evaluateHealth(input({directions: [d]}), thresholds)
    expect(report.problems).toEqual([
      {rule: 'never-completed', severity: 'CRITICAL', subject: 'push Contacts', message: 'never completed a pass (last attempt 1 min ago failed: token refused)'},
    ])
  })

  it('directions that never ran are not judged; nothing run at all is a WARNING', () => {
    const never = dir({direction: 'pull', lastOutcome: null, lastOutcomeAt: null, lastSuccessAt: null})
    expect(rules(input({directions: [dir(), never]}))).toEqual([])
    expect(rules(input({directions: [never, {...never, module: 'Accounts'}]}))).toEqual(['WARNING no-runs'])
  })

  it('failures: WARNING above maxFailures (not at it); --max-failures overrides', () => {
    expect(rules(input({failures: {open: 3, givenUp: 0}}))).toEqual(['WARNING failures'])
    expect(evaluateHealth(input({failures: {open: 3, givenUp: 0}}), thresholds).problems[0]!.message).toBe('3 open failures (> 0)')
    expect(rules(input({failures: {open: 3, givenUp: 0}}), {...thresholds, maxFailures: 3})).toEqual([])
    expect(rules(input({failures: {open: 4, givenUp: 0}}), {...thresholds, maxFailures: 3})).toEqual(['WARNING failures'])
  })

  it('given-up: CRITICAL whatever maxFailures says (they never heal on their own)', () => {
    expect(rules(input({failures: {open: 1, givenUp: 1}}), {...thresholds, maxFailures: 10})).toEqual(['CRITICAL given-up'])
    expect(rules(input({failures: {open: 2, givenUp: 1}}))).toEqual(['CRITICAL given-up', 'WARNING failures'])
  })

  it('lock-stale: CRITICAL when held longer than lockStaleMinutes; an unknown start is not judged', () => {
    expect(rules(input({lock: {holder: 'push run #3', heldSince: minutesAgo(59)}}))).toEqual([])
    const report = evaluateHealth(input({lock: {holder: 'push run #3', heldSince: minutesAgo(75)}}), thresholds)
    expect(report.problems).toEqual([{rule: 'lock-stale', severity: 'CRITICAL', subject: 'lock', message: 'held by push run #3 for 1 h 15 min (> 1 h)'}])
    expect(rules(input({lock: {holder: 'database connection 9', heldSince: null}}))).toEqual([])
  })

  it('api-daily: WARNING from 90 % of the daily limit, CRITICAL at it', () => {
    expect(rules(input({api: {today: 224_999, dailyLimit: 250_000}}))).toEqual([])
    expect(rules(input({api: {today: 225_000, dailyLimit: 250_000}}))).toEqual(['WARNING api-daily'])
    expect(rules(input({api: {today: 250_000, dailyLimit: 250_000}}))).toEqual(['CRITICAL api-daily'])
  })

  it('daily limits by tier; the day starts at midnight UTC', () => {
    expect(DAILY_API_LIMIT).toEqual({starter: 250_000, professional: 625_000, enterprise: 1_000_000, addon: 1_625_000, unlimited: Number.MAX_SAFE_INTEGER})
    expect(new Date(utcDayStart(Date.parse('2025-06-30T23:59:59.999Z'))).toISOString()).toBe('2025-06-30T00:00:00.000Z')
    expect(new Date(utcDayStart(Date.parse('2025-07-01T00:00:00.000Z'))).toISOString()).toBe('2025-07-01T00:00:00.000Z')
  })

  it('legacy-active: WARNING when the legacy poller ran within three of its periods', () => {
    expect(rules(input({legacy: {lastPollAt: minutesAgo(17), pollFrequencySeconds: 360}}))).toEqual(['WARNING legacy-active'])
    expect(rules(input({legacy: {lastPollAt: minutesAgo(19), pollFrequencySeconds: 360}}))).toEqual([])
    // default period 360 s when the setting is absent
    expect(rules(input({legacy: {lastPollAt: minutesAgo(10)}}))).toEqual(['WARNING legacy-active'])
    expect(rules(input({legacy: {lastPollAt: minutesAgo(100), pollFrequencySeconds: 3600}}))).toEqual(['WARNING legacy-active'])
  })

  it('legacy-syncing: WARNING while hubspot_pollsyncing is set', () => {
    const report = evaluateHealth(input({legacy: {pollSyncing: 'creating', lastPollAt: minutesAgo(600)}}), thresholds)
    expect(report.problems.map((p) => p.rule)).toEqual(['legacy-syncing'])
    expect(report.problems[0]!.message).toContain("'creating'")
  })

  it('orders CRITICAL before WARNING and takes the worst as the state', () => {
    const report = evaluateHealth(
      input({
        failures: {open: 3, givenUp: 0},
        directions: [dir({lastOutcomeAt: minutesAgo(47), lastSuccessAt: minutesAgo(47)})],
        lock: {holder: 'push run #3', heldSince: minutesAgo(90)},
      }),
      thresholds,
    )
    expect(report.state).toBe('CRITICAL')
    expect(report.problems.map((p) => `${p.severity} ${p.rule}`)).toEqual(['CRITICAL stale', 'CRITICAL lock-stale', 'WARNING failures'])
  })
})

describe('the --check line', () => {
  it('reads like a Nagios plugin line, problems first, perfdata after |', () => {
    const report = evaluateHealth(
      input({failures: {open: 3, givenUp: 0}, directions: [dir({lastOutcomeAt: minutesAgo(47), lastSuccessAt: minutesAgo(47)})]}),
      thresholds,
    )
    const line = checkLine({report, okSummary: 'unused', perfdata: [{label: 'open_failures', value: 3, warn: 0, min: 0}]})
    expect(line).toBe('CBHS CRITICAL - push Contacts: last completed pass 47 min ago (> 18 min); failures: 3 open failures (> 0) | open_failures=3;0;;0;')
  })

  it('says OK with the summary, keeps "|" out of the text, and caps the list at three problems', () => {
    expect(checkLine({report: {state: 'OK', problems: []}, okSummary: 'all in step'})).toBe('CBHS OK - all in step')
    const many = evaluateHealth(
      input({
        directions: (['Accounts', 'Contacts', 'Leads', 'Potentials'] as const).map((module) => dir({module, lastOutcomeAt: minutesAgo(60), lastSuccessAt: minutesAgo(60)})),
      }),
      thresholds,
    )
    const line = checkLine({report: many, okSummary: ''})
    expect(line).toMatch(/^CBHS CRITICAL - push Accounts: .*; \(\+1 more: cbhs status\)$/)
    const piped = checkLine({report: {state: 'WARNING', problems: [{rule: 'last-failed', severity: 'WARNING', subject: 's', message: 'a|b\nc'}]}, okSummary: ''})
    expect(piped).toBe('CBHS WARNING - s: a/b c')
  })

  it('maps errors to Nagios states: unreachable database CRITICAL, anything else UNKNOWN', () => {
    expect(NAGIOS_EXIT).toEqual({OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3})
    expect(checkStateForExit(4)).toBe('CRITICAL')
    for (const code of [1, 2, 3]) expect(checkStateForExit(code)).toBe('UNKNOWN')
  })

  it('formats ages for people', () => {
    expect([0, 45_000, 47 * 60_000, 125 * 60_000, 120 * 60_000, 76 * 3_600_000].map(formatAge)).toEqual(['0 s', '45 s', '47 min', '2 h 5 min', '2 h', '3 d 4 h'])
  })
})
