import {Errors, Flags} from '@oclif/core'
import {CbhsCommand, describeError} from '../base-command.js'
import type {HealthThresholds} from '../health.js'
import {openDatabase, type Database} from '../context.js'
import {classifyDbError, type DbUse} from '../corebos/connection.js'
import {FAILURE_LIST_MAX, collectStatus, getFailure, listOpenFailures, mirrorErrorlog, type StatusResult} from '../corebos/status.js'
import {EXIT, UsageError, redact} from '../errors.js'
import {NAGIOS_EXIT, checkStateForExit} from '../health.js'
import {moduleFlag} from '../flags.js'
import {renderFailure, renderStatus} from '../output/status.js'
import type {FailureEntry} from '../sync/ports.js'

export type {DirectionStatus, FailureInfo, LockStatus, ModuleStatus, RunInfo, StatusResult} from '../corebos/status.js'

const DEFAULT_RUNS = 10

export default class Status extends CbhsCommand<typeof Status> {
  static override description = `show sync health: watermarks, lag, failures, API use, lock; exit 5 if unhealthy

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
    '<%= config.bin %> <%= command.id %> --failures --module contacts --category INVALID_EMAIL',
    '<%= config.bin %> <%= command.id %> --failure 17',
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
    failure: Flags.integer({description: 'show one failure in full: message, record, attempts, next retry', min: 1, exclusive: ['check', 'failures']}),
    module: moduleFlag({description: 'with --failures: only failures of this module (any case)', multiple: false}),
    category: Flags.string({description: 'with --failures: only failures of this category, e.g. INVALID_EMAIL (any case)'}),
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

  async run(): Promise<StatusResult | FailureEntry> {
    const config = this.loadConfig()
    const staleAfterMinutes = this.flags['stale-after'] ?? config.health.staleAfterIntervals * config.health.cronIntervalMinutes
    const thresholds: HealthThresholds = {
      staleAfterMinutes,
      // one failed attempt between good passes heals on the next one; two in a row are worth a look
      failedAttemptsMinutes: Math.min(staleAfterMinutes, 2 * config.health.cronIntervalMinutes),
      maxFailures: this.flags['max-failures'] ?? config.health.maxFailures,
      lockStaleMinutes: config.health.lockStaleMinutes,
    }
    const retry = parseRetry(this.flags.retry)
    const writes = Boolean(retry || this.flags.dismiss?.length || this.flags['mirror-errorlog'])
    const use: DbUse = {command: 'status', purpose: writes ? 'pass' : 'read'}
    const db = await openDatabase(config, use)
    use.account = db.account
    try {
      // the state tables first: without them (`setup` not run) this stops with exit 3
      await db.state.listWatermarks()
      if (this.flags.failure !== undefined) {
        const failure = await getFailure(db, this.flags.failure)
        if (!failure) throw new UsageError(`No failure with id ${this.flags.failure}.`, 'See the ids with `cbhs status --failures`.')
        this.print(renderFailure(failure, db.clock.nowMs()))
        return failure
      }
      const actions: StatusResult['actions'] = {retried: 0, dismissed: 0, mirrored: 0, unknownIds: []}
      if (retry) await this.retry(db, retry, actions)
      if (this.flags.dismiss?.length) await this.dismiss(db, this.flags.dismiss, actions)

      // ages are measured on the database's clock, the one every recorded time comes from
      const result = await collectStatus(db, config, thresholds, {
        nowMs: db.clock.nowMs(),
        runs: this.flags.runs ?? DEFAULT_RUNS,
        dailyLimit: this.flags['daily-limit'],
      })
      const status = result.status
      status.actions = actions
      for (const warning of result.legacyWarnings) this.note(warning)
      if (this.flags['mirror-errorlog']) actions.mirrored = await mirrorErrorlog(db, config, status.failures.entries)
      if (this.flags.module || this.flags.category) {
        const {entries, matching} = await listOpenFailures(db, {module: this.flags.module, category: this.flags.category, limit: FAILURE_LIST_MAX})
        status.failures = {...status.failures, entries, truncated: matching > entries.length}
      }

      if (this.checkMode) {
        process.exitCode = NAGIOS_EXIT[status.health.state]
        if (!this.jsonEnabled()) process.stdout.write(redact(status.health.summary) + '\n')
        return status
      }
      this.print(
        renderStatus(status, {
          nowMs: Date.parse(status.generatedAt),
          timezone: config.timezone,
          failures: this.flags.failures || Boolean(this.flags.module || this.flags.category),
          filter: this.flags.module || this.flags.category ? [this.flags.module, this.flags.category].filter(Boolean).join(', ') : undefined,
          runs: this.flags.runs !== undefined,
        }),
      )
      if (actions.unknownIds.length > 0) process.exitCode = EXIT.USAGE
      else if (retry || this.flags.dismiss?.length || this.flags['mirror-errorlog']) process.exitCode = EXIT.OK
      else process.exitCode = status.health.state === 'OK' ? EXIT.OK : EXIT.PARTIAL
      return status
    } catch (error) {
      throw classifyDbError(error, db.settings, use)
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
