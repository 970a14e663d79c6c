/**
 * Human renderings of a pass: one compact table per direction, the dry-run plan summarised per
 * module, failures by category with only the new ones listed (a cron log grows by a few lines per
 * pass, not by the whole ledger), the records the opt-in leaves out, and the closing line.
 */
import type {FailureInfo, LedgerAfterRun} from '../corebos/status.js'
import type {ModuleCounts, PassReport, PlanItem} from '../sync/engine.js'
import {totalCalls} from '../sync/engine.js'
import type {CrmModule} from '../sync/types.js'
import {formatDuration} from './progress.js'
import {renderTable, type Column} from './table.js'

/** failures listed by name in a pass's output; the rest are one command away */
export const LISTED_FAILURES = 10
const n = (value: number) => value.toLocaleString('en-US')
const plural = (count: number, word: string) => `${n(count)} ${word}${count === 1 ? '' : 's'}`

/** What the command layer adds to the engine's reports after the pass. */
export interface PassContext {
  /** the ledger as the run left it; null for dry runs (nothing is recorded) */
  ledger: LedgerAfterRun | null
  /** live records the opt-in leaves out, per module of the pass */
  notOptedIn: Partial<Record<CrmModule, number>>
  optInMode: Partial<Record<CrmModule, 'explicit' | 'default-on'>>
  /** true when no real pass of this kind had ever completed before this one */
  firstPass: boolean
}

function moved(c: ModuleCounts): number {
  return c.created + c.updated + c.archived + c.markedDeleted + c.linked
}

export function renderPassReport(report: PassReport, context: PassContext): string {
  const out: string[] = []
  const verb = report.dryRun ? 'would be ' : ''
  out.push(`${report.direction}${report.dryRun ? ' (dry run: nothing was written)' : ''}: ${plural(totalCalls(report.apiCalls), 'HubSpot API call')}`)
  const entries = Object.entries(report.modules) as Array<[CrmModule, ModuleCounts]>
  const active = entries.filter(([, c]) => c.read + moved(c) + c.failed > 0)
  if (active.length === 0) out.push(nothingToDo(report, context))
  else {
    // compact: the columns every pass has, and the others only when some module has a count there
    const counters: Array<[string, (c: ModuleCounts) => number, boolean]> = [
      ['read', (c) => c.read, true],
      [`${verb}created`, (c) => c.created, true],
      [`${verb}updated`, (c) => c.updated, true],
      [`${verb}archived`, (c) => c.archived, false],
      ['deleted', (c) => c.markedDeleted, false],
      ['linked', (c) => c.linked, false],
      ['unchanged', (c) => c.skipped, false],
      ['conflicts', (c) => c.conflicts, false],
    ]
    const shown = counters.filter(([, get, always]) => always || active.some(([, c]) => get(c) > 0))
    const right = (head: string): Column => ({head, align: 'right'})
    out.push(
      renderTable(
        [{head: 'module', fit: 'keep'}, ...shown.map(([head]) => right(head)), right('failed')],
        active.map(([module, c]) => [module, ...shown.map(([, get]) => n(get(c))), failedCell(c)]),
      ),
    )
  }
  if (report.dryRun && report.plan.length + report.failures.length > 0) out.push(...renderPlanSummary(report.plan, report.failures))
  if (report.conflicts.length > 0) {
    const byField = countBy(report.conflicts, (c) => `${c.module}.${c.key}`)
    out.push(`Conflicts (changed on both sides, settled by policy ${report.conflicts[0]!.policy}): ${report.conflicts.length} — ${topList(byField, 5)}`)
  }
  if (report.incomplete.length > 0) out.push(`Stopped early (--limit) for ${report.incomplete.join(', ')}: the next pass resumes there.`)
  if (report.dryRun && report.failures.length > 0) {
    out.push(`Predicted failures: ${n(report.failures.length)} — ${topList(countBy(report.failures, (f) => f.category), 5)}`)
  }
  return out.join('\n')
}

function failedCell(c: ModuleCounts): string {
  if (!c.failed) return '0'
  const handled = c.read || c.failed
  return `${n(c.failed)} (${Math.round((c.failed / handled) * 100)} %)`
}

/** The "nothing to do" line, true to the reason: no change, or records left out by the opt-in. */
function nothingToDo(report: PassReport, context: PassContext): string {
  const left = Object.values(context.notOptedIn).reduce((a, b) => a + (b ?? 0), 0)
  if (report.direction === 'push' && left > 0) {
    const since = context.firstPass ? 'no opted-in record to send' : 'no opted-in record changed since the last pass'
    return `Nothing to do: ${since}; ${n(left)} record${left === 1 ? ' is' : 's are'} not opted in (see below).`
  }
  if (report.direction === 'pull') return context.firstPass ? 'Nothing to do: HubSpot holds no object to bring in.' : 'Nothing to do: nothing changed in HubSpot since the last pass.'
  return context.firstPass ? 'Nothing to do: coreBOS holds no record to send.' : 'Nothing to do: no changes since the last pass.'
}

