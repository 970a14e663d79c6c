/**
 * coreBOS stores naive DATETIMEs in the install's timezone; HubSpot speaks UTC instants. The engine's
 * names for the conversions of maps/time (one implementation of the tz rules for the whole tool).
 */
import {instantToNaive, parseNaive, wallClockToInstant} from '../maps/time.js'

/** Naive 'YYYY-MM-DD HH:MM:SS' (install timezone) of an instant, with whole seconds. */
export function epochMsToNaive(ms: number, timeZone: string): string {
  return instantToNaive(ms, timeZone)
}

/**
 * The instant a naive local date or datetime names. Times that do not exist (spring-forward gap)
 * resolve forward; ambiguous ones (fall-back) resolve to the earlier instant, like PHP's strtotime.
 */
export function naiveToEpochMs(naive: string, timeZone: string): number {
  const text = naive.trim()
  const wall = parseNaive(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text} 00:00:00` : text)
  if (!wall) throw new RangeError(`not a date or datetime: '${naive}'`)
  return wallClockToInstant(wall, timeZone).ms
}

/**
 * A record's modifiedtime as an instant for "which side is newer". Old coreBOS rows written without
 * strict mode hold '0000-00-00 00:00:00' (or NULL on denormalized tables): such a time is the
 * oldest there is, rather than an error that would stop the whole pass over one record.
 */
export function recordTimeMs(naive: string | null | undefined, timeZone: string): number {
  try {
    return naiveToEpochMs(naive ?? '', timeZone)
  } catch {
    return 0
  }
}

/** Parses --since: a date (midnight in the zone), a naive datetime in the zone, or an ISO instant. */
export function parseSince(value: string, timeZone: string): number {
  if (/[zZ]|[+-]\d{2}:?\d{2}$/.test(value) && value.includes('T')) {
    const ms = Date.parse(value)
    if (Number.isNaN(ms)) throw new RangeError(`not a date: '${value}'`)
    return ms
  }
  return naiveToEpochMs(value, timeZone)
}

/** The zone's UTC offset at an instant, in ms (whole seconds). */
function offsetMs(ms: number, timeZone: string): number {
  const second = Math.floor(ms / 1000) * 1000
  return Date.parse(`${epochMsToNaive(second, timeZone).replace(' ', 'T')}Z`) - second
}

/** The first instant of the offset in force at `toMs`, between `fromMs` (another offset) and `toMs`. */
function transitionBetween(fromMs: number, toMs: number, timeZone: string): number {
  const target = offsetMs(toMs, timeZone)
  let lo = Math.floor(fromMs / 1000)
  let hi = Math.floor(toMs / 1000)
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2)
    if (offsetMs(mid * 1000, timeZone) === target) hi = mid
    else lo = mid
  }
  return hi * 1000
}

/** Clocks go back by at most this much at once (an hour nearly everywhere, 30 min on Lord Howe). */
const LONGEST_SHIFT_MS = 3 * 60 * 60 * 1000
const SCAN_STEP_MS = 15 * 60 * 1000

/**
 * The earliest and the latest wall-clock time (naive, in the zone) shown during [fromMs, toMs]. They
 * differ from the ends' own wall times only when clocks went back in between: the repeated hour shows
 * times earlier than it started at, and keeps, after it, the later times of its first pass.
 */
export function wallClockSpan(fromMs: number, toMs: number, timeZone: string): {earliest: string; latest: string} {
  let earliest = epochMsToNaive(fromMs, timeZone)
  let latest = epochMsToNaive(Math.max(fromMs, toMs), timeZone)
  const scan = (a: number, b: number) => {
    for (let t = a; t < b; t += SCAN_STEP_MS) {
      const u = Math.min(t + SCAN_STEP_MS, b)
      if (offsetMs(u, timeZone) >= offsetMs(t, timeZone)) continue
      const at = transitionBetween(t, u, timeZone)
      const after = epochMsToNaive(at, timeZone)
      const before = epochMsToNaive(at - 1000, timeZone)
      if (after < earliest) earliest = after
      if (before > latest) latest = before
    }
  }
  // only a fall-back within one shift of an end can reach past that end's wall time
  scan(fromMs, Math.min(toMs, fromMs + LONGEST_SHIFT_MS))
  scan(Math.max(fromMs, toMs - LONGEST_SHIFT_MS), toMs)
  return {earliest, latest}
}

/**
 * A push watermark as an instant. It is stored as an ISO instant; rows written before that hold a
 * naive coreBOS datetime (read in the zone; an ambiguous one as its earlier instant, so nothing is skipped).
 */
export function pushWatermarkMs(value: string | null | undefined, timeZone: string): number | null {
  if (!value) return null
  if (/^\d{4}-\d{2}-\d{2}T.*Z$/.test(value)) {
    const ms = Date.parse(value)
    return Number.isNaN(ms) ? null : ms
  }
  try {
    return naiveToEpochMs(value, timeZone)
  } catch {
    return null
  }
}

/** How far behind the database clock the push stream looks for records dated after it. */
export const FUTURE_WINDOW_MS = LONGEST_SHIFT_MS
