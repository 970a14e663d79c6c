/**
 * Date and time conversion between coreBOS (naive values in the install's timezone) and HubSpot
 * (UTC instants; date properties at midnight UTC). Intl supplies the tz database, so DST is right
 * for any IANA zone. Local times that do not exist or exist twice resolve like Temporal's
 * 'compatible' disambiguation: a skipped time moves forward by the gap, a repeated time takes the
 * earlier instant.
 */

const formatters = new Map<string, Intl.DateTimeFormat>()

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone)
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      era: 'short',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    })
    formatters.set(timeZone, f)
  }
  return f
}

export function isValidTimezone(timeZone: string): boolean {
  try {
    formatter(timeZone)
    return true
  } catch {
    return false
  }
}

export interface WallClock {
  year: number
  month: number
  day: number
  hour: number
  minute: number
  second: number
}

/** The wall clock an instant shows in a zone. */
export function wallClock(ms: number, timeZone: string): WallClock {
  // most installs run on UTC: no tz database lookup needed (and it is the hot path of every pass)
  if (timeZone === 'UTC' || timeZone === 'Etc/UTC') {
    const d = new Date(ms)
    return {year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds()}
  }
  const parts = formatter(timeZone).formatToParts(new Date(ms))
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0)
  const era = parts.find((p) => p.type === 'era')?.value
  const year = get('year')
  return {year: era === 'BC' || era === 'B' ? 1 - year : year, month: get('month'), day: get('day'), hour: get('hour'), minute: get('minute'), second: get('second')}
}

/** Epoch ms of a wall clock read as UTC (works for years 0–99 too, unlike Date.UTC). */
function utcOf(w: WallClock): number {
  const d = new Date(0)
  d.setUTCFullYear(w.year, w.month - 1, w.day)
  d.setUTCHours(w.hour, w.minute, w.second, 0)
  return d.getTime()
}

function offsetAt(ms: number, timeZone: string): number {
  const whole = Math.floor(ms / 1000) * 1000
  return utcOf(wallClock(whole, timeZone)) - whole
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0')

export function formatNaive(w: WallClock): string {
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)} ${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}`
}

/** A naive 'YYYY-MM-DD HH:MM:SS' of an instant in a zone (sub-second part dropped). */
export function instantToNaive(ms: number, timeZone: string): string {
  return formatNaive(wallClock(Math.floor(ms / 1000) * 1000, timeZone))
}

/** The calendar day 'YYYY-MM-DD' of an instant in a zone. */
export function instantToDay(ms: number, timeZone: string): string {
  return instantToNaive(ms, timeZone).slice(0, 10)
}

export interface Resolved {
  ms: number
  /** the local time does not exist (DST gap) and was moved forward */
  skipped: boolean
  /** the local time exists twice (DST overlap); the earlier instant was taken */
  ambiguous: boolean
}

/** The instant a wall clock names in a zone (see the module comment for gaps and overlaps). */
export function wallClockToInstant(w: WallClock, timeZone: string): Resolved {
  const asUtc = utcOf(w)
  // offsets in force a day around the time: a transition between them is the only source of trouble
  const before = offsetAt(asUtc - 86_400_000, timeZone)
  const after = offsetAt(asUtc + 86_400_000, timeZone)
  const candidates = [...new Set([asUtc - before, asUtc - after, asUtc - offsetAt(asUtc, timeZone)])]
  const target = formatNaive(w)
  const matches = candidates.filter((ms) => instantToNaive(ms, timeZone) === target).sort((a, b) => a - b)
  if (matches.length > 0) return {ms: matches[0], skipped: false, ambiguous: matches.length > 1}
  // a gap: read the time with the offset from before the transition, which lands after the gap
  return {ms: asUtc - before, skipped: true, ambiguous: false}
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/
const NAIVE = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?$/

function validDay(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false
  const days = [31, (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
  return d <= days[m - 1]
}

/** Parses 'YYYY-MM-DD'; null when malformed or impossible (2024-02-30). */
export function parseDay(text: string): {year: number; month: number; day: number} | null {
  const m = DATE.exec(text)
  if (!m) return null
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])]
  return validDay(year, month, day) ? {year, month, day} : null
}

/** Parses a naive 'YYYY-MM-DD HH:MM[:SS]'; null when malformed or impossible. */
export function parseNaive(text: string): WallClock | null {
  const m = NAIVE.exec(text)
  if (!m) return null
  const w = {year: Number(m[1]), month: Number(m[2]), day: Number(m[3]), hour: Number(m[4]), minute: Number(m[5]), second: Number(m[6] ?? 0)}
  if (!validDay(w.year, w.month, w.day) || w.hour > 23 || w.minute > 59 || w.second > 59) return null
  return w
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})$/

/**
 * Parses what HubSpot sends for a datetime (ISO 8601 with Z or an offset, or epoch milliseconds)
 * and, leniently, a bare 'YYYY-MM-DD' (midnight UTC). Null when it is none of these.
 */
export function parseInstant(text: string): number | null {
  if (/^-?\d{1,15}$/.test(text)) return Number(text)
  const day = parseDay(text)
  if (day) return utcOf({...day, hour: 0, minute: 0, second: 0})
  const m = ISO.exec(text)
  if (!m) return null
  const w = {year: Number(m[1]), month: Number(m[2]), day: Number(m[3]), hour: Number(m[4]), minute: Number(m[5]), second: Number(m[6] ?? 0)}
  if (!validDay(w.year, w.month, w.day) || w.hour > 23 || w.minute > 59 || w.second > 59) return null
  const ms = Number((m[7] ?? '0').padEnd(3, '0').slice(0, 3))
  let offset = 0
  if (m[8] !== 'Z') {
    const o = /^([+-])(\d{2}):?(\d{2})$/.exec(m[8])!
    offset = (o[1] === '-' ? -1 : 1) * (Number(o[2]) * 60 + Number(o[3])) * 60_000
  }
  return utcOf(w) + ms - offset
}

/** Midnight UTC of a day, as HubSpot formats instants ('2024-03-10T00:00:00.000Z'). */
export function dayToMidnightIso(day: string): string {
  return `${day}T00:00:00.000Z`
}

export function isoOf(ms: number): string {
  return new Date(ms).toISOString()
}
