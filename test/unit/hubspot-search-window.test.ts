import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {filterGroups, ModifiedWindow, modifiedMs, type PlannedSearch, type SearchFilter} from '../../src/hubspot/search-window.js'
import type {HubSpotObject} from '../../src/sync/types.js'

const PROP = 'lastmodifieddate'

interface Row {
  id: number
  t: number
}

/**
 * HubSpot search semantics as far as the planner relies on them; ties come back in random order.
 * `excluded`: how many of a restart's already-read ids the body leaves out (the gateway leaves out
 * fewer when the body would pass its size cap); all of them by default.
 */
function fakeSearch(rows: Row[], plan: PlannedSearch, pageSize: number, random: () => number, excluded?: number) {
  const matches = rows.filter((r) =>
    filterGroups(plan, PROP, excluded).some((group) => group.every((f) => matchesFilter(r, f))),
  )
  const keyed = matches.map((r) => ({r, tie: random()}))
  keyed.sort((a, b) => (plan.sort.propertyName === PROP ? a.r.t - b.r.t || a.tie - b.tie : a.r.id - b.r.id))
  const page = keyed.slice(0, pageSize).map(({r}): HubSpotObject => ({
    id: String(r.id),
    properties: {[PROP]: new Date(r.t).toISOString(), hs_object_id: String(r.id)},
  }))
  return {page, hasMore: matches.length > pageSize}
}

function matchesFilter(r: Row, f: SearchFilter): boolean {
  const v = f.propertyName === PROP ? r.t : r.id
  const x = Number(f.value)
  switch (f.operator) {
    case 'EQ':
      return v === x
    case 'GT':
      return v > x
    case 'GTE':
      return v >= x
    case 'LTE':
      return v <= x
    case 'NOT_IN':
      return !f.values!.map(Number).includes(v)
    default:
      throw new Error(`operator ${f.operator}`)
  }
}

function drain(rows: Row[], since: number, until: number, pageSize = 200, seed = 7, onPage?: (n: number) => void, excluded?: (plan: PlannedSearch) => number) {
  let s = seed
  const random = () => ((s = (s * 16807) % 2147483647) / 2147483647)
  const window = new ModifiedWindow(PROP, since, until)
  const out: HubSpotObject[] = []
  let pages = 0
  for (let plan = window.next(); plan; plan = window.next()) {
    const {page, hasMore} = fakeSearch(rows, plan, pageSize, random, excluded?.(plan))
    out.push(...window.accept(page, hasMore))
    pages++
    onPage?.(pages)
    if (pages > 100_000) throw new Error('no progress')
  }
  return {out, pages, planned: window.planned}
}

function expectExactlyOnce(out: HubSpotObject[], rows: Row[]) {
  const ids = out.map((o) => Number(o.id))
  expect(new Set(ids).size).toBe(ids.length)
  expect(ids.sort((a, b) => a - b)).toEqual(rows.map((r) => r.id).sort((a, b) => a - b))
}

