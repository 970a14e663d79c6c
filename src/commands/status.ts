import type {FailureEntry} from '../sync/ports.js'
import {Errors, Flags} from '@oclif/core'
import {CbhsCommand, describeError} from '../base-command.js'
import type {CbhsConfig, HubSpotTier} from '../config.js'
import {openDatabase, type Database} from '../context.js'
import {mirrorFailureToMessageQueue} from '../corebos/errorlog.js'
import {DbPassLock, lockNameFor, type LockHolder} from '../corebos/lock.js'
import {readLegacySettings} from '../corebos/settings.js'
import type {RunOutcome} from '../corebos/state.js'
import {EXIT, UsageError, redact} from '../errors.js'
import {
  DAILY_API_LIMIT,
  NAGIOS_EXIT,
  checkLine,
  checkStateForExit,
  evaluateHealth,
  formatAge,
  hasRun,
  lastCompletedAt,
  utcDayStart,
  type HealthProblem,
  type HealthThresholds,
} from '../health.js'
import {describeHolder, renderStatus} from '../output/status.js'
import {PULL_MODULES} from '../sync/streams.js'
import {naiveToEpochMs} from '../sync/time.js'
import {CRM_MODULES, OBJECT_TYPE_OF_MODULE, type CrmModule, type Direction} from '../sync/types.js'

/**
 * The `--json` result of `cbhs status` (schema version 1). A public API: add fields freely, but
 * renaming or removing one bumps schemaVersion. Times are ISO 8601 instants in UTC.
 */
export interface StatusResult {
  schemaVersion: 1
  generatedAt: string
  /** where the state was read; never the user or password */
  database: {host: string; port: number; name: string}
  health: {
    state: 'OK' | 'WARNING' | 'CRITICAL'
    /** the line `--check` prints */
    summary: string
    problems: HealthProblem[]
    thresholds: HealthThresholds
  }
  /** Accounts, Contacts, Leads, Potentials, in that order */
  modules: ModuleStatus[]
  failures: {
    /** open entries, given-up ones included */
    open: number
    /** open entries whose next retry time has come */
    due: number
    givenUp: number
    /** the open entries, most recently failed first, at most FAILURE_LIST_MAX */
    entries: FailureInfo[]
    truncated: boolean
  }
  api: {
    /** HubSpot calls of cbhs runs finished since dayStart (a running pass counts when it finishes) */
    today: number
    dailyLimit: number
    tier: HubSpotTier
    limitFrom: 'tier' | 'flag'
    /** midnight UTC; HubSpot itself resets at midnight in the portal's time zone */
    dayStart: string
  }
  lock: LockStatus
  /** newest first, --runs N of them (default 10) */
  runs: RunInfo[]
  legacy: {found: boolean; lastPollAt: string | null; pollFrequencySeconds: number | null; pollSyncing: string | null}
  /** what --retry, --dismiss and --mirror-errorlog did */
  actions: {retried: number; dismissed: number; mirrored: number; unknownIds: number[]}
}

export interface ModuleStatus {
  module: CrmModule
  /** links not archived (records paired with a HubSpot object) */
  linked: number
  archivedLinks: number
  push: DirectionStatus
  pull: DirectionStatus
}

export interface DirectionStatus {
  /** as stored: push a naive coreBOS datetime (install timezone), pull an ISO instant */
  watermark: string | null
  watermarkAt: string | null
  /** now − watermarkAt; the watermark only moves when records change, so a quiet CRM lags without harm */
  behindSeconds: number | null
  /** Leads are pulled with Contacts (one HubSpot contacts stream): its watermark is shown */
  watermarkOf: CrmModule | null
  /** an unfinished pass left a position to resume from */
  resumable: boolean
  lastRunId: number | null
  lastOutcome: RunOutcome | null
  lastOutcomeAt: string | null
  /** last pass that synced everything */
  lastSuccessAt: string | null
  /** last pass that finished, ok or partial: what staleness is measured on */
  lastCompletedAt: string | null
  lastMessage: string | null
  /** push: opted-in records changed since the watermark (what the next push reads); pull: null (needs HubSpot) */
  pending: number | null
  /** open ledger entries, given-up ones included */
  failed: number
  givenUp: number
  /** true when the `stale` or `never-completed` rule fires */
  stale: boolean
}

