/** Human rendering of `cbhs status`: problems first, then one row per module and direction. */
import {describeHolder, type DirectionStatus, type FailureInfo, type RunInfo, type StatusResult} from '../corebos/status.js'
import {formatAge} from '../health.js'
import {futureDatedNote} from '../sync/streams.js'
import type {FailureEntry} from '../sync/ports.js'
import {outputWidth, renderTable, type Column} from './table.js'

export interface RenderStatusOptions {
  nowMs: number
  timezone: string
  /** list the failures ledger */
  failures?: boolean
  /** list the run history */
  runs?: boolean
  /** the failures filter, when --module or --category narrowed the list */
  filter?: string
}

/** '2025-06-30 22:30 UTC' */
function utc(iso: string | null): string {
  if (!iso) return '—'
  const ms = Date.parse(iso)
  if (Number.isNaN(ms)) return iso
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + ' UTC'
}

function ago(iso: string | null, nowMs: number): string {
  if (!iso) return 'never'
  const ms = Date.parse(iso)
  if (Number.isNaN(ms)) return iso
  return nowMs >= ms ? `${formatAge(nowMs - ms)} ago` : `in ${formatAge(ms - nowMs)}`
}

const keep = (head: string, align: Column['align'] = 'left'): Column => ({head, fit: 'keep', align})

const n = (value: number) => value.toLocaleString('en-US')

/** '38 s', '2 h 5 min' since an instant (headers say "ago"), or 'never'. */
function since(iso: string | null, nowMs: number): string {
  if (!iso) return 'never'
  const ms = Date.parse(iso)
  return Number.isNaN(ms) ? iso : formatAge(Math.max(0, nowMs - ms))
}

/** One row per module and direction; the watermark only where the terminal has room (it is in --json). */
function directionRow(module: string, direction: string, d: DirectionStatus, linked: number, nowMs: number, withWatermark: boolean): Array<string | number> {
  const lag = d.behindSeconds === null ? '—' : formatAge(d.behindSeconds * 1000)
  let completed = since(d.lastCompletedAt, nowMs)
  if (d.stale) completed += ' STALE'
  const attempt = d.lastOutcome ? `${d.lastOutcome} ${since(d.lastOutcomeAt, nowMs)}` : 'never run'
  const failed = d.givenUp > 0 ? `${d.failed} (${d.givenUp} given up)` : d.failed
  const row: Array<string | number> = [module, direction, lag, d.pending ?? '—', failed, linked, completed, attempt]
  if (withWatermark) {
    let watermark = d.watermarkAt ? utc(d.watermarkAt).replace(' UTC', '') : d.watermark ?? '—'
    if (d.watermarkOf) watermark += ` (${d.watermarkOf})`
    if (d.resumable) watermark += ' (resumable)'
    row.push(watermark)
  }
  return row
}

