/**
 * coreBOS stores naive DATETIMEs in the install's timezone; HubSpot speaks UTC instants. These two
 * functions are the only bridge, built on Intl so DST rules come from the platform's tz database.
 */

const formatters = new Map<string, Intl.DateTimeFormat>()

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone)
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
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

/** Wall-clock parts of an instant in a zone. */
function wallClock(ms: number, timeZone: string): number[] {
  const parts = formatter(timeZone).formatToParts(new Date(ms))
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value)
  return [get('year'), get('month'), get('day'), get('hour'), get('minute'), get('second')]
}

/** Naive 'YYYY-MM-DD HH:MM:SS' (install timezone) of an instant, with whole seconds. */
export function epochMsToNaive(ms: number, timeZone: string): string {
  const [y, mo, d, h, mi, s] = wallClock(ms, timeZone)
  const pad = (n: number, w = 2) => String(n).padStart(w, '0')
  return `${pad(y, 4)}-${pad(mo)}-${pad(d)} ${pad(h)}:${pad(mi)}:${pad(s)}`
}

const NAIVE = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$/

/**
 * The instant a naive local time names. Times that do not exist (spring-forward gap) resolve
 * forward; ambiguous ones (fall-back) resolve to the earlier instant, like PHP's strtotime.
 */
export function naiveToEpochMs(naive: string, timeZone: string): number {
  const m = NAIVE.exec(naive.trim())
  if (!m) throw new RangeError(`not a date or datetime: '${naive}'`)
  const [y, mo, d, h = '0', mi = '0', s = '0'] = m.slice(1).map((v) => v ?? '0')
  const asUtc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s))
  if (Number.isNaN(asUtc)) throw new RangeError(`not a date or datetime: '${naive}'`)
  // two refinement steps find the offset in force at that wall-clock time
  let guess = asUtc - offsetMs(asUtc, timeZone)
  guess = asUtc - offsetMs(guess, timeZone)
  const earlier = asUtc - offsetMs(guess - 3_600_000, timeZone)
  if (earlier !== guess && epochMsToNaive(earlier, timeZone) === epochMsToNaive(guess, timeZone)) return Math.min(earlier, guess)
  return guess
}

function offsetMs(ms: number, timeZone: string): number {
  const [y, mo, d, h, mi, s] = wallClock(ms, timeZone)
  return Date.UTC(y, mo - 1, d, h, mi, s) - Math.floor(ms / 1000) * 1000
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
