/**
 * Progress without a terminal (cron logs): a long step writes a timestamped line with its count,
 * total, percent, rate and ETA every 10 s, however often the engine reports; a short step writes
 * only its closing line; under --json nothing is written.
 */
import {afterEach, describe, expect, it, vi} from 'vitest'
import {failedMarker, runTasks, type TaskSpec} from '../../src/output/tasks.js'

const START = Date.UTC(2026, 11, 2, 6, 0, 0)

/** A step that reports 100 records a second for a minute, as a backfill does. */
const backfill: TaskSpec<object> = {
  title: 'push Contacts',
  async run(_ctx, reporter) {
    for (let done = 0; done <= 6000; done += 100) {
      reporter.progress('Contacts', done, 6000)
      vi.setSystemTime(Date.now() + 1000)
    }
    return {summary: '6000 read, 6000 created', processed: 6000, failed: 0}
  },
}

const quick: TaskSpec<object> = {
  title: 'push Leads',
  async run(_ctx, reporter) {
    reporter.progress('Leads', 0, 0)
    return '0 read'
  },
}

function captureStderr(): string[] {
  const written: string[] = []
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk))
    return true
  })
  return written
}

describe('progress lines without a terminal', () => {
  afterEach(() => {
    vi.restoreAllMocks()
    vi.useRealTimers()
  })

  it('a minute-long step logs its progress every 10 s with total, percent, rate and ETA; a short step only its result', async () => {
    vi.useFakeTimers({toFake: ['Date']})
    vi.setSystemTime(START)
    const written = captureStderr()
    await runTasks([backfill, quick], {}, 'lines', () => undefined)
    const lines = written.join('').split('\n').filter(Boolean)
    expect(lines[0]).toBe('2026-12-02T06:00:10Z push Contacts: 1,000/6,000 (16 %), 100/s, ETA 50 s')
    expect(lines.filter((l) => / push Contacts: [\d,]+\/6,000 \(\d+ %\), 100\/s/.test(l))).toHaveLength(6)
    expect(lines).toHaveLength(8)
    expect(lines[6]).toBe('2026-12-02T06:01:01Z push Contacts: 6000 read, 6000 created (1 min 1 s)')
    expect(lines[7]).toMatch(/^2026-12-02T06:01:01Z push Leads: 0 read \(0\.0 s\)$/)
  })

  it('--json (silent) writes nothing at all', async () => {
    vi.useFakeTimers({toFake: ['Date']})
    vi.setSystemTime(START)
    const written = captureStderr()
    await runTasks([backfill, quick], {}, 'silent', () => undefined)
    expect(written).toEqual([])
  })
})

describe('the failed-records marker', () => {
  it('says failed after a pass and would fail after a dry run', () => {
    expect(failedMarker({summary: '', processed: 300, failed: 69})).toBe(' — ✖ 69 of 300 failed (23 %)')
    expect(failedMarker({summary: '', processed: 4, failed: 1, predicted: true})).toBe(' — ✖ 1 of 4 would fail (25 %)')
    expect(failedMarker({summary: '', processed: 4, failed: 0})).toBe('')
  })
})
