/**
 * The health rules of `cbhs status` and `cbhs status --check`, as pure functions of a snapshot
 * and a clock, so every rule is unit-tested without a database.
 *
 * Rules (README "Monitoring"):
 * - stale (CRITICAL): a module/direction that has run before has not completed a pass for longer
 *   than the stale threshold (staleAfterIntervals × cronIntervalMinutes, or --stale-after).
 *   "Completed" counts partial passes too: a pass that synced everything but one bad record is
 *   running fine, and the failures rules below report the bad record.
 * - never-completed (CRITICAL): a direction was attempted but never completed a pass.
 * - last-failed (WARNING): the last attempt of a direction stopped (HubSpot down, daily limit, …)
 *   and no pass completed for longer than failedAttemptsMinutes (two cron intervals: one failed
 *   attempt between good passes heals on the next one and is no alarm); it turns CRITICAL through
 *   `stale` if it goes on. The last completed pass and the last attempt are judged separately.
 * - no-runs (WARNING): nothing has ever run since `setup` (cron not installed yet?).
 * - failures (WARNING): more open ledger entries than maxFailures (given-up ones included).
 * - given-up (CRITICAL): an entry used all its attempts; it never heals on its own, a person has to
 *   fix the record and `--retry` it, or `--dismiss` it.
 * - lock-stale (CRITICAL): a pass has held the lock for longer than lockStaleMinutes.
 * - api-daily (WARNING at 90 %, CRITICAL at 100 % of the tier's daily limit).
 * - legacy-active / legacy-syncing (WARNING): the legacy PHP poller still runs, or left its
 *   hubspot_pollsyncing flag set: two integrations would write the same records.
 */
import type {HubSpotTier} from './config.js'
import type {RunOutcome} from './corebos/state.js'
import type {CrmModule, Direction} from './sync/types.js'

export type Severity = 'WARNING' | 'CRITICAL'
export type HealthState = 'OK' | Severity | 'UNKNOWN'

/** Nagios plugin exit codes. */
export const NAGIOS_EXIT: Readonly<Record<HealthState, number>> = {OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3}

export type HealthRule =
  | 'stale'
  | 'never-completed'
  | 'last-failed'
  | 'no-runs'
  | 'failures'
  | 'given-up'
  | 'lock-stale'
  | 'api-daily'
  | 'legacy-active'
  | 'legacy-syncing'

export interface HealthProblem {
  rule: HealthRule
  severity: Severity
  /** what it is about: 'push Contacts', 'failures', 'lock', 'api', 'legacy' */
  subject: string
  message: string
}

export interface HealthThresholds {
  staleAfterMinutes: number
  /** a failed last attempt is a WARNING once no pass completed for this long */
  failedAttemptsMinutes: number
  maxFailures: number
  lockStaleMinutes: number
}

export interface DirectionHealthInput {
  module: CrmModule
  direction: Direction
  lastOutcome: RunOutcome | null
  lastOutcomeAt: string | null
  lastSuccessAt: string | null
  /**
   * the last pass that finished (ok or partial) when the caller knows it from elsewhere (the run
   * records): the outcome row keeps only the newest attempt, so after a failed one it is otherwise lost
   */
  lastCompletedAt?: string | null
  lastMessage: string | null
}

export interface HealthInput {
  nowMs: number
  directions: DirectionHealthInput[]
  failures: {open: number; givenUp: number}
  /** null when nobody holds the lock; heldSince null when the holder recorded no run */
  lock: {holder: string; heldSince: string | null} | null
  api: {today: number; dailyLimit: number}
  legacy: {lastPollAt?: string; pollFrequencySeconds?: number; pollSyncing?: string}
}

export interface HealthReport {
  state: 'OK' | Severity
  /** most severe first */
  problems: HealthProblem[]
}

/** The legacy poller's default period (cb_settings hubspot_pollfrequency). */
export const LEGACY_DEFAULT_POLL_SECONDS = 360
/** a legacy poll within this many of its periods means it still runs */
export const LEGACY_RECENT_POLLS = 3
export const API_WARN_RATIO = 0.9

/**
 * Daily API calls per portal by tier (reference hubspot-api.md §3.1). 'addon' is one API limit
 * increase add-on, which HubSpot sells on Professional or Enterprise: we assume the smaller base
 * (Professional) so the warning comes early rather than late; --daily-limit sets the exact figure.
 */