/** A ledger entry as status shows it (nextRetryAt is null once given up). */
export type FailureInfo = Omit<FailureEntry, 'resolvedAt'>

export interface RunInfo {
  id: number
  command: string
  /** finished; running (holds the lock now); unfinished (died: the next pass closes it) */
  state: 'finished' | 'running' | 'unfinished'
  startedAt: string
  finishedAt: string | null
  durationSeconds: number | null
  exitCode: number | null
  dryRun: boolean
  apiCalls: number
  /** '<direction>.<module>.<counter>' → n, e.g. 'push.Contacts.created' */
  counts: Record<string, number>
  message: string | null
  host: string | null
  pid: number | null
}

export interface LockStatus {
  held: boolean
  /** the holder's open run start; null when free or when the holder recorded no run (e.g. setup) */
  since: string | null
  heldSeconds: number | null
  holder: {
    connectionId: number
    user: string | null
    host: string | null
    run: {id: number; command: string; startedAt: string; host: string | null; pid: number | null} | null
  } | null
}

export const FAILURE_LIST_MAX = 500
const DEFAULT_RUNS = 10
/** cb_settings key: lastFailedAt of the newest failure already mirrored to the errorlog channel */
const MIRROR_SETTING = 'cbhs_errorlog_mirrored_until'

