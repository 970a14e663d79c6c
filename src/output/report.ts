/** Human renderings of pass reports: one summary table, the dry-run diff, conflicts, failures. */
import type {PassReport} from '../sync/engine.js'
import {totalCalls} from '../sync/engine.js'
import {renderTable} from './table.js'

const MAX_ROWS = 200

function clip(value: string | null, width = 60): string {
  if (value === null) return '∅'
  const flat = value.replace(/\s+/g, ' ')
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat
}

export function renderPassReport(report: PassReport): string {
  const out: string[] = []
  const rows = Object.entries(report.modules)
    .filter(([, c]) => c.read + c.created + c.updated + c.archived + c.failed + c.markedDeleted + c.linked > 0)
    .map(([module, c]) => [module, c.read, c.created, c.updated, c.archived, c.markedDeleted, c.linked, c.skipped, c.conflicts, c.failed])
  const verb = report.dryRun ? 'would be ' : ''
  out.push(
    `${report.direction}${report.dryRun ? ' (dry run: nothing was written)' : ''}: ${totalCalls(report.apiCalls)} HubSpot API calls`,
  )
  if (rows.length === 0) out.push('Nothing to do: no changes since the last pass.')
  else out.push(renderTable(['module', 'read', `${verb}created`, `${verb}updated`, `${verb}archived`, 'marked deleted', 'linked', 'unchanged', 'conflicts', 'failed'], rows))

  if (report.dryRun && report.plan.length > 0) {
    const diff: string[][] = []
    for (const item of report.plan) {
      const record = item.crmid !== null ? `${item.module} ${item.crmid}` : `${item.module} ← HubSpot ${item.hubspotId}`
      if (item.changes.length === 0) diff.push([record, item.action, '', item.reason])
      for (const [i, change] of item.changes.entries()) {
        diff.push([i === 0 ? record : '', i === 0 ? item.action : '', change.key, `${clip(change.old)} → ${clip(change.new)}`])
      }
      if (diff.length >= MAX_ROWS) break
    }
    out.push('Plan:')
    out.push(renderTable(['record', 'action', 'field', 'old → new'], diff))
    if (report.plan.length > diff.length) out.push(`(${report.plan.length} planned changes in all; --json lists every one)`)
  }
  if (report.conflicts.length > 0) {
    out.push('Conflicts (changed on both sides since the last sync):')
    out.push(
      renderTable(
        ['record', 'field', 'coreBOS', 'HubSpot', 'winner'],
        report.conflicts.slice(0, MAX_ROWS).map((c) => [`${c.module} ${c.crmid}`, c.key, clip(c.crm, 30), clip(c.hubspot, 30), `${c.winner} (${c.policy})`]),
      ),
    )
  }
  if (report.failures.length > 0) {
    out.push(`Failed records (${report.failures.length}; in the ledger, retried next pass — see \`cbhs status --failures\`):`)
    out.push(
      renderTable(
        ['record', 'HubSpot id', 'category', 'error'],
        report.failures.slice(0, MAX_ROWS).map((f) => [f.crmid === null ? f.module : `${f.module} ${f.crmid}`, f.hubspotId ?? '', f.category, clip(f.message, 80)]),
      ),
    )
  }
  if (report.incomplete.length > 0) out.push(`Stopped early (--limit) for ${report.incomplete.join(', ')}: the next pass resumes there.`)
  return out.join('\n')
}
