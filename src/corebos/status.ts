/**
 * What `cbhs status` reads from the coreBOS database: watermarks and outcomes, the failures ledger,
 * runs, the lock, API use, the legacy poller; and the queries the pass commands share with it (the
 * ledger after a run, opt-in counts). The command only parses flags and prints.
 */
import type {CbhsConfig, HubSpotTier} from '../config.js'
import type {Database} from '../context.js'
import {
  DAILY_API_LIMIT,
  checkLine,
  evaluateHealth,
  formatAge,
  hasRun,
  lastCompletedAt,
  utcDayStart,
  type HealthProblem,
  type HealthThresholds,
} from '../health.js'
import {PULL_MODULES} from '../sync/streams.js'
import {pastModifiedTime, type FailureEntry} from '../sync/ports.js'
import {ACTIVITY_MODULES, ENGAGEMENT_TYPES, type ActivityModule} from '../sync/activity-types.js'
import {epochMsToNaive, FUTURE_WINDOW_MS, pushWatermarkMs, wallClockSpan} from '../sync/time.js'
import {CRM_MODULES, OBJECT_TYPE_OF_MODULE, type CrmCursor, type CrmModule, type Direction} from '../sync/types.js'
import {mirrorFailureToMessageQueue} from './errorlog.js'
import {DbPassLock, lockNameFor, type LockHolder} from './lock.js'
import {readLegacySettings} from './settings.js'
import {FAILURE_COLUMNS, failureFromRow, isoFromUtc, utcDatetime, type FailureRow, type FailureSummaryRow, type RunOutcome, type WatermarkStatus} from './state.js'

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
  /**
   * with sync.activities on (absent otherwise): the activity streams, push per coreBOS module
   * (ModComments, cbCalendar) then pull per engagement type (notes, calls, meetings, tasks, emails)
   */
  activities?: ActivityStreamStatus[]
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
  /**
   * the crmid write-backs full pulls queued for HubSpot objects they linked (sent as passes leave
   * budget); `oldestAt` is when the oldest still queued was queued, null when none are
   */
  carrierWrites: {queued: number; oldestAt: string | null}
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
  /** push: a naive coreBOS datetime (install timezone; stored as an instant, see watermarkAt); pull: an ISO instant, as stored */
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
  /** push: opted-in records changed since the watermark (what the next push reads), those dated in the future apart; pull: null (needs HubSpot) */
  pending: number | null
  /**
   * push: opted-in records dated after the database clock (an import, a wrong clock), with the first
   * few by modifiedtime; each push sends them again until their time has come. pull: null
   */
  futureDated: {count: number; sample: Array<{crmid: number; modifiedtime: string}>} | null
  /** open ledger entries, given-up ones included */
  failed: number
  givenUp: number
  /** true when the `stale` or `never-completed` rule fires */
  stale: boolean
}

/** An activity stream: the state of a record module's direction, under the stream's own key. */
export interface ActivityStreamStatus extends DirectionStatus {
  /** what the watermark, ledger and outcome rows are keyed by: the coreBOS module (push) or the engagement type (pull) */
  stream: string
  direction: Direction
  /** links not archived: push by module, pull by engagement type */
  linked: number
  archivedLinks: number
  /** open ledger entries (given-up ones included) by category, most frequent first */
  failuresByCategory: Record<string, number>
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

/** 'push run #12 (host db1, pid 4242)' or 'database connection 57'. */
export function describeHolder(lock: LockStatus): string {
  const run = lock.holder?.run
  if (run) return `${run.command} run #${run.id}${run.host ? ` (${run.host}${run.pid ? `, pid ${run.pid}` : ''})` : ''}`
  return `database connection ${lock.holder?.connectionId ?? '?'}`
}

export const FAILURE_LIST_MAX = 500
/** how many records dated in the future status names per module */
const FUTURE_SAMPLE = 3
/** cb_settings key: lastFailedAt of the newest failure already mirrored to the errorlog channel */
const MIRROR_SETTING = 'cbhs_errorlog_mirrored_until'

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
  const [watermarks, linkCounts, summary, counts, entries, runs, holder, apiToday, legacy, completedRuns, carrierWrites] = await Promise.all([
    db.state.listWatermarks(),
    db.state.linkCounts(),
    db.state.failureSummary(),
    db.state.countFailures(),
    db.state.listFailures({limit: FAILURE_LIST_MAX}),
    db.state.listRuns(options.runs),
    new DbPassLock(db.pool).describeHolder(lockName),
    db.state.apiCallsSince(dayStart),
    readLegacySettings(db.pool),
    lastCompletedRuns(db),
    db.state.carrierQueueSummary(),
  ])