export default class Status extends CbhsCommand<typeof Status> {
  static override description = `show sync health: watermarks, lag, failures, API use, the lock; exit 5 when unhealthy

Reads only the coreBOS database (no HubSpot token needed). Per module and direction: the watermark
and how far behind now it is, the last completed pass and last outcome, linked, pending and failed
records. Then the failures ledger summary, HubSpot API calls today (since 00:00 UTC) against the
tier's daily limit, and who holds the pass lock since when.

Exit codes: 0 healthy, 5 unhealthy (a health rule fired), 3 not set up, 4 database unreachable.
With --check: one Nagios line on stdout and the plugin exit codes 0 OK, 1 WARNING, 2 CRITICAL,
3 UNKNOWN (database unreachable is CRITICAL; a configuration problem is UNKNOWN).`

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --check --stale-after 30',
    '<%= config.bin %> <%= command.id %> --failures',
    '<%= config.bin %> <%= command.id %> --retry all',
    '<%= config.bin %> <%= command.id %> --dismiss 42',
    '<%= config.bin %> <%= command.id %> --runs 20',
    '<%= config.bin %> <%= command.id %> --json',
  ]

  static override flags = {
    check: Flags.boolean({
      description: 'monitoring mode: one summary line and Nagios exit codes (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)',
      exclusive: ['retry', 'dismiss', 'mirror-errorlog'],
    }),
    failures: Flags.boolean({description: 'list the open failures ledger (record, direction, error, attempts, next retry, given up)'}),
    retry: Flags.string({
      description: "make failures due now, given-up ones included: a failure id or 'all' (repeatable); the next pass retries them",
      multiple: true,
    }),
    dismiss: Flags.integer({description: 'close a failure without syncing the record (repeatable)', multiple: true, min: 1}),
    runs: Flags.integer({description: 'show the last N runs: counts, API calls, duration, exit code', min: 1}),
    'stale-after': Flags.integer({description: 'minutes without a completed pass before a direction is stale (default: staleAfterIntervals × cronIntervalMinutes)', min: 1}),
    'max-failures': Flags.integer({description: 'open failures tolerated before WARNING (default: health.maxFailures)', min: 0}),
    'daily-limit': Flags.integer({description: "the portal's daily HubSpot API limit (default: by hubspot.tier)", min: 1, env: 'CBHS_DAILY_LIMIT'}),
    'mirror-errorlog': Flags.boolean({description: "write open failures to coreBOS's message queue (channel errorlog), once per failure and attempt"}),
  }

  private get checkMode(): boolean {
    // flags are not parsed yet when parsing itself failed
    return this.flags?.check ?? this.argv.includes('--check')
  }

  async run(): Promise<StatusResult> {
    const config = this.loadConfig()
    const thresholds: HealthThresholds = {
      staleAfterMinutes: this.flags['stale-after'] ?? config.health.staleAfterIntervals * config.health.cronIntervalMinutes,
      maxFailures: this.flags['max-failures'] ?? config.health.maxFailures,
      lockStaleMinutes: config.health.lockStaleMinutes,
    }
    const retry = parseRetry(this.flags.retry)
    const db = await openDatabase(config)
    try {
      // the state tables first: without them (`setup` not run) this stops with exit 3
      await db.state.listWatermarks()
      const actions: StatusResult['actions'] = {retried: 0, dismissed: 0, mirrored: 0, unknownIds: []}
      if (retry) await this.retry(db, retry, actions)
      if (this.flags.dismiss?.length) await this.dismiss(db, this.flags.dismiss, actions)

      const result = await collectStatus(db, config, thresholds, {
        nowMs: Date.now(),
        runs: this.flags.runs ?? DEFAULT_RUNS,
        dailyLimit: this.flags['daily-limit'],
      })
      const status = result.status
      status.actions = actions
      for (const warning of result.legacyWarnings) this.note(warning)
      if (this.flags['mirror-errorlog']) actions.mirrored = await mirrorErrorlog(db, config, status.failures.entries)

      if (this.checkMode) {
        process.exitCode = NAGIOS_EXIT[status.health.state]
        if (!this.jsonEnabled()) process.stdout.write(redact(status.health.summary) + '\n')
        return status
      }
      this.print(
        renderStatus(status, {
          nowMs: Date.parse(status.generatedAt),
          timezone: config.timezone,
          failures: this.flags.failures,
          runs: this.flags.runs !== undefined,
        }),
      )
      if (actions.unknownIds.length > 0) process.exitCode = EXIT.USAGE
      else if (retry || this.flags.dismiss?.length || this.flags['mirror-errorlog']) process.exitCode = EXIT.OK
      else process.exitCode = status.health.state === 'OK' ? EXIT.OK : EXIT.PARTIAL
      return status
    } finally {
      await db.close().catch(() => undefined)
    }
  }

  private async retry(db: Database, ids: number[] | 'all', actions: StatusResult['actions']): Promise<void> {
    if (ids === 'all') {
      actions.retried = await db.state.retryNow('all')
      process.stderr.write(`${actions.retried} failure(s) due now: the next pass retries them.\n`)
      return
    }
    for (const id of ids) {
      const n = await db.state.retryNow([id])
      if (n === 0) actions.unknownIds.push(id)
      actions.retried += n
    }
    if (actions.retried > 0) process.stderr.write(`${actions.retried} failure(s) due now: the next pass retries them.\n`)
    this.noteUnknown(ids, actions)
  }

  private async dismiss(db: Database, ids: number[], actions: StatusResult['actions']): Promise<void> {
    for (const id of ids) {
      const n = await db.state.dismiss([id])
      if (n === 0 && !actions.unknownIds.includes(id)) actions.unknownIds.push(id)
      actions.dismissed += n
    }
    if (actions.dismissed > 0) process.stderr.write(`${actions.dismissed} failure(s) dismissed: those records stay out of step until they change again.\n`)
    this.noteUnknown(ids, actions)
  }

  private noteUnknown(ids: number[], actions: StatusResult['actions']): void {
    const unknown = ids.filter((id) => actions.unknownIds.includes(id))
    if (unknown.length > 0) this.note(`No open failure with id ${unknown.join(', ')}; see \`cbhs status --failures\`.`)
  }

  protected override async catch(err: Error & {exitCode?: number}): Promise<void> {
    if (!this.checkMode || err instanceof Errors.ExitError) return super.catch(err)
    // a monitoring check answers in Nagios terms whatever went wrong, on stdout where Nagios reads
    const {exitCode, error} = describeError(err)
    const state = checkStateForExit(exitCode)
    process.exitCode = NAGIOS_EXIT[state]
    if (this.jsonEnabled()) {
      this.logJson({...this.toErrorJson(err), status: NAGIOS_EXIT[state]})
      return
    }
    process.stdout.write(redact(`CBHS ${state} - ${error.message.replace(/[\r\n]+/g, ' ').replace(/\|/g, '/')}`) + '\n')
    if (error.suggestion) process.stderr.write(redact(`Try: ${error.suggestion}\n`))
  }
}

