import {writeFileSync} from 'node:fs'
import {Flags} from '@oclif/core'
import {CbhsCommand} from '../base-command.js'
import {conflictFlag, mapsDirFlag, passModuleFlag} from '../flags.js'
import {renderReconcileReport} from '../output/reconcile.js'
import {renderNotOptedIn} from '../output/report.js'
import {runReconcile} from '../pass.js'
import type {ReconcileReport} from '../sync/reconcile.js'

export interface ReconcileResult {
  runId: number | null
  skipped: string | null
  report: ReconcileReport | null
}

export default class Reconcile extends CbhsCommand<typeof Reconcile> {
  static override description = `compare every record on both sides, and repair the differences with --apply

Reads every Account, Contact, Lead and Potential in coreBOS and every company, contact and deal in
HubSpot (list endpoint), and classifies them: in sync; linked but different (which side changed since
the last sync, or a record whose hubspotid lags behind its link); only in coreBOS; only in HubSpot;
match candidates (unlinked on both sides with the same e-mail, or for companies the same domain or
name), ambiguous matches; broken links (object or record gone); association drift; coreBOS records
sharing one e-mail.

A dry run by default: nothing is written. --apply links the unambiguous matches, settles differing
values (the side that changed wins; the conflict policy decides when both did or nobody can tell),
creates what is missing (opted-in records in HubSpot, HubSpot objects in coreBOS), repairs
associations and broken links, under the pass lock, recorded as a run; failures go to the ledger
(exit 5). Ambiguous matches are listed, never guessed; of coreBOS records sharing one e-mail the
linked one (else the oldest) is sent and the others fail naming it, as in a push. With sync.activities
on, comments and calendar activities are compared with the engagements on synced records too.`

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --details --module Contacts',
    '<%= config.bin %> <%= command.id %> --output reconcile.json',
    '<%= config.bin %> <%= command.id %> --apply',
  ]

  static override flags = {
    apply: Flags.boolean({description: 'repair: link matches, settle differences, create what is missing, fix links and associations'}),
    'dry-run': Flags.boolean({description: 'plan only (the default; conflicts with --apply)', exclusive: ['apply']}),
    details: Flags.boolean({description: 'list every record that is not in sync, with its per-field diff'}),
    output: Flags.string({description: 'write the full report (every item, JSON) to this file for review'}),
    module: passModuleFlag(),
    ...conflictFlag,
    ...mapsDirFlag,
  }

  async run(): Promise<ReconcileResult> {
    const config = this.loadConfig()
    const details = Boolean(this.flags.details || this.flags.output)
    const outcome = await runReconcile({
      config,
      flags: {apply: this.flags.apply, module: this.flags.module, details},
      renderer: this.renderer,
      warn: (message) => this.note(message),
    })
    if (outcome.skippedBecauseLocked || !outcome.report) {
      const holder = outcome.skippedBecauseLocked?.holder ?? 'locked'
      process.stderr.write(`cbhs reconcile: ${holder}; nothing done.\n`)
      return {runId: null, skipped: holder, report: null}
    }
    const report = outcome.report
    for (const warning of report.warnings.slice(0, 50)) this.note(warning)
    if (report.warnings.length > 50) this.note(`${report.warnings.length - 50} more warnings (see --output)`)
    if (this.flags.output) {
      writeFileSync(this.flags.output, JSON.stringify({runId: outcome.runId ?? null, ...report}, null, 2) + '\n')
      if (!this.jsonEnabled()) process.stderr.write(`Report written to ${this.flags.output} (${report.items.length} items).\n`)
    }
    const notOptedIn = Object.fromEntries(Object.entries(report.modules).map(([module, c]) => [module, c.notOptedIn]))
    const optIn = renderNotOptedIn({notOptedIn, optInMode: config.sync.optIn})
    this.print([renderReconcileReport(report, {details: Boolean(this.flags.details)}), ...(optIn ? [optIn] : [])].join('\n'))
    if (outcome.exitCode !== 0) process.exitCode = outcome.exitCode
    return {runId: outcome.runId ?? null, skipped: null, report}
  }
}
