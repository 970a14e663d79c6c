/**
 * The cbhs state store: watermarks, links with their snapshots, run history and the failures
 * ledger, in the cbhs_* tables `setup` creates (see setup.ts for the DDL).
 *
 * Times: every timestamp we write is UTC with milliseconds (DATETIME(3)), taken from the injected
 * clock so tests can move time; they come back as ISO strings ('2025-01-02T03:04:05.678Z').
 * Messages are passed through redact() before they are stored: the ledger is shown by `status` and
 * may be read by people who must not see tokens or passwords.
 */
import {hostname} from 'node:os'
import {CbhsError, ConfigError, EXIT, redact} from '../errors.js'
import {hostNowMs} from '../host-clock.js'
import type {FailureEntry, FailureResolution, Link, RunRecord, StateStore, Watermark} from '../sync/ports.js'
import {CRM_MODULES, OBJECT_TYPE_OF_MODULE, type CrmModule, type Direction, type HubSpotObjectType} from '../sync/types.js'
import {quoteIdent, type Pool, type PoolConnection} from './connection.js'
import {inRetriedTransaction, retryLockVictim} from './lock-retry.js'

/** lookups by IN list are chunked so one statement stays well under max_allowed_packet */
const LOOKUP_CHUNK = 1000
/** multi-row upserts: at most this many rows or this many bytes of values per statement */
const UPSERT_ROWS = 500
const UPSERT_BYTES = 4 * 1024 * 1024

export const DEFAULT_MAX_ATTEMPTS = 10
/** first retry after 6 minutes (one cron period), doubling, never more than a day apart */
export const RETRY_BASE_MS = 6 * 60 * 1000
export const RETRY_CAP_MS = 24 * 60 * 60 * 1000

export type RunOutcome = 'ok' | 'partial' | 'failed'

export interface StateStoreOptions {
  /** attempts after which an entry is given up (still listed, no longer retried automatically) */
  maxAttempts?: number
  /** the clock for every timestamp we write; defaults to Date.now */
  now?: () => number
}

export interface WatermarkStatus extends Watermark {
  lastRunId: number | null
  lastOutcome: RunOutcome | null
  lastOutcomeAt: string | null
  lastSuccessAt: string | null
  lastMessage: string | null
}

export interface FailureSummaryRow {
  module: CrmModule
  direction: Direction
  open: number
  due: number
  givenUp: number
  oldestFirstFailedAt: string | null
}

export interface FailureCounts {
  open: number
  due: number
  givenUp: number
}

export interface RunRecordDetail extends RunRecord {
  host: string | null
  pid: number | null
  lockConnectionId: number | null
}

/** Thrown by saveLinks when a HubSpot object would end up linked to two coreBOS records. */
export class LinkConflictError extends CbhsError {
  constructor(
    message: string,
    readonly conflicts: Array<{objectType: HubSpotObjectType; hubspotId: string; existing: {module: CrmModule; crmid: number}; incoming: {module: CrmModule; crmid: number}}>,
  ) {
    super('LINK_CONFLICT', message, {exitCode: EXIT.BUG, data: {conflicts}})
  }
}

/** The retry delay after `attempts` failures: 6 min × 2^(attempts-1), capped at 24 h. */
export function retryDelayMs(attempts: number): number {
  const exp = Math.max(0, attempts - 1)
  // 2^30 × 6 min overflows nothing but is absurd; the cap keeps it sane long before
  return Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** Math.min(exp, 30))
}

/** 'YYYY-MM-DD HH:MM:SS.mmm' in UTC, the form of our DATETIME(3) columns. */
export function utcDatetime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '')
}

