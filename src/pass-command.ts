/** The base of push, pull and sync: they differ only in direction, description and examples. */
import type {Command} from '@oclif/core'
import {CbhsCommand} from './base-command.js'
import {renderPassReport} from './output/report.js'
import {runPass, type PassFlags} from './pass.js'
import type {PassReport} from './sync/engine.js'

export interface PassResult {
  command: 'push' | 'pull' | 'sync'
  runId: number | null
  skipped: string | null
  reports: PassReport[]
}

export abstract class PassCommand<T extends typeof Command> extends CbhsCommand<T> {
  protected abstract readonly direction: PassResult['command']

  async run(): Promise<PassResult> {
    const config = this.loadConfig()
    const outcome = await runPass({
      command: this.direction,
      config,
      flags: this.flags as PassFlags,
      renderer: this.renderer,
      warn: (message) => this.note(message),
    })
    if (outcome.skippedBecauseLocked) {
      // cron overlaps are normal: one line, exit 0
      process.stderr.write(`cbhs ${this.direction}: ${outcome.skippedBecauseLocked.holder}; nothing done.\n`)
      return {command: this.direction, runId: null, skipped: outcome.skippedBecauseLocked.holder, reports: []}
    }
    for (const report of outcome.reports) {
      for (const warning of report.warnings) this.note(warning)
      this.print(renderPassReport(report))
    }
    if (outcome.exitCode !== 0) process.exitCode = outcome.exitCode
    return {command: this.direction, runId: outcome.runId ?? null, skipped: null, reports: outcome.reports}
  }
}