export const DAILY_API_LIMIT: Readonly<Record<HubSpotTier, number>> = {
  starter: 250_000,
  professional: 625_000,
  enterprise: 1_000_000,
  addon: 625_000 + 1_000_000,
  // a stand-in without limits: nothing to warn about
  unlimited: Number.MAX_SAFE_INTEGER,
}

/** Midnight UTC of the day holding `nowMs`: the boundary of "API calls today". */
export function utcDayStart(nowMs: number): number {
  const d = new Date(nowMs)
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate())
}

/** When a direction last finished a pass, ok or partial (a failed pass is not finished). */
export function lastCompletedAt(d: Pick<DirectionHealthInput, 'lastOutcome' | 'lastOutcomeAt' | 'lastSuccessAt' | 'lastCompletedAt'>): string | null {
  if (d.lastCompletedAt !== undefined) return d.lastCompletedAt
  if ((d.lastOutcome === 'ok' || d.lastOutcome === 'partial') && d.lastOutcomeAt) return d.lastOutcomeAt
  // after a failed pass only the last fully ok one is known (partial ones in between are not kept)
  return d.lastSuccessAt
}

/** A direction that has run at least once; directions never run (pull not scheduled, say) are not judged. */
export function hasRun(d: Pick<DirectionHealthInput, 'lastOutcome' | 'lastSuccessAt'>): boolean {
  return d.lastOutcome !== null || d.lastSuccessAt !== null
}

/** '45 s', '47 min', '2 h 5 min', '3 d 4 h'. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s} s`
  const min = Math.floor(s / 60)
  if (min < 60) return `${min} min`
  const h = Math.floor(min / 60)
  if (h < 48) return min % 60 === 0 ? `${h} h` : `${h} h ${min % 60} min`
  const d = Math.floor(h / 24)
  return h % 24 === 0 ? `${d} d` : `${d} d ${h % 24} h`
}

function ageMs(iso: string | null | undefined, nowMs: number): number | null {
  if (!iso) return null
  const ms = Date.parse(iso)
  return Number.isNaN(ms) ? null : nowMs - ms
}

function clip(text: string, width = 80): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat
}

export function evaluateHealth(input: HealthInput, thresholds: HealthThresholds): HealthReport {
  const problems: HealthProblem[] = []
  const now = input.nowMs
  const staleMs = thresholds.staleAfterMinutes * 60_000
  const ran = input.directions.filter(hasRun)

  if (ran.length === 0 && input.directions.length > 0) {
    problems.push({rule: 'no-runs', severity: 'WARNING', subject: 'sync', message: 'no pass has run yet (is the cron job installed?)'})
  }
  for (const d of ran) {
    const subject = `${d.direction} ${d.module}`
    const completed = lastCompletedAt(d)
    const age = ageMs(completed, now)
    if (age === null) {
      const tried = ageMs(d.lastOutcomeAt, now)
      problems.push({
        rule: 'never-completed',
        severity: 'CRITICAL',
        subject,
        message: `never completed a pass${tried === null ? '' : ` (last attempt ${formatAge(tried)} ago failed${d.lastMessage ? `: ${clip(d.lastMessage)}` : ''})`}`,
      })
      continue
    }
    if (age > staleMs) {
      problems.push({
        rule: 'stale',
        severity: 'CRITICAL',
        subject,
        message: `last completed pass ${formatAge(age)} ago (> ${formatAge(staleMs)})`,
      })
    } else if (d.lastOutcome === 'failed' && age > thresholds.failedAttemptsMinutes * 60_000) {
      const tried = ageMs(d.lastOutcomeAt, now)
      problems.push({
        rule: 'last-failed',
        severity: 'WARNING',
        subject,
        message: `last pass failed${tried === null ? '' : ` ${formatAge(tried)} ago`}${d.lastMessage ? `: ${clip(d.lastMessage)}` : ''}`,
      })
    }
  }

  if (input.failures.givenUp > 0) {
    problems.push({
      rule: 'given-up',
      severity: 'CRITICAL',
      subject: 'failures',
      message: `${input.failures.givenUp} failure${input.failures.givenUp === 1 ? '' : 's'} given up (no more automatic retries: fix the record, then \`cbhs status --retry <id>\`)`,
    })
  }
  if (input.failures.open > thresholds.maxFailures) {
    problems.push({
      rule: 'failures',
      severity: 'WARNING',
      subject: 'failures',
      message: `${input.failures.open} open failure${input.failures.open === 1 ? '' : 's'} (> ${thresholds.maxFailures})`,
    })
  }

  if (input.lock) {
    const held = ageMs(input.lock.heldSince, now)
    if (held !== null && held > thresholds.lockStaleMinutes * 60_000) {
      problems.push({
        rule: 'lock-stale',
        severity: 'CRITICAL',
        subject: 'lock',
        message: `held by ${input.lock.holder} for ${formatAge(held)} (> ${formatAge(thresholds.lockStaleMinutes * 60_000)})`,
      })
    }
  }

  const {today, dailyLimit} = input.api
  if (dailyLimit > 0 && today >= dailyLimit * API_WARN_RATIO) {
    problems.push({
      rule: 'api-daily',
      severity: today >= dailyLimit ? 'CRITICAL' : 'WARNING',
      subject: 'api',
      message: `${today} of ${dailyLimit} daily HubSpot API calls used today (${Math.floor((today / dailyLimit) * 100)} %)`,
    })
  }

  const pollMs = (input.legacy.pollFrequencySeconds ?? LEGACY_DEFAULT_POLL_SECONDS) * 1000
  const pollAge = ageMs(input.legacy.lastPollAt, now)
  if (pollAge !== null && pollAge <= LEGACY_RECENT_POLLS * pollMs) {
    problems.push({
      rule: 'legacy-active',
      severity: 'WARNING',
      subject: 'legacy',
      message: `the legacy coreBOS HubSpot poller ran ${formatAge(Math.max(0, pollAge))} ago: two integrations are writing the same records; stop it (cb_settings hubspot_isactive = 0, remove its message-queue wake-ups)`,
    })
  }
  if (input.legacy.pollSyncing) {
    problems.push({
      rule: 'legacy-syncing',
      severity: 'WARNING',
      subject: 'legacy',
      message: `cb_settings hubspot_pollsyncing is '${clip(input.legacy.pollSyncing, 20)}': the legacy integration is writing, or left the flag stuck (it then drops coreBOS changes); if it no longer runs, delete that setting`,
    })
  }

  const rank = (p: HealthProblem) => (p.severity === 'CRITICAL' ? 0 : 1)
  problems.sort((a, b) => rank(a) - rank(b))
  const state = problems.length === 0 ? 'OK' : problems[0]!.severity
  return {state, problems}
}

export interface CheckLineInput {
  report: HealthReport
  /** shown when everything is OK */
  okSummary: string
  perfdata?: Array<{label: string; value: number; unit?: string; warn?: number; crit?: number; min?: number; max?: number}>
}