  const wm = new Map(watermarks.map((w) => [`${w.direction}:${w.module}`, w]))
  // the latest wall time the database clock has shown: a record dated after it is dated in the future
  const lastPresent = wallClockSpan(nowMs - FUTURE_WINDOW_MS, nowMs, config.timezone).latest
  const fs = new Map(summary.map((s) => [`${s.direction}:${s.module}`, s]))
  const modules: ModuleStatus[] = []
  for (const module of CRM_MODULES) {
    const links = linkCounts.find((l) => l.module === module)
    const direction = async (dir: Direction): Promise<DirectionStatus> => {
      // Leads ride on the contacts stream, whose watermark is kept under Contacts
      const streamOwner = dir === 'pull' ? PULL_MODULES[OBJECT_TYPE_OF_MODULE[module]].watermark : module
      const optIn = config.sync.optIn[module]
      return directionStatus({
        dir,
        own: wm.get(`${dir}:${module}`),
        mark: wm.get(`${dir}:${streamOwner}`),
        watermarkOf: streamOwner === module ? null : streamOwner,
        failures: fs.get(`${dir}:${module}`),
        completedRun: completedRuns[dir],
        timezone: config.timezone,
        nowMs,
        pending: dir === 'push' ? (since) => db.records.countChanged(module, {since, until: lastPresent, optIn, includeDeleted: false}) : null,
        futureDated: dir === 'push' ? () => db.records.datedAfter(module, {after: lastPresent, optIn, sample: FUTURE_SAMPLE}) : null,
      })
    }
    modules.push({
      module,
      linked: (links?.total ?? 0) - (links?.archived ?? 0),
      archivedLinks: links?.archived ?? 0,
      push: await direction('push'),
      pull: await direction('pull'),
    })
  }
  const activities = config.sync.activities
    ? await activityStreams(db, {wm, fs, completedRuns, timezone: config.timezone, nowMs, lastPresent})
    : undefined