/** `Not opted in: Accounts 1,204, Contacts 1,853 (explicit opt-in) — …how to opt them in` */
export function renderNotOptedIn(context: Pick<PassContext, 'notOptedIn' | 'optInMode'>): string | null {
  const rows = (Object.entries(context.notOptedIn) as Array<[CrmModule, number]>).filter(([, count]) => count > 0)
  if (rows.length === 0) return null
  const modes = new Set(rows.map(([module]) => context.optInMode[module] ?? 'explicit'))
  const how = modes.has('explicit')
    ? 'tick "Sync with HubSpot" (hubspotsyncwith) on the records to sync, or set sync.optIn to "default-on" (CBHS_OPT_IN) to sync every record not explicitly unticked'
    : 'these records are explicitly unticked ("Sync with HubSpot" = 0)'
  return `Not opted in: ${rows.map(([module, count]) => `${module} ${n(count)}`).join(', ')} (${[...modes].join('/')} opt-in) — ${how}.`
}

/**
 * Per module: how many creates, updates… which fields change most, and the failures predicted
 * (HubSpot's validation included: an e-mail it refuses, a required property missing); the full
 * plan, record by record and field by field, is in --output/--json.
 */
function renderPlanSummary(plan: PlanItem[], failures: PassReport['failures']): string[] {
  const modules = [...new Set([...plan.map((p) => p.module), ...failures.map((f) => f.module)])]
  const rows = modules.map((module) => {
    const items = plan.filter((p) => p.module === module)
    const actions = countBy(items, (p) => p.action)
    const fields = countBy(
      items.flatMap((p) => p.changes.map((c) => c.key)),
      (k) => k,
    )
    const failed = countBy(
      failures.filter((f) => f.module === module),
      (f) => f.category,
    )
    // one category a line: short codes that stay whole while the field list gives way
    return [module, topList(actions, 7) || '—', topList(fields, 4) || '—', topList(failed, 3, '\n') || '—']
  })
  return [
    `Plan (${plural(plan.length, 'record')}; --output FILE or --json has every record and field):`,
    renderTable([{head: 'module', fit: 'keep'}, 'actions', 'fields changed (records)', {head: 'predicted failures', fit: 'keep'}], rows),
  ]
}

function countBy<T>(items: T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>()
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1)
  return counts
}

/** 'update 12, create 3' — most frequent first, '+N more' past `max`. */
function topList(counts: Map<string, number>, max: number, separator = ', '): string {
  const sorted = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
  const shown = sorted.slice(0, max).map(([k, v]) => `${k} ${n(v)}`)
  if (sorted.length > max) shown.push(`+${sorted.length - max} more`)
  return shown.join(separator)
}

function failureRecord(f: Pick<FailureInfo, 'module' | 'crmid' | 'hubspotId'>): string {
  if (f.crmid !== null) return `${f.module} ${f.crmid}`
  return `${f.module} ← HubSpot ${f.hubspotId ?? '?'}`
}

/**
 * The ledger after a pass: open failures by category (how many new), and the new ones by name,
 * at most LISTED_FAILURES of them; the rest and every message in full are one command away.
 */
export function renderLedger(ledger: LedgerAfterRun): string[] {
  if (ledger.open === 0) return []
  const out: string[] = []
  const categories = ledger.byCategory.map((g) => `${g.category} ${n(g.open)}${g.fresh ? ` (${n(g.fresh)} new)` : ''}`)
  out.push(`Failures open: ${n(ledger.open)} (${n(ledger.fresh)} new) — ${categories.join(', ')}`)
  if (ledger.freshEntries.length > 0) {
    out.push(
      renderTable(
        [{head: 'id', fit: 'keep', align: 'right'}, {head: 'record', fit: 'keep'}, {head: 'category', fit: 'keep'}, {head: 'error', fit: 'cut'}],
        ledger.freshEntries.map((f) => [f.id, failureRecord(f), f.category ?? '', f.message]),
      ),
    )
    if (ledger.fresh > ledger.freshEntries.length) out.push(`… and ${n(ledger.fresh - ledger.freshEntries.length)} more new.`)
  }
  out.push('Every open failure: `cbhs status --failures [--category C] [--module M]`; one in full: `cbhs status --failure ID`.')
  return out
}

export interface ClosingLineInput {
  runId: number | null
  command: string
  exitCode: number
  durationMs: number
  reports: PassReport[]
  ledger: LedgerAfterRun | null
}

/** `run #12 sync exit 5 in 2.1 s: pulled 0, pushed 3 (2 created, 1 updated), 56 failures open (3 new) — cbhs status --failures` */
export function closingLine(input: ClosingLineInput): string {
  const parts = input.reports.map((r) => {
    const total = {created: 0, updated: 0, archived: 0, markedDeleted: 0, linked: 0}
    for (const c of Object.values(r.modules)) for (const k of Object.keys(total) as Array<keyof typeof total>) total[k] += c?.[k] ?? 0
    const sum = Object.values(total).reduce((a, b) => a + b, 0)
    const detail = (Object.entries(total) as Array<[keyof typeof total, number]>)
      .filter(([, v]) => v > 0)
      .map(([k, v]) => `${n(v)} ${k === 'markedDeleted' ? 'marked deleted' : k}`)
    const verb = r.direction === 'push' ? 'pushed' : 'pulled'
    return `${r.dryRun ? `would have ${verb}` : verb} ${n(sum)}${detail.length > 1 ? ` (${detail.join(', ')})` : detail.length === 1 && sum > 0 ? ` (${detail[0]})` : ''}`
  })
  let line = `run #${input.runId ?? '?'} ${input.command} exit ${input.exitCode} in ${formatDuration(input.durationMs)}: ${parts.join(', ')}`
  if (input.ledger) {
    line += input.ledger.open === 0 ? ', no failures open' : `, ${plural(input.ledger.open, 'failure')} open (${n(input.ledger.fresh)} new) — cbhs status --failures`
  }
  return line
}