export function renderStatus(status: StatusResult, options: RenderStatusOptions): string {
  const {nowMs} = options
  const out: string[] = []
  const db = status.database
  const problems = status.health.problems
  out.push(
    `cbhs status: ${status.health.state}${problems.length > 0 ? `, ${problems.length} problem(s)` : ''} ` +
      `(database ${db.name} on ${db.host}:${db.port}, ${utc(status.generatedAt)})`,
  )
  for (const p of problems) out.push(`  ${p.severity.padEnd(8)} ${p.subject}: ${p.message}`)
  out.push('')

  const withWatermark = outputWidth() >= 100
  const rows: Array<Array<string | number>> = []
  for (const m of status.modules) {
    rows.push(directionRow(m.module, 'push', m.push, m.linked, nowMs, withWatermark))
    rows.push(directionRow(m.module, 'pull', m.pull, m.linked, nowMs, withWatermark))
  }
  for (const a of status.activities ?? []) rows.push(directionRow(a.stream, a.direction, a, a.linked, nowMs, withWatermark))
  const heads: Column[] = [keep('module'), keep('dir'), keep('lag', 'right'), keep('pending', 'right'), keep('failed', 'right'), keep('linked', 'right'), {head: 'last pass ago'}, {head: 'last attempt ago'}]
  if (withWatermark) heads.push({head: 'watermark (UTC)'})
  out.push(renderTable(heads, rows))
  for (const m of status.modules) {
    const future = m.push.futureDated
    if (future && future.count > 0) out.push(`${futureDatedNote(m.module, future.count, future.sample)}: each push sends ${future.count === 1 ? 'it' : 'them'} again until that time has come`)
  }

  for (const a of status.activities ?? []) {
    const categories = Object.entries(a.failuresByCategory)
    if (categories.length > 0) out.push(`${a.stream} ${a.direction}: ${a.failed} open (${categories.map(([c, n]) => `${c} ${n}`).join(', ')})`)
  }

  const lock = status.lock
  if (!lock.held) out.push('Lock: free (no pass running)')
  else {
    const since = lock.since ? ` since ${utc(lock.since)} (${formatAge((lock.heldSeconds ?? 0) * 1000)})` : ' (since: unknown, the holder recorded no run)'
    out.push(`Lock: held by ${describeHolder(lock)}${since}`)
  }

  const f = status.failures
  out.push(
    f.open === 0
      ? 'Failures: none open'
      : `Failures: ${f.open} open, ${f.due} due for retry, ${f.givenUp} given up${options.failures ? '' : ' (`cbhs status --failures` lists them)'}`,
  )

  const api = status.api
  const pct = api.dailyLimit > 0 ? ` (${Math.floor((api.today / api.dailyLimit) * 1000) / 10} %)` : ''
  out.push(
    `HubSpot API calls today (since 00:00 UTC, cbhs runs only): ${n(api.today)} of ${n(api.dailyLimit)}${pct}, ` +
      (api.limitFrom === 'flag' ? 'limit from --daily-limit' : `${api.tier} tier`),
  )

  const queue = status.carrierWrites
  if (queue.queued > 0) {
    out.push(`crmid write-backs queued for HubSpot: ${n(queue.queued)}, the oldest since ${utc(queue.oldestAt!)}; each pull sends what its unused API budget allows`)
  }

  const last = status.runs[0]
  if (last && !options.runs) out.push(`Last run: ${runLine(last, nowMs)}`)
  if (status.legacy.found && (status.legacy.lastPollAt || status.legacy.pollSyncing)) {
    out.push(`Legacy poller: last poll ${ago(status.legacy.lastPollAt, nowMs)}${status.legacy.pollSyncing ? `, hubspot_pollsyncing = '${status.legacy.pollSyncing}'` : ''}`)
  }

  const a = status.actions
  if (a.retried + a.dismissed + a.mirrored > 0) {
    const done = [a.retried ? `${a.retried} retried` : '', a.dismissed ? `${a.dismissed} dismissed` : '', a.mirrored ? `${a.mirrored} errorlog message(s) written` : '']
    out.push(`Done: ${done.filter(Boolean).join(', ')}`)
  }

  if (options.failures) out.push('', renderFailures(f.entries, nowMs, f.truncated ? f.open : null, options.filter))
  if (options.runs) out.push('', renderRuns(status.runs, nowMs))
  return out.join('\n')
}

function runLine(run: RunInfo, nowMs: number): string {
  const parts = [`#${run.id} ${run.command}${run.dryRun ? ' (dry run)' : ''}`, `started ${ago(run.startedAt, nowMs)}`]
  if (run.state === 'running') parts.push('running now')
  else if (run.state === 'unfinished') parts.push('did not finish')
  else parts.push(`exit ${run.exitCode ?? '?'}`, `${run.durationSeconds ?? '?'} s`, `${run.apiCalls} API calls`)
  return parts.join(', ')
}

function failureRecord(f: Pick<FailureInfo, 'module' | 'crmid' | 'hubspotId'>): string {
  if (f.crmid !== null) return `${f.module} ${f.crmid}${f.hubspotId ? ` / HubSpot ${f.hubspotId}` : ''}`
  return `${f.module} ← HubSpot ${f.hubspotId ?? '?'}`
}

