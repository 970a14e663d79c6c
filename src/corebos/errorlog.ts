/**
 * Mirrors a sync failure into coreBOS's message queue as an `errorlog` row in the format the legacy
 * integration wrote (reference corebos.md §7), so admins who watch that log in coreBOS keep seeing
 * HubSpot errors after switching to cbhs. Optional: the failures ledger stays the source of truth.
 */
import {redact} from '../errors.js'
import type {CrmModule, Direction} from '../sync/types.js'
import type {Pool} from './connection.js'
import {instantToNaive} from '../maps/time.js'

/** ~370 days, as the legacy logMessage() */
const EXPIRES_SECONDS = 32_000_000

export interface MirroredFailure {
  module: CrmModule
  direction: Direction
  crmid?: number | null
  hubspotId?: string | null
  category?: string | null
  message: string
  attempts?: number
}

const columnCache = new WeakMap<Pool, Promise<Set<string> | null>>()

async function queueColumns(pool: Pool): Promise<Set<string> | null> {
  let cached = columnCache.get(pool)
  if (!cached) {
    cached = pool
      .query(
        `SELECT TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.COLUMNS
          WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN ('cb_messagequeue', 'cb_mqsubscriptions')`,
      )
      .then(([rows]) => {
        const set = new Set<string>()
        for (const r of rows as Array<{t: string; c: string}>) {
          set.add(r.t.toLowerCase() === 'cb_messagequeue' ? r.c.toLowerCase() : `cb_mqsubscriptions.${r.c.toLowerCase()}`)
        }
        return set.has('information') ? set : null
      })
    columnCache.set(pool, cached)
    // a failed lookup must not be cached forever
    cached.catch(() => columnCache.delete(pool))
  }
  return cached
}

function columnsOfSubscriptions(columns: Set<string>): boolean {
  return columns.has('cb_mqsubscriptions.channel')
}

/** A naive 'YYYY-MM-DD HH:MM:SS' in `timezone`, the way PHP's date() writes coreBOS DATETIMEs. */
export function naiveDatetime(ms: number, timezone: string): string {
  return instantToNaive(ms, timezone)
}

/** PHP print_r of strings, numbers and nested string-keyed arrays. */
export function printR(value: unknown, indent = 0): string {
  if (value === null || value === undefined || value === false) return ''
  if (value === true) return '1'
  if (typeof value !== 'object') return String(value)
  const pad = ' '.repeat(indent)
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value as Record<string, unknown>)
  let out = `Array\n${pad}(\n`
  // a nested array's text ends with ')\n', so the entry's newline leaves PHP's blank line after it
  for (const [key, v] of entries) out += `${pad}    [${key}] => ${printR(v, indent + 8)}\n`
  return out + `${pad})\n`
}

/**
 * Writes the errorlog row(s); returns how many (0 when this coreBOS has no message queue). With
 * share P:S, coreBOS fans a message out to every subscriber of the channel when the
 * (channel, producer, consumer) subscription exists, else writes one row: done the same here.
 */
export async function mirrorFailureToMessageQueue(
  pool: Pool,
  failure: MirroredFailure,
  timezone: string,
  options: {producer?: string; now?: () => number} = {},
): Promise<number> {
  const columns = await queueColumns(pool)
  if (!columns) return 0
  const producer = options.producer ?? 'cbhs'
  const nowMs = (options.now ?? Date.now)()
  const senton = naiveDatetime(nowMs, timezone)
  const expires = naiveDatetime(nowMs + EXPIRES_SECONDS * 1000, timezone)
  const info: Record<string, unknown> = {module: failure.module, direction: failure.direction}
  if (failure.crmid != null) info.crmid = failure.crmid
  if (failure.hubspotId) info.hubspotid = failure.hubspotId
  if (failure.category) info.category = failure.category
  if (failure.attempts != null) info.attempts = failure.attempts
  const information = redact(printR({error: `[${failure.direction} ${failure.module}]: ${failure.message}`, info}))

  let consumers = ['logmanager']
  if (columnsOfSubscriptions(columns)) {
    const [subs] = await pool.query(
      "SELECT 1 FROM cb_mqsubscriptions WHERE channel = 'errorlog' AND producer = ? AND consumer = 'logmanager' LIMIT 1",
      [producer],
    )
    if ((subs as unknown[]).length > 0) {
      const [rows] = await pool.query("SELECT consumer FROM cb_mqsubscriptions WHERE channel = 'errorlog'")
      consumers = (rows as Array<{consumer: string}>).map((r) => r.consumer)
    }
  }

  const names = ['channel', 'producer', 'consumer', 'type', 'share', 'sequence', 'senton', 'deliverafter', 'expires', 'version', 'invalid', 'invalidreason', 'userid', 'information']
  const base: unknown[] = ['errorlog', producer, null, 'Event', 'P:S', 0, senton, senton, expires, '2.0', 0, '', 0, information]
  // the 2022 delivery-window columns exist only on upgraded installs
  const extra: Array<[string, unknown]> = [
    ['deliverstarttime', '00:00:00'],
    ['deliverendtime', '23:59:59'],
    ['cansendonsaturday', 1],
    ['cansendonsunday', 1],
  ].filter(([name]) => columns.has(name as string)) as Array<[string, unknown]>
  const allNames = [...names, ...extra.map(([n]) => n)]
  const rows = consumers.map((consumer) => {
    const row = [...base, ...extra.map(([, v]) => v)]
    row[2] = consumer
    return row
  })
  if (rows.length === 0) return 0
  await pool.query(`INSERT INTO cb_messagequeue (${allNames.map((n) => '`' + n + '`').join(', ')}) VALUES ?`, [rows])
  return rows.length
}
