/**
 * Runs push, pull or both as one pass: the single-writer lock, a run record, listr2 tasks per
 * module, watermark outcomes, and the exit code (5 when records failed). Used by the commands;
 * the engine underneath knows none of this.
 */
import type {CbhsConfig} from './config.js'
import {buildEngine, openDatabase, openHubSpot, withLegacySettings, type Database} from './context.js'
import {classifyDbError, missingPrivilege, type DbUse} from './corebos/connection.js'
import {DbPassLock, lockNameFor} from './corebos/lock.js'
import {EXIT, UsageError} from './errors.js'
import {runTasks, type RendererMode, type TaskOutcome, type TaskSpec} from './output/tasks.js'
import {newReport, totalCalls, type Engine, type PassOptions, type PassReport} from './sync/engine.js'
import {passContext, PULL_MODULES, PULL_ORDER, PUSH_ORDER, pullObjectType, pushModule, sendCarrierWrites} from './sync/streams.js'
import {newReconcileReport, RECONCILE_ORDER, reconcileType, TYPE_MODULES, type ReconcileReport} from './sync/reconcile.js'
import type {PassContext} from './sync/pipeline.js'
import type {Clock} from './sync/ports.js'
import {parseSince} from './sync/time.js'
import {CRM_MODULES, isCrmModule, type CrmModule, type Direction} from './sync/types.js'
import {ACTIVITY_MODULES, ENGAGEMENTS_OF, isActivityModule, type ActivityModule, type EngagementType} from './sync/activity-types.js'
import {ACTIVITY_PULL_ORDER, ACTIVITY_PUSH_ORDER, pullEngagements, pushActivities} from './sync/activities.js'
import {reconcileActivities} from './sync/reconcile-activities.js'

export interface PassFlags {
  'dry-run'?: boolean
  full?: boolean
  limit?: number
  module?: string[]
  since?: string
}

/** The activity streams a pass runs, by the key of their watermark, ledger and outcome rows. */
function activityStreams(direction: Direction, options: PassOptions): CrmModule[] {
  const selected = options.activities ?? []
  if (direction === 'push') return ACTIVITY_PUSH_ORDER.filter((m) => selected.includes(m)) as unknown as CrmModule[]
  return ACTIVITY_PULL_ORDER.filter((t) => selected.some((m: ActivityModule) => ENGAGEMENTS_OF[m].includes(t))) as unknown as CrmModule[]
}

/** The activity stream a task runs, and the report key its counts go under; its outcome is recorded as a module's, for `status`. */
function activityTasks(direction: Direction, options: PassOptions, report: PassReport, ctx: PassContext, outcome: (modules: CrmModule[]) => Promise<void>): TaskSpec<Engine>[] {
  return activityStreams(direction, options).map((key) => ({
    title: `${direction} ${key}`,
    run: async (_engine, reporter) => {
      await ctx.engine.prepareActivities?.()
      const summary =
        direction === 'push'
          ? await pushActivities(ctx, key as unknown as ActivityModule, options, report, reporter)
          : await pullEngagements(ctx, key as unknown as EngagementType, options, report, reporter)
      await outcome([key])
      const c = report.modules[key]
      return {summary, processed: c?.read ?? 0, failed: c?.failed ?? 0}
    },
  }))
}

export interface PassOutcome {
  /** null when another pass held the lock and this one did nothing */
  reports: PassReport[]
  skippedBecauseLocked?: {holder: string}
  runId?: number
  exitCode: number
}

export function passOptions(flags: PassFlags, config: CbhsConfig): PassOptions {
  if (flags.full && flags.since) throw new UsageError('--full and --since do not go together: --full reads everything.')
  let sinceMs: number | undefined
  if (flags.since) {
    try {
      sinceMs = parseSince(flags.since, config.timezone)
    } catch {
      throw new UsageError(`--since '${flags.since}' is not a date: use YYYY-MM-DD, 'YYYY-MM-DD HH:MM:SS' (install timezone) or an ISO instant.`)
    }
  }
  const named = flags.module ?? []
  const activities = activityModulesNamed(named, config)
  return {
    modules: named.length > 0 ? named.filter(isCrmModule) : [...CRM_MODULES],
    // activities follow their parents: with no --module every pass syncs them (when on), after the records
    activities: config.sync.activities ? (named.length > 0 ? activities : [...ACTIVITY_MODULES]) : [],
    full: Boolean(flags.full),
    sinceMs,
    limit: flags.limit,
    dryRun: Boolean(flags['dry-run']),
  }
}