function parseRetry(values: string[] | undefined): number[] | 'all' | null {
  if (!values || values.length === 0) return null
  if (values.some((v) => v.trim().toLowerCase() === 'all')) return 'all'
  return values.map((v) => {
    const id = Number(v)
    if (!Number.isInteger(id) || id < 1) throw new UsageError(`--retry takes a failure id or 'all', got '${v}'.`, 'See the ids with `cbhs status --failures`.')
    return id
  })
}

/** Everything status shows, read from the database; health evaluated at `nowMs`. */
export async function collectStatus(
  db: Database,
  config: CbhsConfig,
  thresholds: HealthThresholds,
  options: {nowMs: number; runs: number; dailyLimit?: number},
): Promise<{status: StatusResult; legacyWarnings: string[]}> {
  const {nowMs} = options
  const lockName = lockNameFor(db.settings.database)
  const dayStart = utcDayStart(nowMs)
  const [watermarks, linkCounts, summary, counts, entries, runs, holder, apiToday, legacy] = await Promise.all([
    db.state.listWatermarks(),
    db.state.linkCounts(),
    db.state.failureSummary(),
    db.state.countFailures(),
    db.state.listFailures({limit: FAILURE_LIST_MAX}),
    db.state.listRuns(options.runs),
    new DbPassLock(db.pool).describeHolder(lockName),
    db.state.apiCallsSince(dayStart),
    readLegacySettings(db.pool),
  ])

  const wm = new Map(watermarks.map((w) => [`${w.direction}:${w.module}`, w]))
  const fs = new Map(summary.map((s) => [`${s.direction}:${s.module}`, s]))
  const modules: ModuleStatus[] = []
  for (const module of CRM_MODULES) {
    const links = linkCounts.find((l) => l.module === module)
    const direction = async (dir: Direction): Promise<DirectionStatus> => {
      const own = wm.get(`${dir}:${module}`)
      // Leads ride on the contacts stream, whose watermark is kept under Contacts
      const streamOwner = dir === 'pull' ? PULL_MODULES[OBJECT_TYPE_OF_MODULE[module]].watermark : module
      const mark = wm.get(`${dir}:${streamOwner}`)
      const watermark = mark?.value ?? null
      const watermarkMs = watermark === null ? null : watermarkInstant(watermark, dir, config.timezone)
      const failures = fs.get(`${dir}:${module}`)
      const outcome = {
        lastOutcome: own?.lastOutcome ?? null,
        lastOutcomeAt: own?.lastOutcomeAt ?? null,
        lastSuccessAt: own?.lastSuccessAt ?? null,
      }
      return {
        watermark,
        watermarkAt: watermarkMs === null ? null : new Date(watermarkMs).toISOString(),
        behindSeconds: watermarkMs === null ? null : Math.max(0, Math.round((nowMs - watermarkMs) / 1000)),
        watermarkOf: streamOwner === module ? null : streamOwner,
        resumable: Boolean(mark?.cursor),
        lastRunId: own?.lastRunId ?? null,
        ...outcome,
        lastCompletedAt: lastCompletedAt(outcome),
        lastMessage: own?.lastMessage ?? null,
        pending: dir === 'push' ? await db.records.countChanged(module, {after: watermark, optIn: config.sync.optIn[module]}) : null,
        failed: failures?.open ?? 0,
        givenUp: failures?.givenUp ?? 0,
        stale: false,
      }
    }
    modules.push({
      module,
      linked: (links?.total ?? 0) - (links?.archived ?? 0),
      archivedLinks: links?.archived ?? 0,
      push: await direction('push'),
      pull: await direction('pull'),
    })
  }

  const lock = lockStatus(holder, nowMs)
  const dailyLimit = options.dailyLimit ?? DAILY_API_LIMIT[config.hubspot.tier]
  const health = evaluateHealth(
    {
      nowMs,
      directions: modules.flatMap((m) => (['push', 'pull'] as const).map((d) => ({module: m.module, direction: d, ...m[d]}))),
      failures: {open: counts.open, givenUp: counts.givenUp},
      lock: lock.held ? {holder: describeHolder(lock), heldSince: lock.since} : null,
      api: {today: apiToday, dailyLimit},
      legacy: {lastPollAt: legacy.lastPollAt, pollFrequencySeconds: legacy.pollFrequencySeconds, pollSyncing: legacy.pollSyncing},
    },
    thresholds,
  )
  for (const p of health.problems) {
    if (p.rule !== 'stale' && p.rule !== 'never-completed') continue
    const [dir, module] = p.subject.split(' ') as [Direction, CrmModule]
    const m = modules.find((x) => x.module === module)
    if (m) m[dir].stale = true
  }

  const status: StatusResult = {
    schemaVersion: 1,
    generatedAt: new Date(nowMs).toISOString(),
    database: {host: db.settings.host, port: db.settings.port, name: db.settings.database},
    health: {
      state: health.state,
      summary: checkLine({report: health, okSummary: okSummary(modules, counts.open, apiToday, dailyLimit, nowMs), perfdata: perfdata(modules, counts, apiToday, dailyLimit, thresholds, lock, nowMs)}),
      problems: health.problems,
      thresholds,
    },
    modules,
    failures: {
      open: counts.open,
      due: counts.due,
      givenUp: counts.givenUp,
      entries: entries.map((f) => ({
        id: f.id,
        module: f.module,
        direction: f.direction,
        crmid: f.crmid,
        hubspotId: f.hubspotId,
        category: f.category,
        message: f.message,
        attempts: f.attempts,
        firstFailedAt: f.firstFailedAt,
        lastFailedAt: f.lastFailedAt,
        nextRetryAt: f.nextRetryAt,
        givenUp: f.givenUp,
      })),
      truncated: counts.open > entries.length,
    },
    api: {
      today: apiToday,
      dailyLimit,
      tier: config.hubspot.tier,
      limitFrom: options.dailyLimit === undefined ? 'tier' : 'flag',
      dayStart: new Date(dayStart).toISOString(),
    },
    lock,
    runs: runs.map((r) => {
      const started = Date.parse(r.startedAt)
      const finished = r.finishedAt ? Date.parse(r.finishedAt) : null
      const running = finished === null && lock.holder?.run?.id === r.id
      return {
        id: r.id,
        command: r.command,
        state: finished !== null ? 'finished' : running ? 'running' : 'unfinished',
        startedAt: r.startedAt,
        finishedAt: r.finishedAt,
        durationSeconds: finished === null ? null : Math.round((finished - started) / 100) / 10,
        exitCode: r.exitCode,
        dryRun: r.dryRun,
        apiCalls: r.apiCalls,
        counts: r.counts,
        message: r.message,
        host: r.host,
        pid: r.pid,
      }
    }),
    legacy: {
      found: legacy.found,
      lastPollAt: legacy.lastPollAt ?? null,
      pollFrequencySeconds: legacy.pollFrequencySeconds ?? null,
      pollSyncing: legacy.pollSyncing ?? null,
    },
    actions: {retried: 0, dismissed: 0, mirrored: 0, unknownIds: []},
  }
  return {status, legacyWarnings: legacy.warnings}
}