describe('ModifiedWindow', () => {
  it('parses ISO and epoch-millisecond values', () => {
    expect(modifiedMs('2020-02-29T03:30:17.000Z')).toBe(Date.UTC(2020, 1, 29, 3, 30, 17))
    expect(modifiedMs('1583000000000')).toBe(1583000000000)
    expect(modifiedMs(null)).toBeNaN()
  })

  it('yields 25,000 objects exactly once, in ascending order, 700 of them on one millisecond (more than a restart leaves out)', () => {
    const base = Date.UTC(2025, 0, 1)
    const rows: Row[] = []
    for (let i = 1; i <= 25_000; i++) rows.push({id: i, t: i <= 700 ? base + 5_000_000 : base + ((i * 7919) % 20_000_000)})
    const {out, pages, planned} = drain(rows, base, base + 30_000_000)
    expectExactlyOnce(out, rows)
    const times = out.map((o) => modifiedMs(o.properties[PROP]))
    expect(times).toEqual([...times].sort((a, b) => a - b))
    expect(planned.tie).toBeGreaterThan(0)
    // a keyset restart per page re-reads only the last millisecond: close to one request per 200 objects
    expect(pages).toBeLessThan(25_000 / 200 + 10)
  })

  it('a burst edit (180 objects a millisecond) costs one search per 200 objects: a restart leaves out every object it read at its time', () => {
    const t0 = Date.UTC(2026, 11, 2)
    const rows: Row[] = []
    for (let i = 0; i < 5_000; i++) rows.push({id: 9_901 + i, t: t0 + Math.floor(i / 180)})
    const {out, pages, planned} = drain(rows, t0, t0 + 60_000)
    expectExactlyOnce(out, rows)
    expect(planned.tie).toBe(0)
    expect(pages).toBeLessThanOrEqual(5_000 / 200 + 1)
  })

  it('walks a millisecond shared by more than 10,000 objects by id', () => {
    const t0 = Date.UTC(2025, 5, 1)
    const rows: Row[] = []
    for (let i = 1; i <= 10_500; i++) rows.push({id: i * 3, t: t0})
    for (let i = 1; i <= 700; i++) rows.push({id: 100_000 + i, t: t0 - 1000 + i * 3})
    const {out, planned} = drain(rows, t0 - 10_000, t0 + 10_000)
    expectExactlyOnce(out, rows)
    // past the 10,000 a search reaches: the range pages read at most a few hundred of them
    expect(planned.tie).toBeGreaterThanOrEqual(10_000 / 200)
  })

  it('a millisecond with more objects than a page, fewer than a restart leaves out: 450 objects on one millisecond cost three searches, not six', () => {
    const t1 = Date.UTC(2025, 5, 1)
    const rows: Row[] = []
    for (let i = 1; i <= 100; i++) rows.push({id: 900_000 + i, t: t1 - 1000 + i})
    for (let i = 1; i <= 450; i++) rows.push({id: i * 7, t: t1})
    const {out, planned} = drain(rows, t1 - 10_000, t1 + 10_000)
    expectExactlyOnce(out, rows)
    // the first page: 100 earlier and 100 at t1; the restart: 200 more at t1; the next restart: the
    // last 150 (a walk by id that did not leave out what was read took three pages, then a search after t1)
    expect(planned).toEqual({range: 3, tie: 0})
  })

  it('keeps only [since, until]', () => {
    const rows: Row[] = [1, 2, 3, 4, 5].map((i) => ({id: i, t: i * 1000}))
    const {out} = drain(rows, 2000, 4000)
    expect(out.map((o) => o.id)).toEqual(['2', '3', '4'])
    expect(drain(rows, 5001, 4000).pages).toBe(0)
  })

  it('skips nothing when objects already read are modified again and leave the window', () => {
    const rows: Row[] = []
    for (let i = 1; i <= 2_000; i++) rows.push({id: i, t: 10_000 + i})
    const until = 50_000
    const {out} = drain(rows, 0, until, 200, 3, (page) => {
      // after each page, 30 objects already read move past `until` (modified during the pass)
      if (page <= 5) for (const r of rows.filter((r) => r.t <= 10_000 + page * 200).slice(0, 30)) r.t = until + 1 + r.id
    })
    const ids = new Set(out.map((o) => Number(o.id)))
    expect(ids.size).toBe(out.length)
    for (const r of rows) if (r.t <= until) expect(ids.has(r.id)).toBe(true)
  })

  it('property: any data set, any page size, every object exactly once', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({min: 0, max: 40}), {minLength: 0, maxLength: 300}),
        fc.integer({min: 1, max: 12}),
        fc.integer({min: 1, max: 1000}),
        (times, pageSize, seed) => {
          const rows = times.map((t, i) => ({id: i + 1, t: 1_000 + t}))
          const {out} = drain(rows, 1_000, 1_040, pageSize, seed)
          expectExactlyOnce(out, rows)
        },
      ),
      {numRuns: 200},
    )
  })

  it('leaves the objects already read at the restart time out of the next search: 200 new ones a page with 90 objects on each millisecond', () => {
    const base = Date.UTC(2025, 2, 1)
    const rows: Row[] = []
    for (let i = 1; i <= 6_000; i++) rows.push({id: i, t: base + Math.floor((i - 1) / 90)})
    const {out, pages} = drain(rows, base, base + 1_000)
    expectExactlyOnce(out, rows)
    expect(pages).toBeLessThanOrEqual(6_000 / 200 + 1)
    // without the exclusion (a body too long for any id) each restart re-reads the last millisecond's objects
    const plain = drain(rows, base, base + 1_000, 200, 7, undefined, () => 0)
    expectExactlyOnce(plain.out, rows)
    expect(plain.pages).toBeGreaterThan(pages)
  })

  it('property: any data set, any page size, any part of the already-read ids left out, every object exactly once', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({min: 0, max: 40}), {minLength: 0, maxLength: 300}),
        fc.integer({min: 1, max: 12}),
        fc.integer({min: 1, max: 1000}),
        fc.integer({min: 0, max: 5}),
        (times, pageSize, seed, keep) => {
          const rows = times.map((t, i) => ({id: i + 1, t: 1_000 + t}))
          const {out} = drain(rows, 1_000, 1_040, pageSize, seed, undefined, (plan) => Math.min(keep, plan.exclude?.ids.length ?? 0))
          expectExactlyOnce(out, rows)
        },
      ),
      {numRuns: 200},
    )
  })
})