/** The activity modules --module names; naming one while activity sync is off is a usage error. */
function activityModulesNamed(named: string[], config: CbhsConfig): ActivityModule[] {
  const activities = named.filter(isActivityModule)
  if (activities.length > 0 && !config.sync.activities) {
    throw new UsageError(`--module ${activities[0]} needs activity sync: set sync.activities to true (env CBHS_ACTIVITIES=true).`)
  }
  return activities
}

export interface RunPassInput {
  command: 'push' | 'pull' | 'sync'
  config: CbhsConfig
  flags: PassFlags
  renderer: RendererMode
  warn: (message: string) => void
  clock?: Clock
}

export async function runPass(input: RunPassInput): Promise<PassOutcome> {
  const options = passOptions(input.flags, input.config)
  const outcome = await runUnderLock(input, options.dryRun, async (engine, db, runId, guard) => {
    const directions: Direction[] = input.command === 'sync' ? ['pull', 'push'] : [input.command]
    const reports = directions.map((d) => newReport(d, options.dryRun))
    const counts = () => {
      const out: Record<string, number> = {}
      for (const report of reports) {
        for (const [module, c] of Object.entries(report.modules)) {
          for (const [key, value] of Object.entries(c)) if (value) out[`${report.direction}.${module}.${key}`] = value
        }
      }
      return out
    }
    const apiCalls = () => reports.reduce((n, r) => n + totalCalls(r.apiCalls), 0)
    try {
      const tasks: TaskSpec<Engine>[] = []
      for (const [i, direction] of directions.entries()) {
        const ctx = passContext(engine, reports[i])
        tasks.push(...tasksFor(direction, options, reports[i], db, runId, ctx), ...activityTasks(direction, options, reports[i], ctx, outcomeRecorder(db, runId, direction, options, reports[i])))
      }
      await runTasks(guard(tasks), engine, input.renderer, input.warn)
      const pulled = directions.indexOf('pull')
      if (pulled >= 0) await sendCarrierWrites(passContext(engine, reports[pulled]), reports[pulled])
    } catch (error) {
      const message = (error as Error).message
      // a dry run writes nothing, not even the outcome of a pass that broke off
      for (const report of options.dryRun ? [] : reports) {
        for (const module of [...moduleList(report.direction, options), ...activityStreams(report.direction, options)]) {
          await db.state.recordOutcome(module, report.direction, {runId, outcome: 'failed', message}).catch(() => undefined)
        }
      }
      throw Object.assign(error as Error, {runCounts: counts(), runApiCalls: apiCalls()})
    }
    const exitCode = reports.some((r) => r.failures.length > 0) && !options.dryRun ? EXIT.PARTIAL : EXIT.OK
    return {result: reports, exitCode, counts: counts(), apiCalls: apiCalls()}
  })
  if ('skippedBecauseLocked' in outcome) return {reports: [], skippedBecauseLocked: outcome.skippedBecauseLocked, exitCode: EXIT.OK}
  return {reports: outcome.result, runId: outcome.runId ?? undefined, exitCode: outcome.exitCode}
}

export interface LockedInput {
  command: string
  config: CbhsConfig
  warn: (message: string) => void
  clock?: Clock
}

export interface LockedResult<R> {
  result: R
  exitCode: number
  counts: Record<string, number>
  apiCalls: number
}

/**
 * The shell every writing command shares: the single-writer lock (a held lock means one line and
 * exit 0), abandoned runs closed, a cbhs_run record opened and finished with counts and the exit
 * code, and the engine built. `body` does the work; an error it throws still finishes the run.
 * A dry run needs SELECT only: when the user may not write cbhs_run, it runs unrecorded (runId null)
 * with a warning. Database errors anywhere become exit 4 (unreachable, or a missing privilege with
 * the GRANT to run).
 */
