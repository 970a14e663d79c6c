/**
 * Plans the searches of one incremental pull: objects modified in [since, until], ascending, each
 * exactly once, past the 10,000-result cap of a single search.
 *
 * Every page starts a new query at the last modified time seen (`GTE t`, `after` never used)
 * instead of paging by offset. Offsets shift when an object already read is modified again and
 * leaves the window, which would silently skip the object at the page boundary; a keyset restart
 * cannot skip anything and never comes near the cap. Objects at the restart time that were read
 * already are left out of the restart by id (`GT t` OR `EQ t AND hs_object_id NOT_IN ids …`, up to
 * five NOT_IN filters, as many ids as the search body takes), so a page is not half spent on them when many objects share one
 * timestamp; any left in are read again and dropped by id. A whole page on one timestamp restarts
 * there again, leaving out what it read; once more ids share it than a restart can leave out (or a
 * restart brings nothing new), that millisecond is walked by `hs_object_id` (EQ t, GT last id,
 * leaving out the ids of it already read) before moving on to t + 1.
 */
import type {HubSpotObject} from '../sync/types.js'
import {BadAnswerError} from './answers.js'

export interface SearchFilter {
  propertyName: string
  operator: 'EQ' | 'GT' | 'GTE' | 'LTE' | 'IN' | 'NOT_IN'
  value?: string
  values?: string[]
}

export interface PlannedSearch {
  filters: SearchFilter[]
  sort: {propertyName: string; direction: 'ASCENDING'}
  mode: 'range' | 'tie'
  /**
   * the objects at `at` already read, which the search may leave out: a range restart's filters are
   * then `GT at` OR `EQ at AND hs_object_id NOT_IN ids`, a tie's its own AND `hs_object_id NOT_IN
   * ids`; any number of them may be dropped (read again, they are dropped by id)
   */
  exclude?: {at: number; ids: string[]}
}

/** A NOT_IN filter takes at most this many values. */
const NOT_IN_VALUES = 100
/**
 * At most this many ids are left out of a restart: the restart's group holds its EQ and five NOT_IN
 * filters (HubSpot: 6 filters a group, 18 in all; the range group holds 2). The body's size cap may
 * leave out fewer (the gateway fits them).
 */
export const MAX_EXCLUDED = 5 * NOT_IN_VALUES
/** …and out of a millisecond's walk by id, whose one group holds its EQ, its GT and four NOT_IN filters */
const MAX_TIE_EXCLUDED = 4 * NOT_IN_VALUES

type State =
  | {mode: 'range'; lower: number; seen: Set<string>}
  | {mode: 'tie'; at: number; lastId: string | null; seen: Set<string>}
  | {mode: 'done'}

export function modifiedMs(value: string | null | undefined): number {
  if (value === null || value === undefined || value === '') return Number.NaN
  if (/^\d+$/.test(value)) return Number(value)
  return Date.parse(value)
}

export class ModifiedWindow {
  private state: State
  /** searches planned so far, by mode (tests and diagnostics) */
  readonly planned = {range: 0, tie: 0}

  constructor(
    private readonly modifiedProperty: string,
    sinceMs: number,
    private readonly untilMs: number,
  ) {
    this.state = sinceMs > untilMs ? {mode: 'done'} : {mode: 'range', lower: sinceMs, seen: new Set()}
  }

  get done(): boolean {
    return this.state.mode === 'done'
  }

  next(): PlannedSearch | null {
    const s = this.state
    if (s.mode === 'done') return null
    if (s.mode === 'range') {
      this.planned.range++
      const plan: PlannedSearch = {
        mode: 'range',
        filters: [
          {propertyName: this.modifiedProperty, operator: 'GTE', value: String(s.lower)},
          {propertyName: this.modifiedProperty, operator: 'LTE', value: String(this.untilMs)},
        ],
        sort: {propertyName: this.modifiedProperty, direction: 'ASCENDING'},
      }
      if (s.seen.size > 0) plan.exclude = {at: s.lower, ids: [...s.seen].slice(0, MAX_EXCLUDED)}
      return plan
    }
    this.planned.tie++
    const filters: SearchFilter[] = [{propertyName: this.modifiedProperty, operator: 'EQ', value: String(s.at)}]
    if (s.lastId !== null) filters.push({propertyName: 'hs_object_id', operator: 'GT', value: s.lastId})
    const plan: PlannedSearch = {mode: 'tie', filters, sort: {propertyName: 'hs_object_id', direction: 'ASCENDING'}}
    // the range page that led here read up to a page of this millisecond already, in no id order:
    // left out, the walk's first page is not spent on them
    const lastId = s.lastId
    const read = [...s.seen].filter((id) => lastId === null || idAbove(id, lastId)).slice(0, MAX_TIE_EXCLUDED)
    if (read.length > 0) plan.exclude = {at: s.at, ids: read}
    return plan
  }

