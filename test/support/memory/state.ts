/**
 * The cbhs_* state in memory, with the adapter's semantics (src/corebos/state.ts): links unique on
 * (module, crmid) and on (object type, HubSpot id), archived links included, and saveLinks refusing
 * the whole batch with LinkConflictError when an object would get a second record; a failures
 * ledger whose entries count attempts, back off 6 min × 2^(n-1) and are given up after maxAttempts.
 * Everything is copied in and out, as rows are: the engine cannot change stored state by mutating
 * what it was given.
 */
import {redact} from '../../../src/errors.js'
import {DEFAULT_MAX_ATTEMPTS, LinkConflictError, retryDelayMs} from '../../../src/corebos/state.js'
import type {FailureEntry, FailureResolution, Link, RunRecord, StateStore, Watermark} from '../../../src/sync/ports.js'
import type {CrmModule, Direction, HubSpotObjectType} from '../../../src/sync/types.js'
import type {TestClock} from './clock.js'
import type {MemoryCrm} from './crm.js'

const copy = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T

interface StoredFailure extends FailureEntry {
  open: boolean
  resolution: FailureResolution | 'merged' | null
}

export class MemoryState implements StateStore {
  private readonly watermarks = new Map<string, Watermark>()
  private readonly links = new Map<string, Link>()
  /** `${objectType}:${hubspotId}` → `${module}:${crmid}` */
  private readonly byObject = new Map<string, string>()
  private readonly failures: StoredFailure[] = []
  private readonly cache = new Map<string, {value: string; storedAtMs: number}>()
  /** in insertion order, as queued_at orders the table */
  private readonly carrierQueue = new Map<string, {objectType: HubSpotObjectType; hubspotId: string}>()
  private readonly runs: RunRecord[] = []

  constructor(
    private readonly crm: MemoryCrm,
    private readonly clock: TestClock,
    private readonly maxAttempts = DEFAULT_MAX_ATTEMPTS,
  ) {}

  /** the memory activities, whose rows live beside the CRM's (set by MemoryActivities) */
  activities?: {isGone(module: CrmModule, crmid: number): boolean | undefined}

  private now(): string {
    return new Date(this.clock.nowMs()).toISOString()
  }

  // ------------------------------------------------------------------------------------------
  // watermarks
  // ------------------------------------------------------------------------------------------

  async getWatermark(module: CrmModule, direction: Direction): Promise<Watermark> {
    return copy(this.watermarks.get(`${module}:${direction}`) ?? {module, direction, value: null, cursor: null, updatedAt: null})
  }

  async setWatermark(module: CrmModule, direction: Direction, value: string | null, cursor: string | null): Promise<void> {
    this.watermarks.set(`${module}:${direction}`, {module, direction, value, cursor, updatedAt: this.now()})
  }

  // ------------------------------------------------------------------------------------------
  // links
  // ------------------------------------------------------------------------------------------

  async getLinksByCrmids(module: CrmModule, crmids: number[]): Promise<Map<number, Link>> {
    const out = new Map<number, Link>()
    for (const crmid of new Set(crmids.map(Number))) {
      const link = this.links.get(`${module}:${crmid}`)
      if (link) out.set(crmid, copy(link))
    }
    return out
  }

  async getLinksByHubSpotIds(objectType: HubSpotObjectType, ids: string[]): Promise<Map<string, Link>> {
    const out = new Map<string, Link>()
    for (const id of new Set(ids.map(String))) {
      const key = this.byObject.get(`${objectType}:${id}`)
      if (key) out.set(id, copy(this.links.get(key)!))
    }
    return out
  }

  async saveLinks(links: Link[]): Promise<void> {
    if (links.length === 0) return
    const byRecord = new Map<string, Link>()
    for (const link of links) byRecord.set(`${link.module}:${link.crmid}`, link)
    const conflicts: LinkConflictError['conflicts'] = []
    const clash = (held: Link, incoming: Link) =>
      conflicts.push({objectType: incoming.objectType, hubspotId: incoming.hubspotId, existing: {module: held.module, crmid: held.crmid}, incoming: {module: incoming.module, crmid: incoming.crmid}})
    const claimed = new Map<string, Link>()
    for (const link of byRecord.values()) {
      const key = `${link.objectType}:${link.hubspotId}`
      const other = claimed.get(key)
      if (other) clash(other, link)
      claimed.set(key, link)
    }
    for (const [key, incoming] of claimed) {
      const holderKey = this.byObject.get(key)
      if (!holderKey || holderKey === `${incoming.module}:${incoming.crmid}`) continue
      // the holder may be leaving this id in the same batch (re-pointing after a merge)
      const moves = byRecord.get(holderKey)
      if (!moves || `${moves.objectType}:${moves.hubspotId}` === key) clash(this.links.get(holderKey)!, incoming)
    }
    if (conflicts.length > 0) {
      const [c, ...more] = conflicts
      const also = more.length > 0 ? ` (and ${more.length} more)` : ''
      const message = `HubSpot ${c.objectType} ${c.hubspotId} is already linked to ${c.existing.module} ${c.existing.crmid}; cannot also link it to ${c.incoming.module} ${c.incoming.crmid}${also}.`
      throw new LinkConflictError(message, conflicts)
    }
    for (const key of byRecord.keys()) {
      const previous = this.links.get(key)
      if (previous) this.byObject.delete(`${previous.objectType}:${previous.hubspotId}`)
    }
    for (const [key, link] of byRecord) {
      this.links.set(key, copy({...link, syncedAt: link.syncedAt || this.now()}))
      this.byObject.set(`${link.objectType}:${link.hubspotId}`, key)
    }
  }