export function renderFailures(entries: FailureInfo[], nowMs: number, total: number | null, filter?: string): string {
  if (entries.length === 0) return filter ? `Failures ledger: no open failure matches ${filter}.` : 'Failures ledger: empty.'
  const rows = entries.map((f) => [
    f.id,
    f.crmid !== null ? `${f.module} ${f.crmid}` : failureRecord(f),
    f.direction,
    f.category ?? '',
    f.message,
    f.attempts,
    f.givenUp ? 'given up' : f.nextRetryAt && Date.parse(f.nextRetryAt) <= nowMs ? 'due now' : ago(f.nextRetryAt, nowMs),
  ])
  const out = [
    `Failures ledger (open${filter ? `, ${filter}` : ''}${total !== null ? `, ${entries.length} of ${total}` : ''}; \`--retry <id|all>\` retries on the next pass, \`--dismiss <id>\` closes):`,
    renderTable([keep('id', 'right'), keep('record'), keep('dir'), keep('category'), {head: 'error', fit: 'cut'}, {head: 'tries', fit: 'keep', align: 'right'}, keep('next retry')], rows),
    'One in full (message, record, attempts, next retry): `cbhs status --failure ID`.',
  ]
  return out.join('\n')
}

/** 'created 3, updated 1, failed 1' over every module and direction of a run. */
function countsText(counts: Record<string, number>): string {
  const totals = new Map<string, number>()
  for (const [key, value] of Object.entries(counts)) {
    const counter = key.split('.').pop() ?? key
    if (counter === 'read' || counter === 'skipped') continue
    totals.set(counter, (totals.get(counter) ?? 0) + value)
  }
  return [...totals].map(([k, v]) => `${k} ${v}`).join(', ')
}

export function renderRuns(runs: RunInfo[], nowMs: number): string {
  if (runs.length === 0) return 'Runs: none yet.'
  const rows = runs.map((r) => [
    r.id,
    r.command + (r.dryRun ? ' (dry)' : ''),
    utc(r.startedAt),
    r.state === 'finished' ? `${r.durationSeconds ?? '?'} s` : r.state === 'running' ? `running ${ago(r.startedAt, nowMs).replace(' ago', '')}` : 'did not finish',
    r.exitCode ?? '—',
    r.apiCalls,
    countsText(r.counts) || '—',
    r.message ?? '',
  ])
  return ['Runs (newest first):', renderTable([keep('id', 'right'), 'command', 'started', 'duration', keep('exit', 'right'), keep('API calls', 'right'), 'counts', 'message'], rows)].join('\n')
}

/** One failure in full: every stored field, the whole message, and what can be done about it. */
export function renderFailure(f: FailureEntry, nowMs: number): string {
  const state = f.resolvedAt ? `resolved ${utc(f.resolvedAt)}` : f.givenUp ? 'open, given up (no more automatic retries)' : 'open'
  const retry = f.resolvedAt ? '—' : f.givenUp ? 'none (given up)' : f.nextRetryAt && Date.parse(f.nextRetryAt) <= nowMs ? 'due now (the next pass)' : `${utc(f.nextRetryAt)} (${ago(f.nextRetryAt, nowMs)})`
  const rows: Array<[string, string]> = [
    ['record', failureRecord(f)],
    ['direction', f.direction],
    ['category', f.category ?? '—'],
    ['state', state],
    ['attempts', String(f.attempts)],
    ['first failed', `${utc(f.firstFailedAt)} (${ago(f.firstFailedAt, nowMs)})`],
    ['last failed', `${utc(f.lastFailedAt)} (${ago(f.lastFailedAt, nowMs)})`],
    ['next retry', retry],
  ]
  const out = [`Failure ${f.id}`, ...rows.map(([k, v]) => `  ${`${k}:`.padEnd(14)}${v}`), '  message:', ...f.message.split(/\r?\n/).map((line) => `    ${line}`)]
  if (!f.resolvedAt) out.push(`Retry on the next pass: \`cbhs status --retry ${f.id}\`; close without syncing: \`cbhs status --dismiss ${f.id}\`.`)
  return out.join('\n')
}