  const lock = lockStatus(holder, nowMs)
  const dailyLimit = options.dailyLimit ?? DAILY_API_LIMIT[config.hubspot.tier]
  const health = evaluateHealth(
    {
      nowMs,
      directions: [
        ...modules.flatMap((m) => (['push', 'pull'] as const).map((d) => ({module: m.module, direction: d, ...m[d]}))),
        // an activity stream is judged as a record module is, under its own key
        ...(activities ?? []).map((a) => ({...a, module: a.stream as CrmModule})),
      ],
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
    const a = activities?.find((x) => x.direction === dir && x.stream === module)
    if (a) a.stale = true
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
    ...(activities ? {activities} : {}),
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
    carrierWrites,
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

interface DirectionInput {
  dir: Direction
  /** the outcome row of the module or stream itself */
  own: WatermarkStatus | undefined
  /** the watermark row of the stream it rides on (itself, or Contacts for Leads' pull) */
  mark: WatermarkStatus | undefined
  watermarkOf: CrmModule | null
  failures: FailureSummaryRow | undefined
  completedRun: string | null
  timezone: string
  nowMs: number
  /** what changed after the watermark (a naive coreBOS keyset position), when coreBOS can tell */
  pending: ((since: CrmCursor | null) => Promise<number>) | null
  futureDated: (() => Promise<{count: number; sample: Array<{crmid: number; modifiedtime: string}>}>) | null
}

async function directionStatus(input: DirectionInput): Promise<DirectionStatus> {
  const {dir, own, mark, failures, timezone, nowMs} = input
  const watermark = mark?.value ?? null
  const watermarkMs = watermark === null ? null : watermarkInstant(watermark, dir, timezone)
  const outcome = {
    lastOutcome: own?.lastOutcome ?? null,
    lastOutcomeAt: own?.lastOutcomeAt ?? null,
    lastSuccessAt: own?.lastSuccessAt ?? null,
  }
  // the outcome row keeps only the newest attempt: after a failed one, the last completed pass
  // (ok or partial) is the newest run of that direction that finished with exit 0 or 5
  const completed = latest(lastCompletedAt(outcome), outcome.lastOutcome === 'failed' ? input.completedRun : null)
  const since = watermarkMs === null ? null : pastModifiedTime(epochMsToNaive(watermarkMs, timezone))
  const pending = input.pending ? await input.pending(since) : null
  const futureDated = input.futureDated ? await input.futureDated() : null
  return {
    // push shows the coreBOS datetime it reads from, as it always has (it is stored as an instant)
    watermark: dir === 'push' && watermarkMs !== null ? epochMsToNaive(watermarkMs, timezone) : watermark,
    watermarkAt: watermarkMs === null ? null : new Date(watermarkMs).toISOString(),
    behindSeconds: lagSeconds(dir, pending, watermarkMs, completed, nowMs),
    watermarkOf: input.watermarkOf,
    resumable: Boolean(mark?.cursor),
    lastRunId: own?.lastRunId ?? null,
    ...outcome,
    lastCompletedAt: completed,
    lastMessage: own?.lastMessage ?? null,
    pending,
    futureDated,
    failed: failures?.open ?? 0,
    givenUp: failures?.givenUp ?? 0,
    stale: false,
  }
}

/** the setype values of each activity module's rows (Calendar before coreBOS 2021's cbCalendar) */
const ACTIVITY_SETYPES: Readonly<Record<ActivityModule, string[]>> = {ModComments: ['ModComments'], cbCalendar: ['cbCalendar', 'Calendar']}

/**
 * The activity streams, as `status` shows a record module's directions. Pending: comments or
 * calendar rows changed after the push watermark, trashed ones too (push archives their
 * engagements); pull needs HubSpot, as for records.
 */
async function activityStreams(
  db: Database,
  input: {
    wm: Map<string, WatermarkStatus>
    fs: Map<string, FailureSummaryRow>
    completedRuns: Record<Direction, string | null>
    timezone: string
    nowMs: number
    lastPresent: string
  },
): Promise<ActivityStreamStatus[]> {
  const [linkRows] = await db.pool.query(
    'SELECT module, object_type, COUNT(*) AS total, SUM(archived) AS archived FROM cbhs_link WHERE module IN (?) GROUP BY module, object_type',
    [[...ACTIVITY_MODULES]],
  )
  const links = linkRows as Array<{module: string; object_type: string; total: number | string; archived: number | string | null}>
  const [categoryRows] = await db.pool.query(
    `SELECT module, direction, COALESCE(category, 'UNKNOWN') AS category, COUNT(*) AS n FROM cbhs_failure
      WHERE open_flag = 1 AND module IN (?) GROUP BY module, direction, COALESCE(category, 'UNKNOWN') ORDER BY n DESC, category`,
    [[...ACTIVITY_MODULES, ...ENGAGEMENT_TYPES]],
  )
  const categories = categoryRows as Array<{module: string; direction: Direction; category: string; n: number | string}>
  const streams: Array<{stream: string; direction: Direction; linkedBy: (l: (typeof links)[number]) => boolean; module?: ActivityModule}> = [
    ...ACTIVITY_MODULES.map((m) => ({stream: m as string, direction: 'push' as const, linkedBy: (l: (typeof links)[number]) => l.module === m, module: m})),
    ...ENGAGEMENT_TYPES.map((t) => ({stream: t as string, direction: 'pull' as const, linkedBy: (l: (typeof links)[number]) => l.object_type === t})),
  ]
  const out: ActivityStreamStatus[] = []
  for (const s of streams) {
    const key = `${s.direction}:${s.stream}`
    const own = input.wm.get(key)
    const module = s.module
    const status = await directionStatus({
      dir: s.direction,
      own,
      mark: own,
      watermarkOf: null,
      failures: input.fs.get(key),
      completedRun: input.completedRuns[s.direction],
      timezone: input.timezone,
      nowMs: input.nowMs,
      pending: module ? (since) => countActivitiesChanged(db, module, since, input.lastPresent) : null,
      futureDated: null,
    })
    const mine = links.filter(s.linkedBy)
    const total = mine.reduce((n, l) => n + Number(l.total), 0)
    const archived = mine.reduce((n, l) => n + Number(l.archived ?? 0), 0)
    const byCategory: Record<string, number> = {}
    for (const c of categories) if (c.module === s.stream && c.direction === s.direction) byCategory[c.category] = Number(c.n)
    out.push({stream: s.stream, direction: s.direction, ...status, linked: total - archived, archivedLinks: archived, failuresByCategory: byCategory})
  }
  return out
}

async function countActivitiesChanged(db: Database, module: ActivityModule, since: CrmCursor | null, until: string): Promise<number> {
  const where = since ? 'AND (modifiedtime > ? OR (modifiedtime = ? AND crmid >= ?))' : ''
  const [rows] = await db.pool.query(
    `SELECT COUNT(*) AS n FROM vtiger_crmentity WHERE setype IN (?) AND modifiedtime <= ? ${where}`,
    [ACTIVITY_SETYPES[module], until, ...(since ? [since.modifiedtime, since.modifiedtime, since.crmid] : [])],
  )
  return Number((rows as Array<{n: number | string}>)[0]?.n ?? 0)
}

/**
 * How far a direction trails: pull searches HubSpot up to its watermark, so lag is the time since
 * then; push's watermark is the newest record it sent (the age of the data, not a lag), so its lag
 * is 0 with nothing pending, else how long the pending changes have waited at most (since the last
 * completed push, or since the watermark when none completed).
 */
function lagSeconds(dir: Direction, pending: number | null, watermarkMs: number | null, completedAt: string | null, nowMs: number): number | null {
  if (dir === 'pull') return watermarkMs === null ? null : Math.max(0, Math.round((nowMs - watermarkMs) / 1000))
  if (pending === 0) return 0
  const since = completedAt ? Date.parse(completedAt) : watermarkMs
  return since === null || Number.isNaN(since) ? null : Math.max(0, Math.round((nowMs - since) / 1000))
}

function latest(a: string | null, b: string | null | undefined): string | null {
  if (!a) return b ?? null
  if (!b) return a
  return Date.parse(a) >= Date.parse(b) ? a : b
}

/** When each direction last finished a real pass (exit 0 or 5), from the run records. */
async function lastCompletedRuns(db: Database): Promise<Record<Direction, string | null>> {
  const [rows] = await db.pool.query(
    `SELECT command, MAX(finished_at) AS at FROM cbhs_run
      WHERE dry_run = 0 AND exit_code IN (0, 5) AND finished_at IS NOT NULL AND command IN ('push', 'pull', 'sync')
      GROUP BY command`,
  )
  const at = new Map((rows as Array<{command: string; at: string | null}>).map((r) => [r.command, isoFromUtc(r.at)]))
  return {push: latest(at.get('push') ?? null, at.get('sync')), pull: latest(at.get('pull') ?? null, at.get('sync'))}
}

function watermarkInstant(value: string, direction: Direction, timezone: string): number | null {
  if (direction === 'push') return pushWatermarkMs(value, timezone)
  const ms = Date.parse(value)
  return Number.isNaN(ms) ? null : ms
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
export async function mirrorErrorlog(db: Database, config: CbhsConfig, entries: FailureInfo[]): Promise<number> {
  const [rows] = await db.pool.query('SELECT setting_value FROM cb_settings WHERE setting_key = ?', [MIRROR_SETTING])
  const until = (rows as Array<{setting_value: string | null}>)[0]?.setting_value ?? ''
  const fresh = entries.filter((f) => !until || f.lastFailedAt > until).reverse()
  let written = 0
  for (const f of fresh) {
    written += await mirrorFailureToMessageQueue(
      db.pool,
      {module: f.module, direction: f.direction, crmid: f.crmid, hubspotId: f.hubspotId, category: f.category, message: f.message, attempts: f.attempts},
      config.timezone,
      // senton/expires: coreBOS times, so the database's clock
      {now: () => db.clock.nowMs()},
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

// ---------------------------------------------------------------------------------------------
// the ledger, filtered; one entry in full; what a run left in it
// ---------------------------------------------------------------------------------------------

export interface FailureFilter {
  module?: CrmModule
  /** HubSpot or cbhs error category, e.g. INVALID_EMAIL (case-insensitive) */
  category?: string
  limit: number
}

/** Open ledger entries matching the filter, most recently failed first, and how many match in all. */
export async function listOpenFailures(db: Database, filter: FailureFilter): Promise<{entries: FailureInfo[]; matching: number}> {
  const where = ['open_flag = 1']
  const params: unknown[] = []
  if (filter.module) {
    where.push('module = ?')
    params.push(filter.module)
  }
  if (filter.category) {
    where.push('UPPER(category) = UPPER(?)')
    params.push(filter.category)
  }
  const [rows] = await db.pool.query(
    `SELECT ${FAILURE_COLUMNS} FROM cbhs_failure WHERE ${where.join(' AND ')} ORDER BY last_failed_at DESC, id DESC LIMIT ?`,
    [...params, Math.max(0, Math.floor(filter.limit))],
  )
  const [count] = await db.pool.query(`SELECT COUNT(*) AS n FROM cbhs_failure WHERE ${where.join(' AND ')}`, params)
  return {entries: (rows as FailureRow[]).map(failureInfo), matching: Number((count as Array<{n: number | string}>)[0]?.n ?? 0)}
}

/** One ledger entry, open or resolved, with everything stored about it; null when there is none. */
export async function getFailure(db: Database, id: number): Promise<FailureEntry | null> {
  const [rows] = await db.pool.query(`SELECT ${FAILURE_COLUMNS} FROM cbhs_failure WHERE id = ?`, [id])
  const row = (rows as FailureRow[])[0]
  return row ? failureFromRow(row) : null
}

function failureInfo(row: FailureRow): FailureInfo {
  const {resolvedAt: _resolved, ...info} = failureFromRow(row)
  return info
}

export interface LedgerAfterRun {
  /** open entries, given-up ones included */
  open: number
  /** entries the run opened (first failed since it started) */
  fresh: number
  /** open entries by category, most frequent first, with how many of each the run opened */
  byCategory: Array<{category: string; open: number; fresh: number}>
  /** the newest of the entries the run opened, at most `limit` */
  freshEntries: FailureInfo[]
}

/**
 * The ledger as a run left it: what a cron log needs instead of the whole ledger every pass (the
 * entries a run opened are new; the others were there before and `cbhs status --failures` lists them).
 */
export async function ledgerAfterRun(db: Database, startedAt: string, limit: number): Promise<LedgerAfterRun> {
  const since = utcDatetime(Date.parse(startedAt))
  const [groups] = await db.pool.query(
    `SELECT COALESCE(category, 'UNKNOWN') AS category, COUNT(*) AS open, SUM(first_failed_at >= ?) AS fresh
       FROM cbhs_failure WHERE open_flag = 1 GROUP BY COALESCE(category, 'UNKNOWN') ORDER BY open DESC, category`,
    [since],
  )
  const byCategory = (groups as Array<{category: string; open: number | string; fresh: number | string | null}>).map((g) => ({
    category: g.category,
    open: Number(g.open),
    fresh: Number(g.fresh ?? 0),
  }))
  const [rows] = await db.pool.query(
    `SELECT ${FAILURE_COLUMNS} FROM cbhs_failure WHERE open_flag = 1 AND first_failed_at >= ? ORDER BY first_failed_at DESC, id DESC LIMIT ?`,
    [since, limit],
  )
  return {
    open: byCategory.reduce((n, g) => n + g.open, 0),
    fresh: byCategory.reduce((n, g) => n + g.fresh, 0),
    byCategory,
    freshEntries: (rows as FailureRow[]).map(failureInfo),
  }
}

/**
 * Live records per module that the configured opt-in leaves out of sync (explicit: not ticked;
 * default-on: explicitly '0'): at go-live, why a pass has nothing to do.
 */
export async function countNotOptedIn(db: Database, config: CbhsConfig, modules: readonly CrmModule[]): Promise<Partial<Record<CrmModule, number>>> {
  const out: Partial<Record<CrmModule, number>> = {}
  const counts = await Promise.all(modules.map((module) => db.records.countNotOptedIn(module, config.sync.optIn[module])))
  for (const [i, module] of modules.entries()) out[module] = counts[i]
  return out
}

export interface AfterPass {
  /** the run's record: start and finish times, exit code */
  run: {id: number; startedAt: string; finishedAt: string | null} | null
  ledger: LedgerAfterRun | null
  notOptedIn: Partial<Record<CrmModule, number>>
  /** no real pass covering these directions completed before this run */
  firstPass: boolean
}

/**
 * What the pass commands show beside the engine's reports, read once the pass is over: the ledger
 * as the run left it (not for dry runs, which record nothing), the opt-in gap, and whether any pass
 * had completed before (so "nothing to do" can say why).
 */
export async function readAfterPass(
  db: Database,
  config: CbhsConfig,
  input: {runId: number | null; commands: string[]; modules: readonly CrmModule[]; dryRun: boolean; listed: number},
): Promise<AfterPass> {
  const run = input.runId === null ? null : await db.state.getRun(input.runId)
  const [earlier] = await db.pool.query(
    `SELECT COUNT(*) AS n FROM cbhs_run WHERE dry_run = 0 AND exit_code IN (0, 5) AND command IN (?) AND id < ?`,
    [input.commands, input.runId ?? Number.MAX_SAFE_INTEGER],
  )
  return {
    run: run ? {id: run.id, startedAt: run.startedAt, finishedAt: run.finishedAt} : null,
    ledger: run && !input.dryRun ? await ledgerAfterRun(db, run.startedAt, input.listed) : null,
    notOptedIn: await countNotOptedIn(db, config, input.modules),
    firstPass: Number((earlier as Array<{n: number | string}>)[0]?.n ?? 0) === 0,
  }
}