  async deleteLink(module: CrmModule, crmid: number): Promise<void> {
    const link = this.links.get(`${module}:${crmid}`)
    if (!link) return
    this.links.delete(`${module}:${crmid}`)
    this.byObject.delete(`${link.objectType}:${link.hubspotId}`)
  }

  async linksWithGoneRecords(module: CrmModule, limit: number): Promise<Link[]> {
    const out: Link[] = []
    for (const link of [...this.links.values()].filter((l) => l.module === module && !l.archived).sort((a, b) => a.crmid - b.crmid)) {
      if (out.length >= limit) break
      if (this.activities?.isGone(module, link.crmid) ?? this.crm.isGone(module, link.crmid)) out.push(copy(link))
    }
    return out
  }

  async countLinks(module: CrmModule): Promise<number> {
    return [...this.links.values()].filter((l) => l.module === module).length
  }

  async liveLinkIds(objectType: HubSpotObjectType): Promise<string[]> {
    return [...this.links.values()]
      .filter((l) => l.objectType === objectType && !l.archived)
      .map((l) => l.hubspotId)
      .sort((a, b) => Number(a) - Number(b))
  }

  async countLiveLinks(objectType: HubSpotObjectType): Promise<number> {
    return (await this.liveLinkIds(objectType)).length
  }

  async queueCarrierWrites(objectType: HubSpotObjectType, hubspotIds: string[]): Promise<void> {
    for (const id of hubspotIds) if (!this.carrierQueue.has(`${objectType}:${id}`)) this.carrierQueue.set(`${objectType}:${id}`, {objectType, hubspotId: id})
  }

  async queuedCarrierWrites(objectType: HubSpotObjectType, limit: number): Promise<Array<{hubspotId: string; crmid: number | null}>> {
    return [...this.carrierQueue.values()]
      .filter((q) => q.objectType === objectType)
      .slice(0, Math.max(0, limit))
      .map((q) => ({hubspotId: q.hubspotId, crmid: this.liveLinkOf(objectType, q.hubspotId)?.crmid ?? null}))
  }

  async dequeueCarrierWrites(objectType: HubSpotObjectType, hubspotIds: string[]): Promise<void> {
    for (const id of hubspotIds) this.carrierQueue.delete(`${objectType}:${id}`)
  }

  async countQueuedCarrierWrites(objectType: HubSpotObjectType): Promise<number> {
    return [...this.carrierQueue.values()].filter((q) => q.objectType === objectType && this.liveLinkOf(objectType, q.hubspotId)).length
  }

  private liveLinkOf(objectType: HubSpotObjectType, hubspotId: string): Link | undefined {
    const key = this.byObject.get(`${objectType}:${hubspotId}`)
    const link = key ? this.links.get(key) : undefined
    return link && !link.archived ? link : undefined
  }

  /** Every link, for assertions. */
  allLinks(): Link[] {
    return [...this.links.values()].map(copy)
  }

  // ------------------------------------------------------------------------------------------
  // failures ledger
  // ------------------------------------------------------------------------------------------

  async recordFailure(entry: Parameters<StateStore['recordFailure']>[0]): Promise<void> {
    const crmid = entry.crmid ?? null
    const hubspotId = entry.hubspotId == null || entry.hubspotId === '' ? null : String(entry.hubspotId)
    if (crmid === null && hubspotId === null) throw new Error('recordFailure needs a crmid or a HubSpot id')
    const nowMs = this.clock.nowMs()
    const now = new Date(nowMs).toISOString()
    const open = this.failures.filter(
      (f) => f.open && f.module === entry.module && f.direction === entry.direction && ((crmid !== null && f.crmid === crmid) || (hubspotId !== null && f.hubspotId === hubspotId)),
    )
    const message = redact(entry.message)
    if (open.length === 0) {
      const givenUp = this.maxAttempts <= 1
      this.failures.push({
        id: this.failures.length + 1,
        module: entry.module,
        direction: entry.direction,
        crmid,
        hubspotId,
        category: entry.category ?? null,
        message,
        attempts: 1,
        firstFailedAt: now,
        lastFailedAt: now,
        nextRetryAt: givenUp || entry.waitForChange ? null : new Date(nowMs + retryDelayMs(1)).toISOString(),
        givenUp,
        resolvedAt: null,
        open: true,
        resolution: null,
      })
      return
    }
    const [keep, ...duplicates] = open
    keep.attempts++
    keep.givenUp = keep.attempts >= this.maxAttempts
    keep.lastFailedAt = now
    keep.message = message
    keep.category = entry.category ?? keep.category
    keep.crmid ??= crmid
    keep.hubspotId ??= hubspotId
    keep.nextRetryAt = keep.givenUp || entry.waitForChange ? null : new Date(nowMs + retryDelayMs(keep.attempts)).toISOString()
    // one record opened under its HubSpot id and again under its crmid: fold into one entry
    for (const d of duplicates) this.close(d, 'merged')
  }