/** A DATETIME(3) string of ours (UTC) as an ISO instant; null stays null. */
export function isoFromUtc(value: string | null | undefined): string | null {
  if (value === null || value === undefined || value === '') return null
  const [date, time = '00:00:00'] = String(value).split(' ')
  const [hms, frac = ''] = time.split('.')
  return `${date}T${hms}.${(frac + '000').slice(0, 3)}Z`
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

function parseJson<T>(text: string | null, fallback: T): T {
  if (text === null || text === undefined || text === '') return fallback
  try {
    return JSON.parse(text) as T
  } catch {
    return fallback
  }
}

interface LinkRow {
  module: CrmModule
  crmid: number | string
  object_type: HubSpotObjectType
  hubspot_id: string
  snapshot: string
  associations: string
  archived: number | string
  synced_at: string
}

function linkFromRow(row: LinkRow): Link {
  const snapshot = parseJson<Link['snapshot']>(row.snapshot, {crm: {}, hs: {}})
  return {
    module: row.module,
    crmid: Number(row.crmid),
    objectType: row.object_type,
    hubspotId: String(row.hubspot_id),
    snapshot: {crm: snapshot.crm ?? {}, hs: snapshot.hs ?? {}},
    associations: parseJson<Record<string, string[]>>(row.associations, {}),
    archived: Number(row.archived) === 1,
    syncedAt: isoFromUtc(row.synced_at) ?? '',
  }
}

export interface FailureRow {
  id: number | string
  module: CrmModule
  direction: Direction
  crmid: number | string | null
  hubspot_id: string | null
  category: string | null
  message: string
  attempts: number | string
  first_failed_at: string
  last_failed_at: string
  next_retry_at: string | null
  given_up: number | string
  resolved_at: string | null
}

export function failureFromRow(row: FailureRow): FailureEntry {
  return {
    id: Number(row.id),
    module: row.module,
    direction: row.direction,
    crmid: row.crmid === null ? null : Number(row.crmid),
    hubspotId: row.hubspot_id,
    category: row.category,
    message: row.message,
    attempts: Number(row.attempts),
    firstFailedAt: isoFromUtc(row.first_failed_at) ?? '',
    lastFailedAt: isoFromUtc(row.last_failed_at) ?? '',
    nextRetryAt: isoFromUtc(row.next_retry_at),
    givenUp: Number(row.given_up) === 1,
    resolvedAt: isoFromUtc(row.resolved_at),
  }
}

interface RunRow {
  id: number | string
  command: string
  started_at: string
  finished_at: string | null
  exit_code: number | string | null
  dry_run: number | string
  counts: string | null
  api_calls: number | string
  message: string | null
  host: string | null
  pid: number | string | null
  lock_connection_id: number | string | null
}

function runFromRow(row: RunRow): RunRecordDetail {
  return {
    id: Number(row.id),
    command: row.command,
    startedAt: isoFromUtc(row.started_at) ?? '',
    finishedAt: isoFromUtc(row.finished_at),
    exitCode: row.exit_code === null ? null : Number(row.exit_code),
    dryRun: Number(row.dry_run) === 1,
    counts: parseJson<Record<string, number>>(row.counts, {}),
    apiCalls: Number(row.api_calls),
    message: row.message,
    host: row.host,
    pid: row.pid === null ? null : Number(row.pid),
    lockConnectionId: row.lock_connection_id === null ? null : Number(row.lock_connection_id),
  }
}

export const FAILURE_COLUMNS =
  'id, module, direction, crmid, hubspot_id, category, message, attempts, first_failed_at, last_failed_at, next_retry_at, given_up, resolved_at'
const LINK_COLUMNS = 'module, crmid, object_type, hubspot_id, snapshot, associations, archived, synced_at'

/** Where a module's records live, from vtiger_entityname (modules may be denormalized). */
interface EntityStorage {
  entityTable: string
  entityKey: string
  baseTable: string
  baseKey: string
}

export class CoreBosStateStore implements StateStore {
  private readonly maxAttempts: number
  private readonly clock: () => number
  private readonly storage = new Map<CrmModule, EntityStorage>()

  constructor(
    private readonly pool: Pool,
    options: StateStoreOptions = {},
  ) {
    this.maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS
    this.clock = options.now ?? hostNowMs
  }

  private nowSql(): string {
    return utcDatetime(this.clock())
  }

  /** Runs a statement; a missing cbhs_* table means `setup` was never run: say so (exit 3). */
  private async q<T>(sql: string, params: unknown[] = [], conn?: PoolConnection): Promise<T> {
    try {
      const [rows] = await (conn ?? this.pool).query(sql, params)
      return rows as T
    } catch (error) {
      const err = error as {code?: string; message?: string}
      const table = err?.code === 'ER_NO_SUCH_TABLE' ? /'(?:[^'.]*\.)?(cbhs_\w+)'/.exec(err.message ?? '')?.[1] : undefined
      if (table) {
        // a table a later cbhs added is missing when the binary was upgraded and setup not run again
        throw new ConfigError('NOT_SET_UP', 'The cbhs state tables are missing in this coreBOS database.', {
          suggestion: `Run \`cbhs setup\` (add --dry-run first to see what it changes): ${table} is missing, so setup never ran here or an older cbhs ran it.`,
          cause: error,
        })
      }
      throw error
    }
  }

  // -------------------------------------------------------------------------------------------
  // watermarks
  // -------------------------------------------------------------------------------------------

  async getWatermark(module: CrmModule, direction: Direction): Promise<Watermark> {
    const rows = await this.q<Array<{value: string | null; cursor_value: string | null; updated_at: string | null}>>(
      'SELECT value, cursor_value, updated_at FROM cbhs_watermark WHERE module = ? AND direction = ?',
      [module, direction],
    )
    const row = rows[0]
    return {
      module,
      direction,
      value: row?.value ?? null,
      cursor: row?.cursor_value ?? null,
      updatedAt: isoFromUtc(row?.updated_at),
    }
  }

  async setWatermark(module: CrmModule, direction: Direction, value: string | null, cursor: string | null): Promise<void> {
    await this.q(
      `INSERT INTO cbhs_watermark (module, direction, value, cursor_value, updated_at) VALUES (?, ?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE value = VALUES(value), cursor_value = VALUES(cursor_value), updated_at = VALUES(updated_at)`,
      [module, direction, value, cursor, this.nowSql()],
    )
  }

  /** The last outcome of a (module, direction) pass, for `status`; kept beside the watermark. */
  async recordOutcome(module: CrmModule, direction: Direction, outcome: {runId?: number | null; outcome: RunOutcome; message?: string | null}): Promise<void> {
    const now = this.nowSql()
    const message = outcome.message == null ? null : redact(outcome.message)
    await this.q(
      `INSERT INTO cbhs_watermark (module, direction, last_run_id, last_outcome, last_outcome_at, last_success_at, last_message)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE last_run_id = VALUES(last_run_id), last_outcome = VALUES(last_outcome),
         last_outcome_at = VALUES(last_outcome_at), last_success_at = COALESCE(VALUES(last_success_at), last_success_at),
         last_message = VALUES(last_message)`,
      [module, direction, outcome.runId ?? null, outcome.outcome, now, outcome.outcome === 'ok' ? now : null, message],
    )
  }

  /** Every watermark row with its last outcome, ordered by module and direction. */
  async listWatermarks(): Promise<WatermarkStatus[]> {
    const rows = await this.q<Array<Record<string, string | number | null>>>(
      `SELECT module, direction, value, cursor_value, updated_at, last_run_id, last_outcome, last_outcome_at, last_success_at, last_message
         FROM cbhs_watermark ORDER BY module, direction`,
    )
    return rows.map((r) => ({
      module: r.module as CrmModule,
      direction: r.direction as Direction,
      value: (r.value as string | null) ?? null,
      cursor: (r.cursor_value as string | null) ?? null,
      updatedAt: isoFromUtc(r.updated_at as string | null),
      lastRunId: r.last_run_id === null ? null : Number(r.last_run_id),
      lastOutcome: (r.last_outcome as RunOutcome | null) ?? null,
      lastOutcomeAt: isoFromUtc(r.last_outcome_at as string | null),
      lastSuccessAt: isoFromUtc(r.last_success_at as string | null),
      lastMessage: (r.last_message as string | null) ?? null,
    }))
  }

  // -------------------------------------------------------------------------------------------
  // links
  // -------------------------------------------------------------------------------------------

  async getLinksByCrmids(module: CrmModule, crmids: number[]): Promise<Map<number, Link>> {
    const out = new Map<number, Link>()
    const ids = [...new Set(crmids.map(Number))]
    for (const chunk of chunks(ids, LOOKUP_CHUNK)) {
      const rows = await this.q<LinkRow[]>(`SELECT ${LINK_COLUMNS} FROM cbhs_link WHERE module = ? AND crmid IN (?)`, [module, chunk])
      for (const row of rows) out.set(Number(row.crmid), linkFromRow(row))
    }
    return out
  }

  async getLinksByHubSpotIds(objectType: HubSpotObjectType, ids: string[]): Promise<Map<string, Link>> {
    return this.linksByHubSpotIds(objectType, ids)
  }

  private async linksByHubSpotIds(objectType: HubSpotObjectType, ids: string[], conn?: PoolConnection): Promise<Map<string, Link>> {
    const out = new Map<string, Link>()
    const unique = [...new Set(ids.map(String))]
    for (const chunk of chunks(unique, LOOKUP_CHUNK)) {
      const rows = await this.q<LinkRow[]>(
        `SELECT ${LINK_COLUMNS} FROM cbhs_link WHERE object_type = ? AND hubspot_id IN (?)`,
        [objectType, chunk],
        conn,
      )
      for (const row of rows) out.set(String(row.hubspot_id), linkFromRow(row))
    }
    return out
  }

  /**
   * Upserts links in one transaction, multi-row INSERT … ON DUPLICATE KEY UPDATE. A later link for
   * the same (module, crmid) in the batch wins. Refuses (LinkConflictError, nothing written) when a
   * HubSpot object would be linked to a second record: with two unique keys, MySQL would otherwise
   * update whichever row it met first and silently give one record another record's snapshot.
   */
  async saveLinks(links: Link[]): Promise<void> {
    if (links.length === 0) return
    const byRecord = new Map<string, Link>()
    for (const link of links) byRecord.set(`${link.module}:${link.crmid}`, link)
    const batch = [...byRecord.values()]

    await inRetriedTransaction(this.pool, async (conn) => {
      const conflicts: LinkConflictError['conflicts'] = []
      const claimed = new Map<string, Link>()
      for (const link of batch) {
        const key = `${link.objectType}:${link.hubspotId}`
        const other = claimed.get(key)
        if (other) {
          conflicts.push({
            objectType: link.objectType,
            hubspotId: link.hubspotId,
            existing: {module: other.module, crmid: other.crmid},
            incoming: {module: link.module, crmid: link.crmid},
          })
        }
        claimed.set(key, link)
      }
      const byType = new Map<HubSpotObjectType, string[]>()
      for (const link of batch) {
        if (!byType.has(link.objectType)) byType.set(link.objectType, [])
        byType.get(link.objectType)!.push(link.hubspotId)
      }
      for (const [type, ids] of byType) {
        const existing = await this.linksByHubSpotIds(type, ids, conn)
        for (const [id, current] of existing) {
          const incoming = claimed.get(`${type}:${id}`)!
          // the holder may be leaving this id in the same batch (re-pointing after a merge)
          const holderMoves = byRecord.get(`${current.module}:${current.crmid}`)
          const stillHeld = !holderMoves || (holderMoves.objectType === type && holderMoves.hubspotId === id)
          if ((current.module !== incoming.module || current.crmid !== incoming.crmid) && stillHeld) {
            conflicts.push({
              objectType: type,
              hubspotId: id,
              existing: {module: current.module, crmid: current.crmid},
              incoming: {module: incoming.module, crmid: incoming.crmid},
            })
          }
        }
      }
      if (conflicts.length > 0) {
        const first = conflicts[0]
        throw new LinkConflictError(
          `HubSpot ${first.objectType} ${first.hubspotId} is already linked to ${first.existing.module} ${first.existing.crmid}; ` +
            `cannot also link it to ${first.incoming.module} ${first.incoming.crmid}` +
            (conflicts.length > 1 ? ` (and ${conflicts.length - 1} more)` : '') +
            '.',
          conflicts,
        )
      }

      const now = this.nowSql()
      const rows = batch.map((link) => [
        link.module,
        link.crmid,
        link.objectType,
        link.hubspotId,
        JSON.stringify({crm: link.snapshot.crm, hs: link.snapshot.hs}),
        JSON.stringify(link.associations ?? {}),
        link.archived ? 1 : 0,
        link.syncedAt ? utcFromIso(link.syncedAt) : now,
        now,
      ])
      await parkMovingLinks(conn, batch)
      await upsertRows(conn, rows)
    })
  }

  async deleteLink(module: CrmModule, crmid: number): Promise<void> {
    await retryLockVictim(() => this.q('DELETE FROM cbhs_link WHERE module = ? AND crmid = ?', [module, crmid]))
  }

  /**
   * Links not archived whose coreBOS record is gone: trashed (deleted = 1), a converted Lead, or
   * purged (no entity row). This is how cascaded deletes are found: coreBOS marks a deleted
   * Account's Potentials deleted without bumping their modifiedtime, so no scan by modifiedtime
   * sees them.
   */
  async linksWithGoneRecords(module: CrmModule, limit: number): Promise<Link[]> {
    const s = await this.entityStorage(module)
    const e = quoteIdent(s.entityTable)
    const joins = [`LEFT JOIN ${e} e ON e.${quoteIdent(s.entityKey)} = k.crmid`]
    const gone = ['e.deleted IS NULL', 'e.deleted = 1']
    if (module === 'Leads') {
      if (s.baseTable === s.entityTable) {
        gone.push('e.converted = 1')
      } else {
        joins.push(`LEFT JOIN ${quoteIdent(s.baseTable)} b ON b.${quoteIdent(s.baseKey)} = k.crmid`)
        gone.push('b.converted = 1')
      }
    }
    // The live links are walked on the (module, archived, crmid) index alone, and only the gone ones
    // are read whole: walked by primary key, every link's snapshot was read to check its entity
    // (80,000 Contacts: 1.2 s against 0.2 s on a busy server). PRIMARY is left out rather than the
    // index named, so a database without that index still answers, by a scan.
    const rows = await this.q<LinkRow[]>(
      `SELECT ${LINK_COLUMNS.split(', ').map((c) => `l.${c}`).join(', ')}
         FROM (SELECT k.crmid FROM cbhs_link k IGNORE INDEX (PRIMARY) ${joins.join(' ')}
                WHERE k.module = ? AND k.archived = 0 AND (${gone.join(' OR ')})
                ORDER BY k.crmid LIMIT ?) g
         JOIN cbhs_link l ON l.module = ? AND l.crmid = g.crmid
        ORDER BY l.crmid`,
      [module, Math.max(0, Math.floor(limit)), module],
    )
    return rows.map(linkFromRow)
  }

  private async entityStorage(module: CrmModule): Promise<EntityStorage> {
    const cached = this.storage.get(module)
    if (cached) return cached
    const rows = await this.q<Array<{tablename: string; entityidfield: string; isdenormalized: string | null; denormtable: string | null}>>(
      `SELECT e.tablename, e.entityidfield, e.isdenormalized, e.denormtable
         FROM vtiger_entityname e JOIN vtiger_tab t ON t.tabid = e.tabid WHERE t.name = ?`,
      [module],
    )
    const row = rows[0]
    if (!row) {
      throw new ConfigError('NOT_COREBOS', `Module ${module} is missing from vtiger_entityname.`, {
        suggestion: 'Run `cbhs setup --dry-run` to check the database.',
      })
    }
    const denormalized = String(row.isdenormalized ?? '0') === '1' && !!row.denormtable
    let storage: EntityStorage
    if (!denormalized) {
      storage = {entityTable: 'vtiger_crmentity', entityKey: 'crmid', baseTable: row.tablename, baseKey: row.entityidfield}
    } else {
      // the denormalize script adds a crmid column; fall back to the module key if it is absent
      const cols = await this.q<Array<{c: string}>>(
        `SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS
          WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = 'crmid'`,
        [row.denormtable],
      )
      const entityTable = String(row.denormtable)
      const entityKey = cols.length > 0 ? 'crmid' : entityTable === row.tablename ? row.entityidfield : 'crmid'
      storage = {entityTable, entityKey, baseTable: row.tablename, baseKey: row.entityidfield}
    }
    this.storage.set(module, storage)
    return storage
  }

  /** All links of a module, archived ones included. */
  async countLinks(module: CrmModule): Promise<number> {
    const rows = await this.q<Array<{n: number | string}>>('SELECT COUNT(*) AS n FROM cbhs_link WHERE module = ?', [module])
    return Number(rows[0]?.n ?? 0)
  }

  async liveLinkIds(objectType: HubSpotObjectType): Promise<string[]> {
    const rows = await this.q<Array<{hubspot_id: string}>>('SELECT hubspot_id FROM cbhs_link WHERE object_type = ? AND archived = 0', [objectType])
    // ids are digits (the gateway refuses others); numeric order is what HubSpot's id ranges follow
    return rows.map((r) => String(r.hubspot_id)).sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0))
  }

  async countLiveLinks(objectType: HubSpotObjectType): Promise<number> {
    // by module, so that the count is read off the (module, archived, crmid) index alone: an idle pass makes it
    const modules = CRM_MODULES.filter((m) => OBJECT_TYPE_OF_MODULE[m] === objectType)
    // an engagement type is no record module's: its links share their activity module with other types;
    // a record module's count is read off the (module, archived, crmid) index, which the optimizer passes
    // over for the primary key, reading every snapshot (5× slower)
    const rows = modules.length > 0
      ? await this.q<Array<{n: number | string}>>('SELECT COUNT(*) AS n FROM cbhs_link IGNORE INDEX (PRIMARY) WHERE module IN (?) AND archived = 0', [modules])
      : await this.q<Array<{n: number | string}>>('SELECT COUNT(*) AS n FROM cbhs_link WHERE object_type = ? AND archived = 0', [objectType])
    return Number(rows[0]?.n ?? 0)
  }

  async queueCarrierWrites(objectType: HubSpotObjectType, hubspotIds: string[]): Promise<void> {
    const now = this.nowSql()
    for (let i = 0; i < hubspotIds.length; i += 1_000) {
      const part = hubspotIds.slice(i, i + 1_000)
      await retryLockVictim(() =>
        this.q(`INSERT IGNORE INTO cbhs_carrier_queue (object_type, hubspot_id, queued_at) VALUES ${part.map(() => '(?, ?, ?)').join(', ')}`, part.flatMap((id) => [objectType, id, now])),
      )
    }
  }

  async queuedCarrierWrites(objectType: HubSpotObjectType, limit: number): Promise<Array<{hubspotId: string; crmid: number | null}>> {
    const rows = await this.q<Array<{hubspot_id: string; crmid: number | null}>>(
      `SELECT q.hubspot_id, l.crmid FROM cbhs_carrier_queue q
         LEFT JOIN cbhs_link l ON l.object_type = q.object_type AND l.hubspot_id = q.hubspot_id AND l.archived = 0
        WHERE q.object_type = ? ORDER BY q.hubspot_id LIMIT ?`,
      [objectType, Math.max(0, Math.floor(limit))],
    )
    return rows.map((r) => ({hubspotId: String(r.hubspot_id), crmid: r.crmid === null ? null : Number(r.crmid)}))
  }

  async dequeueCarrierWrites(objectType: HubSpotObjectType, hubspotIds: string[]): Promise<void> {
    for (let i = 0; i < hubspotIds.length; i += 1_000) {
      const part = hubspotIds.slice(i, i + 1_000)
      await retryLockVictim(() => this.q('DELETE FROM cbhs_carrier_queue WHERE object_type = ? AND hubspot_id IN (?)', [objectType, part]))
    }
  }

  async countQueuedCarrierWrites(objectType: HubSpotObjectType): Promise<number> {
    const rows = await this.q<Array<{n: number | string}>>(
      `SELECT COUNT(*) AS n FROM cbhs_carrier_queue q
         JOIN cbhs_link l ON l.object_type = q.object_type AND l.hubspot_id = q.hubspot_id AND l.archived = 0
        WHERE q.object_type = ?`,
      [objectType],
    )
    return Number(rows[0]?.n ?? 0)
  }

  /** The whole queue, for `status`: how many write-backs wait and since when. */
  async carrierQueueSummary(): Promise<{queued: number; oldestAt: string | null}> {
    const rows = await this.q<Array<{n: number | string; oldest: string | null}>>('SELECT COUNT(*) AS n, MIN(queued_at) AS oldest FROM cbhs_carrier_queue')
    return {queued: Number(rows[0]?.n ?? 0), oldestAt: isoFromUtc(rows[0]?.oldest)}
  }

  /** Per module: links in total and how many are archived (for `status`). */
  async linkCounts(): Promise<Array<{module: CrmModule; total: number; archived: number}>> {
    const rows = await this.q<Array<{module: CrmModule; total: number | string; archived: number | string}>>(
      'SELECT module, COUNT(*) AS total, SUM(archived) AS archived FROM cbhs_link GROUP BY module ORDER BY module',
    )
    return rows.map((r) => ({module: r.module, total: Number(r.total), archived: Number(r.archived ?? 0)}))
  }

  // -------------------------------------------------------------------------------------------
  // failures ledger
  // -------------------------------------------------------------------------------------------

  /**
   * Opens an entry or counts one more attempt on the open one (matched by crmid or HubSpot id):
   * attempts + 1, next retry 6 min × 2^(attempts-1) (capped at 24 h), given up after maxAttempts.
   */
  async recordFailure(entry: {
    module: CrmModule
    direction: Direction
    crmid?: number | null
    hubspotId?: string | null
    category?: string | null
    message: string
    waitForChange?: boolean
  }): Promise<void> {
    const crmid = entry.crmid ?? null
    const hubspotId = entry.hubspotId == null || entry.hubspotId === '' ? null : String(entry.hubspotId)
    if (crmid === null && hubspotId === null) throw new Error('recordFailure needs a crmid or a HubSpot id')
    const message = redact(entry.message)
    const category = entry.category ?? null
    const nowMs = this.clock()
    const now = utcDatetime(nowMs)

    // READ COMMITTED: the locking read below finds nothing for a record's first failure, and under
    // REPEATABLE READ it would lock the gap; two batches in flight then deadlocked on their INSERTs
    await inRetriedTransaction(this.pool, async (conn) => {
      const match: string[] = []
      const params: unknown[] = [entry.module, entry.direction]
      if (crmid !== null) {
        match.push('crmid = ?')
        params.push(crmid)
      }
      if (hubspotId !== null) {
        match.push('hubspot_id = ?')
        params.push(hubspotId)
      }
      const open = await this.q<Array<{id: number | string; attempts: number | string}>>(
        `SELECT id, attempts FROM cbhs_failure
          WHERE module = ? AND direction = ? AND open_flag = 1 AND (${match.join(' OR ')})
          ORDER BY id FOR UPDATE`,
        params,
        conn,
      )
      if (open.length === 0) {
        const givenUp = this.maxAttempts <= 1
        await this.q(
          `INSERT INTO cbhs_failure (module, direction, crmid, hubspot_id, record_key, open_flag, category, message, attempts,
             first_failed_at, last_failed_at, next_retry_at, given_up)
           VALUES (?, ?, ?, ?, ?, 1, ?, ?, 1, ?, ?, ?, ?)`,
          [
            entry.module,
            entry.direction,
            crmid,
            hubspotId,
            crmid !== null ? `crm:${crmid}` : `hs:${hubspotId}`,
            category,
            message,
            now,
            now,
            givenUp || entry.waitForChange ? null : utcDatetime(nowMs + retryDelayMs(1)),
            givenUp ? 1 : 0,
          ],
          conn,
        )
        return
      }
      const [keep, ...duplicates] = open
      const attempts = Number(keep.attempts) + 1
      const givenUp = attempts >= this.maxAttempts
      await this.q(
        `UPDATE cbhs_failure SET attempts = ?, last_failed_at = ?, message = ?, category = COALESCE(?, category),
           crmid = COALESCE(crmid, ?), hubspot_id = COALESCE(hubspot_id, ?), next_retry_at = ?, given_up = ?
         WHERE id = ?`,
        [attempts, now, message, category, crmid, hubspotId, givenUp || entry.waitForChange ? null : utcDatetime(nowMs + retryDelayMs(attempts)), givenUp ? 1 : 0, keep.id],
        conn,
      )
      // one record opened under its HubSpot id and again under its crmid: fold into one entry
      if (duplicates.length > 0) {
        await this.q(
          "UPDATE cbhs_failure SET open_flag = NULL, resolved_at = ?, resolution = 'merged' WHERE id IN (?)",
          [now, duplicates.map((d) => d.id)],
          conn,
        )
      }
    }, {readCommitted: true})
  }

  async resolveFailures(module: CrmModule, direction: Direction, keys: Array<{crmid?: number; hubspotId?: string}>, resolution: FailureResolution = 'synced'): Promise<void> {
    const crmids = [...new Set(keys.map((k) => k.crmid).filter((c): c is number => c !== undefined && c !== null))]
    const hubspotIds = [...new Set(keys.map((k) => k.hubspotId).filter((h): h is string => Boolean(h)).map(String))]
    for (let i = 0; i < Math.max(crmids.length, hubspotIds.length); i += 1000) {
      const c = crmids.slice(i, i + 1000)
      const h = hubspotIds.slice(i, i + 1000)
      const match = [...(c.length ? ['crmid IN (?)'] : []), ...(h.length ? ['hubspot_id IN (?)'] : [])]
      if (match.length === 0) continue
      await retryLockVictim(() =>
        this.q(
          `UPDATE cbhs_failure SET open_flag = NULL, resolved_at = ?, resolution = ?, next_retry_at = NULL
            WHERE module = ? AND direction = ? AND open_flag = 1 AND (${match.join(' OR ')})`,
          [this.nowSql(), resolution, module, direction, ...(c.length ? [c] : []), ...(h.length ? [h] : [])],
        ),
      )
    }
  }

  async resolveFailure(module: CrmModule, direction: Direction, key: {crmid?: number; hubspotId?: string}): Promise<void> {
    const match: string[] = []
    const params: unknown[] = [this.nowSql(), module, direction]
    if (key.crmid !== undefined && key.crmid !== null) {
      match.push('crmid = ?')
      params.push(key.crmid)
    }
    if (key.hubspotId !== undefined && key.hubspotId !== null && key.hubspotId !== '') {
      match.push('hubspot_id = ?')
      params.push(String(key.hubspotId))
    }
    if (match.length === 0) return
    await this.q(
      `UPDATE cbhs_failure SET open_flag = NULL, resolved_at = ?, resolution = 'synced', next_retry_at = NULL
        WHERE module = ? AND direction = ? AND open_flag = 1 AND (${match.join(' OR ')})`,
      params,
    )
  }

  async waitingFailures(module: CrmModule, direction: Direction, keys: {crmids?: number[]; hubspotIds?: string[]}): Promise<FailureEntry[]> {
    const crmids = keys.crmids ?? []
    const hubspotIds = (keys.hubspotIds ?? []).map(String)
    if (crmids.length === 0 && hubspotIds.length === 0) return []
    const match = [...(crmids.length ? ['crmid IN (?)'] : []), ...(hubspotIds.length ? ['hubspot_id IN (?)'] : [])]
    const rows = await this.q<FailureRow[]>(
      `SELECT ${FAILURE_COLUMNS} FROM cbhs_failure
        WHERE module = ? AND direction = ? AND open_flag = 1 AND given_up = 0 AND next_retry_at IS NULL AND (${match.join(' OR ')})`,
      [module, direction, ...(crmids.length ? [crmids] : []), ...(hubspotIds.length ? [hubspotIds] : [])],
    )
    return rows.map(failureFromRow)
  }

  async hasOpenFailures(module: CrmModule, direction: Direction): Promise<boolean> {
    const rows = await this.q<unknown[]>('SELECT 1 FROM cbhs_failure WHERE module = ? AND direction = ? AND open_flag = 1 LIMIT 1', [module, direction])
    return rows.length > 0
  }

  async dueFailures(module: CrmModule, direction: Direction, limit: number): Promise<FailureEntry[]> {
    const rows = await this.q<FailureRow[]>(
      `SELECT ${FAILURE_COLUMNS} FROM cbhs_failure
        WHERE module = ? AND direction = ? AND open_flag = 1 AND given_up = 0 AND next_retry_at <= ?
        ORDER BY next_retry_at, id LIMIT ?`,
      [module, direction, this.nowSql(), Math.max(0, Math.floor(limit))],
    )
    return rows.map(failureFromRow)
  }

  /** Newest first; open entries only unless includeResolved. Given-up entries are open. */
  async listFailures(options: {includeResolved?: boolean; limit?: number; module?: CrmModule; direction?: Direction} = {}): Promise<FailureEntry[]> {
    const where: string[] = []
    const params: unknown[] = []
    if (!options.includeResolved) where.push('open_flag = 1')
    if (options.module) {
      where.push('module = ?')
      params.push(options.module)
    }
    if (options.direction) {
      where.push('direction = ?')
      params.push(options.direction)
    }
    params.push(Math.max(0, Math.floor(options.limit ?? 100)))
    const rows = await this.q<FailureRow[]>(
      `SELECT ${FAILURE_COLUMNS} FROM cbhs_failure ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY last_failed_at DESC, id DESC LIMIT ?`,
      params,
    )
    return rows.map(failureFromRow)
  }

  /** Makes open entries due now (given-up ones too, for one more try); returns how many. */
  async retryNow(ids: number[] | 'all'): Promise<number> {
    if (ids !== 'all' && ids.length === 0) return 0
    const now = this.nowSql()
    const rows = await this.q<{affectedRows: number}>(
      `UPDATE cbhs_failure SET next_retry_at = ?, given_up = 0 WHERE open_flag = 1${ids === 'all' ? '' : ' AND id IN (?)'}`,
      ids === 'all' ? [now] : [now, ids],
    )
    return rows.affectedRows
  }

  /** Closes open entries without a sync (the user accepts the record stays out of step). */
  async dismiss(ids: number[]): Promise<number> {
    if (ids.length === 0) return 0
    const rows = await this.q<{affectedRows: number}>(
      "UPDATE cbhs_failure SET open_flag = NULL, resolved_at = ?, resolution = 'dismissed', next_retry_at = NULL WHERE open_flag = 1 AND id IN (?)",
      [this.nowSql(), ids],
    )
    return rows.affectedRows
  }

  async countFailures(): Promise<FailureCounts> {
    const rows = await this.q<Array<{open: number | string | null; due: number | string | null; given_up: number | string | null}>>(
      `SELECT COUNT(*) AS open, SUM(given_up = 0 AND next_retry_at <= ?) AS due, SUM(given_up) AS given_up
         FROM cbhs_failure WHERE open_flag = 1`,
      [this.nowSql()],
    )
    const r = rows[0]
    return {open: Number(r?.open ?? 0), due: Number(r?.due ?? 0), givenUp: Number(r?.given_up ?? 0)}
  }

  async failureSummary(): Promise<FailureSummaryRow[]> {
    const rows = await this.q<Array<Record<string, string | number | null>>>(
      `SELECT module, direction, COUNT(*) AS open, SUM(given_up = 0 AND next_retry_at <= ?) AS due, SUM(given_up) AS given_up,
              MIN(first_failed_at) AS oldest
         FROM cbhs_failure WHERE open_flag = 1 GROUP BY module, direction ORDER BY module, direction`,
      [this.nowSql()],
    )
    return rows.map((r) => ({
      module: r.module as CrmModule,
      direction: r.direction as Direction,
      open: Number(r.open ?? 0),
      due: Number(r.due ?? 0),
      givenUp: Number(r.given_up ?? 0),
      oldestFirstFailedAt: isoFromUtc(r.oldest as string | null),
    }))
  }

  // -------------------------------------------------------------------------------------------
  // runs
  // -------------------------------------------------------------------------------------------

  async readCache(key: string): Promise<{value: string; storedAtMs: number} | null> {
    const rows = await this.q<Array<{meta_value: string | null; updated_at: string}>>('SELECT meta_value, updated_at FROM cbhs_meta WHERE meta_key = ?', [`cache:${key}`])
    const row = rows[0]
    if (!row || row.meta_value === null) return null
    return {value: row.meta_value, storedAtMs: Date.parse(`${row.updated_at.replace(' ', 'T')}Z`)}
  }

  async writeCache(key: string, value: string): Promise<void> {
    await this.q(
      'INSERT INTO cbhs_meta (meta_key, meta_value, updated_at) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE meta_value = VALUES(meta_value), updated_at = VALUES(updated_at)',
      [`cache:${key}`, value, this.nowSql()],
    )
  }

  async startRun(command: string, dryRun: boolean, extra: {lockConnectionId?: number | null} = {}): Promise<number> {
    const result = await this.q<{insertId: number | string}>(
      'INSERT INTO cbhs_run (command, started_at, dry_run, host, pid, lock_connection_id) VALUES (?, ?, ?, ?, ?, ?)',
      [command, this.nowSql(), dryRun ? 1 : 0, hostname().slice(0, 255), process.pid, extra.lockConnectionId ?? null],
    )
    return Number(result.insertId)
  }

  async finishRun(id: number, outcome: {exitCode: number; counts: Record<string, number>; apiCalls: number; message?: string}): Promise<void> {
    await this.q('UPDATE cbhs_run SET finished_at = ?, exit_code = ?, counts = ?, api_calls = ?, message = ? WHERE id = ?', [
      this.nowSql(),
      outcome.exitCode,
      JSON.stringify(outcome.counts ?? {}),
      Math.max(0, Math.floor(outcome.apiCalls ?? 0)),
      outcome.message == null ? null : redact(outcome.message),
      id,
    ])
  }

  /** Newest first. */
  async listRuns(limit: number): Promise<RunRecordDetail[]> {
    const rows = await this.q<RunRow[]>('SELECT * FROM cbhs_run ORDER BY id DESC LIMIT ?', [Math.max(0, Math.floor(limit))])
    return rows.map(runFromRow)
  }

  /** HubSpot API calls of runs that finished at or after `sinceMs` (a run records its calls when it finishes). */
  async apiCallsSince(sinceMs: number): Promise<number> {
    const rows = await this.q<Array<{n: number | string | null}>>('SELECT COALESCE(SUM(api_calls), 0) AS n FROM cbhs_run WHERE finished_at >= ?', [
      utcDatetime(sinceMs),
    ])
    return Number(rows[0]?.n ?? 0)
  }

  async getRun(id: number): Promise<RunRecordDetail | null> {
    const rows = await this.q<RunRow[]>('SELECT * FROM cbhs_run WHERE id = ?', [id])
    return rows[0] ? runFromRow(rows[0]) : null
  }

  /** The last finished, non-dry run of `command` that exited 0. */
  async lastSuccessfulRun(command: string): Promise<RunRecordDetail | null> {
    const rows = await this.q<RunRow[]>(
      'SELECT * FROM cbhs_run WHERE command = ? AND exit_code = 0 AND dry_run = 0 AND finished_at IS NOT NULL ORDER BY id DESC LIMIT 1',
      [command],
    )
    return rows[0] ? runFromRow(rows[0]) : null
  }

  /**
   * Closes runs left unfinished by a pass that died (kill -9, lost connection). Call it while holding
   * the pass lock: any other lock-holding run that is still open cannot be alive.
   */
  async closeAbandonedRuns(currentLockConnectionId: number): Promise<number> {
    const rows = await this.q<{affectedRows: number}>(
      `UPDATE cbhs_run SET finished_at = ?, message = 'abandoned: the pass ended without finishing (killed or disconnected)'
        WHERE finished_at IS NULL AND lock_connection_id IS NOT NULL AND lock_connection_id <> ?`,
      [this.nowSql(), currentLockConnectionId],
    )
    return rows.affectedRows
  }

  /** The open run started under this lock connection, if any (who holds the lock, since when). */
  async openRunForConnection(connectionId: number): Promise<RunRecordDetail | null> {
    const rows = await this.q<RunRow[]>(
      'SELECT * FROM cbhs_run WHERE lock_connection_id = ? AND finished_at IS NULL ORDER BY id DESC LIMIT 1',
      [connectionId],
    )
    return rows[0] ? runFromRow(rows[0]) : null
  }

  /** Deletes run history and resolved failures older than the given ages; returns what went. */
  async prune(options: {runsOlderThanDays?: number; resolvedFailuresOlderThanDays?: number} = {}): Promise<{runs: number; failures: number}> {
    const nowMs = this.clock()
    const day = 24 * 60 * 60 * 1000
    const runs = await this.q<{affectedRows: number}>('DELETE FROM cbhs_run WHERE finished_at IS NOT NULL AND started_at < ?', [
      utcDatetime(nowMs - (options.runsOlderThanDays ?? 90) * day),
    ])
    const failures = await this.q<{affectedRows: number}>('DELETE FROM cbhs_failure WHERE open_flag IS NULL AND resolved_at < ?', [
      utcDatetime(nowMs - (options.resolvedFailuresOlderThanDays ?? 30) * day),
    ])
    return {runs: runs.affectedRows, failures: failures.affectedRows}
  }
}