function watermarkInstant(value: string, direction: Direction, timezone: string): number | null {
  try {
    const ms = direction === 'push' ? naiveToEpochMs(value, timezone) : Date.parse(value)
    return Number.isNaN(ms) ? null : ms
  } catch {
    return null
  }
}

function lockStatus(holder: LockHolder | null, nowMs: number): LockStatus {
  if (!holder) return {held: false, since: null, heldSeconds: null, holder: null}
  const since = holder.run?.startedAt ?? null
  const sinceMs = since ? Date.parse(since) : NaN
  return {
    held: true,
    since,
    heldSeconds: Number.isNaN(sinceMs) ? null : Math.max(0, Math.round((nowMs - sinceMs) / 1000)),
    holder: {connectionId: holder.connectionId, user: holder.user ?? null, host: holder.host ?? null, run: holder.run ?? null},
  }
}

function okSummary(modules: ModuleStatus[], open: number, apiToday: number, dailyLimit: number, nowMs: number): string {
  const ran = modules.flatMap((m) => [m.push, m.pull]).filter(hasRun)
  const oldest = ran.map((d) => Date.parse(d.lastCompletedAt ?? '')).filter((n) => !Number.isNaN(n))
  const age = oldest.length > 0 ? `, oldest last pass ${formatAge(nowMs - Math.min(...oldest))} ago` : ''
  return `${ran.length} module direction(s) in step${age}; ${open} open failure(s); ${apiToday}/${dailyLimit} API calls today`
}

