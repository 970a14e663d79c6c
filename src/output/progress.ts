/** Progress for people: counts against a total when the engine knows one, percent, rate and ETA. */

export interface Progress {
  done: number
  total?: number
  /** records per second since the step started; undefined until a second has passed */
  rate?: number
  /** time left at the current rate, when there is a total and a rate */
  etaMs?: number
}

const n = (value: number) => value.toLocaleString('en-US')

/** A meter for one step: feed it (done, total) and it works out rate and ETA from the start. */
export function progressMeter(now: () => number): (done: number, total?: number) => Progress {
  const started = now()
  return (done, total) => {
    const elapsed = now() - started
    const rate = elapsed >= 1000 && done > 0 ? done / (elapsed / 1000) : undefined
    const etaMs = rate && total !== undefined && total > done ? ((total - done) / rate) * 1000 : undefined
    return {done, total, rate, etaMs}
  }
}

/** 'Contacts: 1,200/10,000 (12 %), 410/s, ETA 21 s' — or 'Contacts: 300' when nothing more is known. */
export function formatProgress(label: string, p: Progress): string {
  let text = `${label}: ${n(p.done)}`
  if (p.total !== undefined && p.total > 0) text += `/${n(p.total)} (${Math.min(100, Math.floor((p.done / p.total) * 100))} %)`
  if (p.rate !== undefined) text += `, ${n(Math.round(p.rate))}/s`
  if (p.etaMs !== undefined) text += `, ETA ${formatDuration(p.etaMs)}`
  return text
}

/** '0.4 s', '2.1 s', '47 s', '3 min 5 s', '1 h 2 min'. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, ms) / 1000
  if (s < 10) return `${s.toFixed(1)} s`
  if (s < 60) return `${Math.round(s)} s`
  const min = Math.floor(s / 60)
  if (min < 60) return `${min} min ${Math.round(s % 60)} s`
  return `${Math.floor(min / 60)} h ${min % 60} min`
}
