/** Human rendering of a reconcile report: counts per class and module, then the per-record diff. */
import type {ReconcileItem, ReconcileReport} from '../sync/reconcile.js'
import {RECONCILE_CLASSES} from '../sync/reconcile.js'
import {totalCalls} from '../sync/engine.js'
import {renderTable, type Column} from './table.js'

const MAX_ROWS = 500

const CLASS_LABELS: Record<string, string> = {
  inSync: 'in sync',
  different: 'different',
  match: 'match',
  ambiguous: 'ambiguous',
  onlyCrm: 'only coreBOS',
  onlyHubSpot: 'only HubSpot',
  brokenLink: 'broken link',
  associationDrift: 'assoc. drift',
  duplicate: 'duplicate',
  notOptedIn: 'not opted in',
  excluded: 'excluded',
}

function clip(value: string | null | undefined, width = 40): string {
  if (value === null || value === undefined) return '∅'
  const flat = value.replace(/\s+/g, ' ')
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat
}

function record(item: ReconcileItem): string {
  const crm = item.crmid !== null ? `${item.module} ${item.crmid}` : item.module
  return item.hubspotId ? `${crm} ↔ HubSpot ${item.hubspotId}` : crm
}

export function renderReconcileReport(report: ReconcileReport, options: {details: boolean}): string {
  const out: string[] = []
  const mode = report.apply ? 'applied' : 'dry run: nothing was written; --apply to repair'
  out.push(`reconcile (${mode}; conflict policy ${report.policy}): ${report.read.crm} coreBOS records and ${report.read.hubspot} HubSpot objects read, ${totalCalls(report.apiCalls)} HubSpot API calls`)
  // compact: only the classes some module has records in
  const modules = Object.entries(report.modules)
  const columns = ([...RECONCILE_CLASSES, 'notOptedIn', 'excluded'] as const).filter((k) => k === 'inSync' || modules.some(([, c]) => c[k] > 0))
  const rows = modules.map(([module, c]) => [module, ...columns.map((k) => c[k])])
  out.push(renderTable([{head: 'module', fit: 'keep'}, ...columns.map((k): Column => ({head: CLASS_LABELS[k]!, align: 'right'}))], rows))

  const appliedRows = Object.entries(report.applied)
    .filter(([, a]) => Object.values(a).some((v) => v > 0))
    .map(([module, a]) => [module, a.linked, a.updatedCrm, a.updatedHubSpot, a.createdCrm, a.createdHubSpot, a.archivedHubSpot, a.markedDeleted, a.relinked + a.linksRetired, a.associationsRepaired, a.failed])
  if (appliedRows.length > 0) {
    const heads = ['linked', 'coreBOS updated', 'HubSpot updated', 'coreBOS created', 'HubSpot created', 'HubSpot archived', 'marked deleted', 'links fixed', 'assoc. repaired', 'failed']
    const used = heads.map((_, i) => appliedRows.some((r) => Number(r[i + 1]) > 0))
    out.push('Applied:')
    out.push(
      renderTable(
        [{head: 'module', fit: 'keep'}, ...heads.filter((_, i) => used[i]).map((head): Column => ({head, align: 'right'}))],
        appliedRows.map(([module, ...values]) => [module!, ...values.filter((_, i) => used[i])]),
      ),
    )
  }

  if (options.details && report.items.length > 0) {
    const diff: string[][] = []
    for (const item of report.items) {
      if (diff.length >= MAX_ROWS) break
      const head = [record(item), CLASS_LABELS[item.class], item.action]
      const lines: string[] = []
      for (const c of item.changes ?? []) {
        lines.push(`${c.key}: coreBOS ${clip(c.crm)} | HubSpot ${clip(c.hubspot)}${c.base !== undefined ? ` | was ${clip(c.base)}` : ''} → ${c.winner} (${c.changed})`)
      }
      if (item.association) {
        const a = item.association
        lines.push(`associations: coreBOS ${a.crm ?? '∅'} | HubSpot ${a.hubspot.join(', ') || '∅'}${a.base ? ` | was ${a.base.join(', ') || '∅'}` : ''} → ${a.winner} (${a.changed})`)
      }
      if (item.candidates?.crmids) lines.push(`coreBOS records: ${item.candidates.crmids.join(', ')}`)
      diff.push([...head, [item.reason, ...lines].join('\n')])
    }
    out.push('Details:')
    out.push(renderTable(['record', 'class', 'action', 'reason / field: coreBOS | HubSpot | last synced → winner'], diff))
    if (report.items.length > diff.length) out.push(`(${report.items.length} items in all; --output FILE writes every one)`)
  } else if (!options.details) {
    const open = report.items.length
    if (open === 0) out.push('Run with --details for the per-record diff, or --output FILE for a JSON report to review.')
  }
  if (report.failures.length > 0) {
    out.push(`Failed records (${report.failures.length}; in the ledger, retried by the next pass — see \`cbhs status\`):`)
    out.push(
      renderTable(
        ['record', 'HubSpot id', 'category', {head: 'error', fit: 'cut'}],
        report.failures.slice(0, MAX_ROWS).map((f) => [f.crmid === null ? f.module : `${f.module} ${f.crmid}`, f.hubspotId ?? '', f.category, f.message]),
      ),
    )
  }
  return out.join('\n')
}