  private close(f: StoredFailure, resolution: StoredFailure['resolution'] = 'synced'): void {
    f.open = false
    f.resolution = resolution
    f.resolvedAt = this.now()
    f.nextRetryAt = null
  }

  async resolveFailure(module: CrmModule, direction: Direction, key: {crmid?: number; hubspotId?: string}): Promise<void> {
    await this.resolveFailures(module, direction, [key])
  }

  async resolveFailures(module: CrmModule, direction: Direction, keys: Array<{crmid?: number; hubspotId?: string}>, resolution: FailureResolution = 'synced'): Promise<void> {
    const crmids = new Set(keys.map((k) => k.crmid).filter((c): c is number => c !== undefined && c !== null))
    const ids = new Set(keys.map((k) => k.hubspotId).filter((h): h is string => Boolean(h)).map(String))
    for (const f of this.failures) {
      if (!f.open || f.module !== module || f.direction !== direction) continue
      if ((f.crmid !== null && crmids.has(f.crmid)) || (f.hubspotId !== null && ids.has(f.hubspotId))) this.close(f, resolution)
    }
  }

  async waitingFailures(module: CrmModule, direction: Direction, keys: {crmids?: number[]; hubspotIds?: string[]}): Promise<FailureEntry[]> {
    const crmids = new Set(keys.crmids ?? [])
    const ids = new Set((keys.hubspotIds ?? []).map(String))
    return this.failures
      .filter((f) => f.open && !f.givenUp && f.nextRetryAt === null && f.module === module && f.direction === direction)
      .filter((f) => (f.crmid !== null && crmids.has(f.crmid)) || (f.hubspotId !== null && ids.has(f.hubspotId)))
      .map(entryOf)
  }

  async hasOpenFailures(module: CrmModule, direction: Direction): Promise<boolean> {
    return this.failures.some((f) => f.open && f.module === module && f.direction === direction)
  }

  async dueFailures(module: CrmModule, direction: Direction, limit: number): Promise<FailureEntry[]> {
    const now = this.now()
    return this.failures
      .filter((f) => f.open && !f.givenUp && f.module === module && f.direction === direction && f.nextRetryAt !== null && f.nextRetryAt <= now)
      .sort((a, b) => (a.nextRetryAt! < b.nextRetryAt! ? -1 : a.nextRetryAt! > b.nextRetryAt! ? 1 : a.id - b.id))
      .slice(0, Math.max(0, Math.floor(limit)))
      .map(entryOf)
  }

  async listFailures(options: {includeResolved?: boolean; limit?: number}): Promise<FailureEntry[]> {
    return this.failures
      .filter((f) => options.includeResolved || f.open)
      .sort((a, b) => (a.lastFailedAt < b.lastFailedAt ? 1 : a.lastFailedAt > b.lastFailedAt ? -1 : b.id - a.id))
      .slice(0, Math.max(0, Math.floor(options.limit ?? 100)))
      .map(entryOf)
  }

  /** Open entries (given-up ones included), oldest first, for assertions. */
  openFailures(): FailureEntry[] {
    return this.failures.filter((f) => f.open).map(entryOf)
  }

  // ------------------------------------------------------------------------------------------
  // cache and runs
  // ------------------------------------------------------------------------------------------

  async readCache(key: string): Promise<{value: string; storedAtMs: number} | null> {
    return this.cache.get(key) ?? null
  }

  async writeCache(key: string, value: string): Promise<void> {
    this.cache.set(key, {value, storedAtMs: this.clock.nowMs()})
  }

  async startRun(command: string, dryRun: boolean): Promise<number> {
    const id = this.runs.length + 1
    this.runs.push({id, command, startedAt: this.now(), finishedAt: null, exitCode: null, dryRun, counts: {}, apiCalls: 0, message: null})
    return id
  }

  async finishRun(id: number, outcome: {exitCode: number; counts: Record<string, number>; apiCalls: number; message?: string}): Promise<void> {
    const run = this.runs.find((r) => r.id === id)
    if (!run) return
    Object.assign(run, {finishedAt: this.now(), exitCode: outcome.exitCode, counts: {...outcome.counts}, apiCalls: outcome.apiCalls, message: outcome.message == null ? null : redact(outcome.message)})
  }

  async listRuns(limit: number): Promise<RunRecord[]> {
    return [...this.runs].reverse().slice(0, limit).map(copy)
  }
}

function entryOf(f: StoredFailure): FailureEntry {
  const {open: _open, ...entry} = f
  return {...entry}
}