export async function runUnderLock<R>(
  input: LockedInput,
  dryRun: boolean,
  body: (engine: Engine, db: Database, runId: number | null, guard: <C>(tasks: TaskSpec<C>[]) => TaskSpec<C>[]) => Promise<LockedResult<R>>,
): Promise<(LockedResult<R> & {runId: number | null}) | {skippedBecauseLocked: {holder: string}}> {
  const use: DbUse = {command: commandLine(input.command, dryRun), purpose: dryRun ? 'read' : 'pass'}
  const db = await openDatabase(input.config, use)
  use.account = db.account
  // a connection lost mid-pass (server restart, KILL, network) is "database unreachable" (exit 4),
  // not a bug: the next pass resumes from the last committed checkpoint
  const classify = (error: unknown) => {
    const classified = classifyDbError(error, db.settings, use)
    return (classified === error ? error : Object.assign(classified as Error, pick(error))) as Error & {exitCode?: number; runCounts?: Record<string, number>; runApiCalls?: number}
  }
  const lock = new DbPassLock(db.pool)
  const lockName = lockNameFor(db.settings.database)
  try {
    if (!(await lock.acquire(lockName))) {
      const holder = await lock.describeHolder(lockName)
      const since = holder?.run?.startedAt ? ` (${holder.run.command} since ${holder.run.startedAt} UTC)` : ''
      return {skippedBecauseLocked: {holder: `another cbhs pass holds the lock${since}`}}
    }
    const config = await withLegacySettings(input.config, db)
    const runId = await openRunRecord(db, input.command, dryRun, lock.connectionId ?? 0, (why) =>
      input.warn(`This dry run is not recorded in cbhs_run (\`cbhs status\` will not list it): ${why} A dry run needs SELECT only.`),
    )
    let finish: {exitCode: number; counts: Record<string, number>; apiCalls: number; message?: string} = {exitCode: EXIT.BUG, counts: {}, apiCalls: 0}
    let hubspot: ReturnType<typeof openHubSpot> | undefined
    try {
      hubspot = openHubSpot(config, (line) => input.warn(line))
      const {engine} = await buildEngine(config, db, hubspot, input.clock)
      // one writer: a lock whose connection died was freed by the server and another pass may run;
      // every task checks it still holds it before writing anything
      const guard = <C>(tasks: TaskSpec<C>[]): TaskSpec<C>[] =>
        tasks.map((t) => ({...t, run: async (ctx: C, reporter) => (await lock.assertHeld(lockName), t.run(ctx, reporter))}))
      const done = await body(engine, db, runId, guard)
      finish = {exitCode: done.exitCode, counts: done.counts, apiCalls: done.apiCalls}
      return {...done, runId}
    } catch (error) {
      const e = classify(error)
      finish = {exitCode: e.exitCode ?? EXIT.BUG, counts: e.runCounts ?? {}, apiCalls: e.runApiCalls ?? 0, message: e.message}
      throw e
    } finally {
      hubspot?.close()
      if (runId !== null) await db.state.finishRun(runId, finish).catch(() => undefined)
    }
  } catch (error) {
    throw classify(error)
  } finally {
    await lock.releaseAll().catch(() => undefined)
    await db.close().catch(() => undefined)
  }
}

/** The command as the user typed it, for messages: a dry run needs less than a pass. */
function commandLine(command: string, dryRun: boolean): string {
  if (command === 'reconcile') return dryRun ? 'reconcile' : 'reconcile --apply'
  return dryRun ? `${command} --dry-run` : command
}

/**
 * Closes abandoned runs and opens this one's cbhs_run row. A dry run whose user may not write
 * cbhs_run goes on unrecorded (null) and says why; a pass cannot (the missing privilege stops it).
 */
async function openRunRecord(db: Database, command: string, dryRun: boolean, lockConnectionId: number, unrecorded: (why: string) => void): Promise<number | null> {
  try {
    await db.state.closeAbandonedRuns(lockConnectionId)
    return await db.state.startRun(command, dryRun, {lockConnectionId})
  } catch (error) {
    const missing = dryRun ? missingPrivilege(error, db.settings.database) : null
    if (!missing) throw error
    unrecorded(`the database user ${db.account ?? `'${db.settings.user}'`} lacks ${missing.privilege ?? 'a privilege'}${missing.object ? ` on ${missing.object}` : ''}.`)
    return null
  }
}

/** The run counters a failing body attached to its error, carried over to the classified error. */
function pick(error: unknown): {runCounts?: Record<string, number>; runApiCalls?: number} {
  const e = error as {runCounts?: Record<string, number>; runApiCalls?: number}
  return {runCounts: e?.runCounts, runApiCalls: e?.runApiCalls}
}

function moduleList(direction: Direction, options: PassOptions): CrmModule[] {
  return (direction === 'push' ? PUSH_ORDER : PULL_ORDER.flatMap((t) => PULL_MODULES[t].modules)).filter((m) => options.modules.includes(m))
}

/** Records each finished stream's outcome: partial when records of it failed. */
function outcomeRecorder(db: Database, runId: number | null, direction: Direction, options: PassOptions, report: PassReport): (modules: CrmModule[]) => Promise<void> {
  return async (modules) => {
    if (options.dryRun) return
    for (const module of modules) {
      const failed = report.failures.some((f) => f.module === module)
      await db.state.recordOutcome(module, direction, {runId, outcome: failed ? 'partial' : 'ok'})
    }
  }
}