  /**
   * Takes the page answering the last `next()`; returns the objects not handed out before.
   * `hasMore`: the search said there is a next page.
   */
  accept(results: readonly HubSpotObject[], hasMore: boolean): HubSpotObject[] {
    const s = this.state
    if (s.mode === 'done') return []
    const fresh = results.filter((o) => !s.seen.has(o.id))
    if (s.mode === 'tie') {
      for (const o of fresh) s.seen.add(o.id)
      if (results.length === 0 || !hasMore) {
        this.state = s.at + 1 > this.untilMs ? {mode: 'done'} : {mode: 'range', lower: s.at + 1, seen: new Set()}
      } else {
        const last = results[results.length - 1].id
        // sorted by hs_object_id and asked for ids above lastId: a page that does not get past it would be asked forever
        if (s.lastId !== null && !idAbove(last, s.lastId)) throw new BadAnswerError(`the search for ids after ${s.lastId} answered up to ${last}: it does not advance`)
        s.lastId = last
      }
      return fresh
    }
    if (results.length === 0 || !hasMore) {
      this.state = {mode: 'done'}
      return fresh
    }
    let top = s.lower
    for (const o of results) {
      const t = modifiedMs(o.properties[this.modifiedProperty])
      if (t > top) top = t
    }
    if (top > s.lower) {
      const seen = new Set<string>()
      for (const o of results) if (modifiedMs(o.properties[this.modifiedProperty]) === top) seen.add(o.id)
      this.state = {mode: 'range', lower: top, seen}
    } else {
      // a whole page on one millisecond: restarting there again, leaving out every id of it read so
      // far, costs no more than a walk by id, and needs no search after the walk for what follows it
      for (const o of fresh) s.seen.add(o.id)
      if (fresh.length === 0 || s.seen.size > MAX_EXCLUDED) this.state = {mode: 'tie', at: s.lower, lastId: null, seen: s.seen}
    }
    return fresh
  }
}

/**
 * The filter groups of a plan leaving out `excluded` of its ids (a prefix of plan.exclude.ids; 0: the
 * plain range): the same objects as the plain range, minus those ids at the restart time.
 */
export function filterGroups(plan: PlannedSearch, modifiedProperty: string, excluded = plan.exclude?.ids.length ?? 0): SearchFilter[][] {
  if (!plan.exclude || excluded <= 0) return [plan.filters.map((f) => ({...f}))]
  if (plan.mode === 'tie') return [[...plan.filters.map((f) => ({...f})), ...notIn(plan.exclude.ids.slice(0, excluded))]]
  const [, ...rest] = plan.filters
  const at = String(plan.exclude.at)
  return [
    [{propertyName: modifiedProperty, operator: 'GT', value: at}, ...rest.map((f) => ({...f}))],
    [{propertyName: modifiedProperty, operator: 'EQ', value: at}, ...notIn(plan.exclude.ids.slice(0, excluded))],
  ]
}

/** Ids left out, 100 to a NOT_IN filter (filters of a group are AND'ed: out of every one of them). */
function notIn(ids: string[]): SearchFilter[] {
  const out: SearchFilter[] = []
  for (let i = 0; i < ids.length; i += NOT_IN_VALUES) out.push({propertyName: 'hs_object_id', operator: 'NOT_IN', values: ids.slice(i, i + NOT_IN_VALUES)})
  return out
}

/** Digit ids compared as numbers (they may pass 2^53). */
function idAbove(id: string, than: string): boolean {
  return id.length !== than.length ? id.length > than.length : id > than
}