/** An ISO instant as our UTC DATETIME(3) form; anything unparseable is kept as given. */
function utcFromIso(value: string): string {
  const ms = Date.parse(value)
  return Number.isNaN(ms) ? value : utcDatetime(ms)
}

/**
 * A record whose link moves to another HubSpot id (a merge re-points it) gives its old id up first:
 * rows of one multi-row upsert are applied in order, so a swap would trip the unique key halfway.
 * The parked value is never a HubSpot id ('~' is not a digit) and is overwritten in the same
 * transaction.
 */
async function parkMovingLinks(conn: PoolConnection, batch: Link[]): Promise<void> {
  const byModule = new Map<CrmModule, Link[]>()
  for (const link of batch) {
    if (!byModule.has(link.module)) byModule.set(link.module, [])
    byModule.get(link.module)!.push(link)
  }
  for (const [module, links] of byModule) {
    const incoming = new Map(links.map((l) => [l.crmid, l]))
    for (const chunk of chunks(links.map((l) => l.crmid), LOOKUP_CHUNK)) {
      const [rows] = await conn.query('SELECT crmid, object_type, hubspot_id FROM cbhs_link WHERE module = ? AND crmid IN (?)', [module, chunk])
      const moving = (rows as Array<{crmid: number | string; object_type: string; hubspot_id: string}>)
        .filter((r) => {
          const next = incoming.get(Number(r.crmid))!
          return next.objectType !== r.object_type || next.hubspotId !== String(r.hubspot_id)
        })
        .map((r) => Number(r.crmid))
      if (moving.length > 0) {
        await conn.query("UPDATE cbhs_link SET hubspot_id = CONCAT('~', module, ':', crmid) WHERE module = ? AND crmid IN (?)", [module, moving])
      }
    }
  }
}

async function upsertRows(conn: PoolConnection, rows: unknown[][]): Promise<void> {
  const sql =
    'INSERT INTO cbhs_link (module, crmid, object_type, hubspot_id, snapshot, associations, archived, synced_at, created_at) VALUES ? ' +
    'ON DUPLICATE KEY UPDATE object_type = VALUES(object_type), hubspot_id = VALUES(hubspot_id), snapshot = VALUES(snapshot), ' +
    'associations = VALUES(associations), archived = VALUES(archived), synced_at = VALUES(synced_at)'
  let batch: unknown[][] = []
  let bytes = 0
  const flush = async () => {
    if (batch.length === 0) return
    await conn.query(sql, [batch])
    batch = []
    bytes = 0
  }
  for (const row of rows) {
    const size = String(row[4]).length + String(row[5]).length + 128
    if (batch.length > 0 && (batch.length >= UPSERT_ROWS || bytes + size > UPSERT_BYTES)) await flush()
    batch.push(row)
    bytes += size
  }
  await flush()
}
