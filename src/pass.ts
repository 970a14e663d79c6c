/**
 * Runs push, pull or both as one pass: the single-writer lock, a run record, listr2 tasks per
 * module, watermark outcomes, and the exit code (5 when records failed). Used by the commands;
 * the engine underneath knows none of this.
 */
import type {CbhsConfig} from './config.js'
import {buildEngine, openDatabase, openHubSpot, withLegacySettings, type Database} from './context.js'
import {DbPassLock, lockNameFor} from './corebos/lock.js'
import {EXIT, UsageError} from './errors.js'
import {runTasks, type RendererMode, type TaskSpec} from './output/tasks.js'
import {newReport, totalCalls, type Engine, type PassOptions, type PassReport} from './sync/engine.js'
import {PULL_MODULES, PULL_ORDER, pullObjectType} from './sync/pull.js'
import {PUSH_ORDER, pushModule} from './sync/push.js'
import type {Clock} from './sync/ports.js'
import {parseSince} from './sync/time.js'
import {CRM_MODULES, type CrmModule, type Direction} from './sync/types.js'

export interface PassFlags {
  'dry-run'?: boolean
  full?: boolean
  limit?: number
  module?: string[]
  since?: string
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
  return {
    modules: (flags.module?.length ? flags.module : [...CRM_MODULES]) as CrmModule[],
    full: Boolean(flags.full),
    sinceMs,
    limit: flags.limit,
    dryRun: Boolean(flags['dry-run']),
  }
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
  const db = await openDatabase(input.config)
  const lock = new DbPassLock(db.pool)
  const lockName = lockNameFor(db.settings.database)
  try {
    if (!(await lock.acquire(lockName))) {
      const holder = await lock.describeHolder(lockName)
      const since = holder?.run?.startedAt ? ` (${holder.run.command} since ${holder.run.startedAt} UTC)` : ''
      return {reports: [], skippedBecauseLocked: {holder: `another cbhs pass holds the lock${since}`}, exitCode: EXIT.OK}
    }
    return await runLocked(input, options, db, lock)
  } finally {
    await lock.releaseAll().catch(() => undefined)
    await db.close().catch(() => undefined)
  }
}

async function runLocked(input: RunPassInput, options: PassOptions, db: Database, lock: DbPassLock): Promise<PassOutcome> {
  const config = await withLegacySettings(input.config, db)
  await db.state.closeAbandonedRuns(lock.connectionId ?? 0)
  const runId = await db.state.startRun(input.command, options.dryRun, {lockConnectionId: lock.connectionId})
  const directions: Direction[] = input.command === 'sync' ? ['pull', 'push'] : [input.command]
  const reports = directions.map((d) => newReport(d, options.dryRun))
  let exitCode: number = EXIT.OK
  let message: string | undefined
  try {
    const hubspot = openHubSpot(config, (line) => input.warn(line))
    const {engine} = await buildEngine(config, db, hubspot, input.clock)
    const tasks: TaskSpec<Engine>[] = []
    for (const [i, direction] of directions.entries()) tasks.push(...tasksFor(direction, options, reports[i], db, runId))
    await runTasks(tasks, engine, input.renderer, input.warn)
    if (reports.some((r) => r.failures.length > 0) && !options.dryRun) exitCode = EXIT.PARTIAL
  } catch (error) {
    exitCode = (error as {exitCode?: number}).exitCode ?? EXIT.BUG
    message = (error as Error).message
    for (const report of reports) {
      for (const module of moduleList(report.direction, options)) {
        await db.state.recordOutcome(module, report.direction, {runId, outcome: 'failed', message}).catch(() => undefined)
      }
    }
    throw error
  } finally {
    const counts: Record<string, number> = {}
    for (const report of reports) {
      for (const [module, c] of Object.entries(report.modules)) {
        for (const [key, value] of Object.entries(c)) if (value) counts[`${report.direction}.${module}.${key}`] = value
      }
    }
    await db.state
      .finishRun(runId, {exitCode, counts, apiCalls: reports.reduce((n, r) => n + totalCalls(r.apiCalls), 0), message})
      .catch(() => undefined)
  }
  return {reports, runId, exitCode}
}

function moduleList(direction: Direction, options: PassOptions): CrmModule[] {
  return (direction === 'push' ? PUSH_ORDER : PULL_ORDER.flatMap((t) => PULL_MODULES[t].modules)).filter((m) => options.modules.includes(m))
}

function tasksFor(direction: Direction, options: PassOptions, report: PassReport, db: Database, runId: number): TaskSpec<Engine>[] {
  const outcome = async (modules: CrmModule[]) => {
    if (options.dryRun) return
    for (const module of modules) {
      const failed = report.failures.some((f) => f.module === module)
      await db.state.recordOutcome(module, direction, {runId, outcome: failed ? 'partial' : 'ok'})
    }
  }
  if (direction === 'push') {
    return PUSH_ORDER.filter((m) => options.modules.includes(m)).map((module) => ({
      title: `push ${module}`,
      run: async (engine, reporter) => {
        const summary = await pushModule(engine, module, options, report, reporter)
        await outcome([module])
        return summary
      },
    }))
  }
  return PULL_ORDER.filter((t) => PULL_MODULES[t].modules.some((m) => options.modules.includes(m))).map((type) => ({
    title: `pull ${type}`,
    run: async (engine, reporter) => {
      const summary = await pullObjectType(engine, type, options, report, reporter)
      await outcome(PULL_MODULES[type].modules.filter((m) => options.modules.includes(m)))
      return summary
    },
  }))
}