function tasksFor(direction: Direction, options: PassOptions, report: PassReport, db: Database, runId: number | null, ctx: PassContext): TaskSpec<Engine>[] {
  const outcome = outcomeRecorder(db, runId, direction, options, report)
  // what the task line shows: the summary, and a marker when records of its modules failed
  const result = (summary: string, modules: CrmModule[]): TaskOutcome => {
    const counts = modules.map((m) => report.modules[m]).filter((c) => c !== undefined)
    return {summary, processed: counts.reduce((n, c) => n + c.read, 0), failed: counts.reduce((n, c) => n + c.failed, 0), predicted: options.dryRun}
  }
  if (direction === 'push') {
    return PUSH_ORDER.filter((m) => options.modules.includes(m)).map((module) => ({
      title: `push ${module}`,
      run: async (_engine, reporter) => {
        const summary = await pushModule(ctx, module, options, report, reporter)
        await outcome([module])
        return result(summary, [module])
      },
    }))
  }
  return PULL_ORDER.filter((t) => PULL_MODULES[t].modules.some((m) => options.modules.includes(m))).map((type) => ({
    title: `pull ${type}`,
    run: async (_engine, reporter) => {
      const summary = await pullObjectType(ctx, type, options, report, reporter)
      const modules = PULL_MODULES[type].modules.filter((m) => options.modules.includes(m))
      await outcome(modules)
      return result(summary, modules)
    },
  }))
}

export interface RunReconcileInput {
  config: CbhsConfig
  flags: {apply?: boolean; module?: string[]; details?: boolean}
  renderer: RendererMode
  warn: (message: string) => void
  clock?: Clock
}

export interface ReconcileOutcome {
  report: ReconcileReport | null
  skippedBecauseLocked?: {holder: string}
  runId?: number
  exitCode: number
}

/**
 * `reconcile`: under the same lock and run record as a pass (a dry run is recorded too, as a
 * dry-run row), one task per HubSpot object type. Exit 5 when --apply left records in the ledger.
 */
export async function runReconcile(input: RunReconcileInput): Promise<ReconcileOutcome> {
  const activities = activityModulesNamed(input.flags.module ?? [], input.config)
  const modules = (input.flags.module?.length ? input.flags.module : [...CRM_MODULES]) as CrmModule[]
  const apply = Boolean(input.flags.apply)
  const options = {modules, apply, details: Boolean(input.flags.details)}
  const outcome = await runUnderLock({...input, command: 'reconcile'}, !apply, async (engine, _db, _runId, guard) => {
    const report = newReconcileReport(options, engine.settings.conflictPolicy)
    const counts = () => {
      const out: Record<string, number> = {}
      for (const [module, c] of Object.entries(report.modules)) for (const [k, v] of Object.entries(c)) if (v) out[`reconcile.${module}.${k}`] = v
      for (const [module, c] of Object.entries(report.applied)) for (const [k, v] of Object.entries(c)) if (v) out[`apply.${module}.${k}`] = v
      return out
    }
    const tasks: TaskSpec<Engine>[] = RECONCILE_ORDER.filter((t) => TYPE_MODULES[t].some((m) => modules.includes(m))).map((type) => ({
      title: `reconcile ${type}`,
      run: (e, reporter) => reconcileType(e, type, options, report, reporter),
    }))
    // activities follow their parents: after the records, when on, unless --module names only record modules
    if (input.config.sync.activities && (!input.flags.module?.length || activities.length > 0)) {
      tasks.push({title: 'reconcile activities', run: (e, reporter) => reconcileActivities(e, options, report, reporter)})
    }
    try {
      await runTasks(guard(tasks), engine, input.renderer, input.warn)
    } catch (error) {
      throw Object.assign(error as Error, {runCounts: counts(), runApiCalls: totalCalls(report.apiCalls)})
    }
    const exitCode = apply && report.failures.length > 0 ? EXIT.PARTIAL : EXIT.OK
    return {result: report, exitCode, counts: counts(), apiCalls: totalCalls(report.apiCalls)}
  })
  if ('skippedBecauseLocked' in outcome) return {report: null, skippedBecauseLocked: outcome.skippedBecauseLocked, exitCode: EXIT.OK}
  return {report: outcome.result, runId: outcome.runId ?? undefined, exitCode: outcome.exitCode}
}
