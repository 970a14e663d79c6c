/** The base of push, pull and sync: they differ only in direction, description and examples. */
import {writeFileSync} from 'node:fs'
import type {Command} from '@oclif/core'
import {CbhsCommand} from './base-command.js'
import {openDatabase} from './context.js'
import {readAfterPass, type LedgerAfterRun} from './corebos/status.js'
import {LISTED_FAILURES, closingLine, renderLedger, renderNotOptedIn, renderPassReport, type PassContext} from './output/report.js'
import {runPass, type PassFlags} from './pass.js'
import type {PassReport} from './sync/engine.js'
import {CRM_MODULES, isCrmModule, type CrmModule} from './sync/types.js'

export interface PassResult {
  command: 'push' | 'pull' | 'sync'
  runId: number | null
  skipped: string | null
  reports: PassReport[]
  /** the ledger as the pass left it (null for dry runs and skipped passes) */
  ledger: LedgerAfterRun | null
  /** live records per module that the opt-in leaves out of sync */
  notOptedIn: Partial<Record<CrmModule, number>>
}

const COMMANDS_OF: Record<PassResult['command'], string[]> = {push: ['push', 'sync'], pull: ['pull', 'sync'], sync: ['sync']}

export abstract class PassCommand<T extends typeof Command> extends CbhsCommand<T> {
  protected abstract readonly direction: PassResult['command']

  async run(): Promise<PassResult> {
    const config = this.loadConfig()
    const flags = this.flags as PassFlags & {output?: string}
    const started = Date.now()
    const outcome = await runPass({command: this.direction, config, flags, renderer: this.renderer, warn: (message) => this.note(message)})
    if (outcome.skippedBecauseLocked) {
      // cron overlaps are normal: one line, exit 0
      process.stderr.write(`cbhs ${this.direction}: ${outcome.skippedBecauseLocked.holder}; nothing done.\n`)
      return {command: this.direction, runId: null, skipped: outcome.skippedBecauseLocked.holder, reports: [], ledger: null, notOptedIn: {}}
    }
    const modules = (flags.module?.length ? flags.module.filter(isCrmModule) : CRM_MODULES) as CrmModule[]
    const dryRun = Boolean(flags['dry-run'])
    const db = await openDatabase(config)
    const after = await readAfterPass(db, config, {runId: outcome.runId ?? null, commands: COMMANDS_OF[this.direction], modules, dryRun, listed: LISTED_FAILURES}).finally(() =>
      db.close().catch(() => undefined),
    )
    const context: PassContext = {ledger: after.ledger, notOptedIn: after.notOptedIn, optInMode: config.sync.optIn, firstPass: after.firstPass}
    const result: PassResult = {command: this.direction, runId: outcome.runId ?? null, skipped: null, reports: outcome.reports, ledger: after.ledger, notOptedIn: after.notOptedIn}

    for (const report of outcome.reports) for (const warning of report.warnings) this.note(warning)
    const text = outcome.reports.map((report) => renderPassReport(report, context))
    if (after.ledger) text.push(...renderLedger(after.ledger))
    const optIn = renderNotOptedIn(context)
    if (optIn) text.push(optIn)
    this.print(text.join('\n'))
    if (flags.output) {
      writeFileSync(flags.output, JSON.stringify(result, null, 2) + '\n')
      if (!this.jsonEnabled()) process.stderr.write(`Full report written to ${flags.output}.\n`)
    }
    if (outcome.exitCode !== 0) process.exitCode = outcome.exitCode
    const finished = after.run?.finishedAt ? Date.parse(after.run.finishedAt) : Date.now()
    const begun = after.run ? Date.parse(after.run.startedAt) : started
    this.logLine(closingLine({runId: result.runId, command: this.direction, exitCode: outcome.exitCode, durationMs: finished - begun, reports: outcome.reports, ledger: after.ledger}))
    return result
  }
}
