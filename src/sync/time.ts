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