/** One Nagios plugin line: `CBHS CRITICAL - push Contacts: last completed pass 47 min ago (> 18 min); … | perfdata`. */
export function checkLine(input: CheckLineInput): string {
  const {report} = input
  const shown = 3
  let text: string
  if (report.problems.length === 0) text = input.okSummary
  else {
    text = report.problems
      .slice(0, shown)
      .map((p) => `${p.subject}: ${p.message}`)
      .join('; ')
    if (report.problems.length > shown) text += `; (+${report.problems.length - shown} more: cbhs status)`
  }
  // '|' starts perfdata for Nagios: it must not appear in the text
  let line = `CBHS ${report.state} - ${text.replace(/\|/g, '/').replace(/[\r\n]+/g, ' ')}`
  if (input.perfdata && input.perfdata.length > 0) {
    const num = (n: number | undefined) => (n === undefined ? '' : String(n))
    line += ' | ' + input.perfdata.map((p) => `${p.label}=${p.value}${p.unit ?? ''};${num(p.warn)};${num(p.crit)};${num(p.min)};${num(p.max)}`).join(' ')
  }
  return line
}

/**
 * The Nagios state for an error that stopped the check. The plugin guidelines keep UNKNOWN for the
 * check's own trouble (bad flags, bad configuration, a bug) and want higher-level failures such as
 * a refused connection reported as the service's state: a coreBOS database cbhs cannot reach means
 * no pass can run either, so that is CRITICAL.
 */
export function checkStateForExit(exitCode: number): HealthState {
  return exitCode === 4 ? 'CRITICAL' : 'UNKNOWN'
}