function perfdata(
  modules: ModuleStatus[],
  counts: {open: number; givenUp: number},
  apiToday: number,
  dailyLimit: number,
  thresholds: HealthThresholds,
  lock: LockStatus,
  nowMs: number,
): NonNullable<Parameters<typeof checkLine>[0]['perfdata']> {
  const ages = modules
    .flatMap((m) => [m.push, m.pull])
    .filter(hasRun)
    .map((d) => Date.parse(d.lastCompletedAt ?? ''))
    .filter((n) => !Number.isNaN(n))
    .map((ms) => Math.max(0, Math.round((nowMs - ms) / 1000)))
  const stale = thresholds.staleAfterMinutes * 60
  return [
    {label: 'open_failures', value: counts.open, warn: thresholds.maxFailures, min: 0},
    {label: 'given_up', value: counts.givenUp, crit: 0, min: 0},
    {label: 'api_calls_today', value: apiToday, warn: Math.floor(dailyLimit * 0.9), crit: dailyLimit, min: 0, max: dailyLimit},
    {label: 'oldest_pass_age', value: ages.length > 0 ? Math.max(...ages) : 0, unit: 's', crit: stale, min: 0},
    {label: 'lock_held', value: lock.heldSeconds ?? 0, unit: 's', crit: thresholds.lockStaleMinutes * 60, min: 0},
  ]
}

/**
 * Mirrors open failures to the errorlog channel once per failure and attempt: every attempt moves
 * an entry's lastFailedAt, so entries newer than the last one mirrored (kept in cb_settings) are
 * exactly the attempts not mirrored yet.
 */
async function mirrorErrorlog(db: Database, config: CbhsConfig, entries: FailureInfo[]): Promise<number> {
  const [rows] = await db.pool.query('SELECT setting_value FROM cb_settings WHERE setting_key = ?', [MIRROR_SETTING])
  const until = (rows as Array<{setting_value: string | null}>)[0]?.setting_value ?? ''
  const fresh = entries.filter((f) => !until || f.lastFailedAt > until).reverse()
  let written = 0
  for (const f of fresh) {
    written += await mirrorFailureToMessageQueue(
      db.pool,
      {module: f.module, direction: f.direction, crmid: f.crmid, hubspotId: f.hubspotId, category: f.category, message: f.message, attempts: f.attempts},
      config.timezone,
    )
  }
  const newest = fresh.reduce((max, f) => (f.lastFailedAt > max ? f.lastFailedAt : max), until)
  if (newest !== until) {
    await db.pool.query(
      'INSERT INTO cb_settings (setting_key, setting_value) VALUES (?, ?) ON DUPLICATE KEY UPDATE setting_value = VALUES(setting_value)',
      [MIRROR_SETTING, newest],
    )
  }
  return written
}
