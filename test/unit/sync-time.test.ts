import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {epochMsToNaive, naiveToEpochMs, parseSince, pushWatermarkMs, wallClockSpan} from '../../src/sync/time.js'

describe('naive coreBOS datetimes and instants', () => {
  it('reads a naive time in the install timezone', () => {
    expect(new Date(naiveToEpochMs('2025-07-01 12:00:00', 'Europe/Madrid')).toISOString()).toBe('2025-07-01T10:00:00.000Z')
    expect(new Date(naiveToEpochMs('2025-01-15 12:00:00', 'America/New_York')).toISOString()).toBe('2025-01-15T17:00:00.000Z')
    expect(naiveToEpochMs('2025-01-01', 'UTC')).toBe(Date.UTC(2025, 0, 1))
  })

  it('moves a time in the spring-forward gap forward and takes the earlier of an ambiguous one', () => {
    expect(epochMsToNaive(naiveToEpochMs('2025-03-30 02:30:00', 'Europe/Madrid'), 'Europe/Madrid')).toBe('2025-03-30 03:30:00')
    expect(new Date(naiveToEpochMs('2025-10-26 02:30:00', 'Europe/Madrid')).toISOString()).toBe('2025-10-26T00:30:00.000Z')
  })

  it('round-trips every whole-second instant in several zones', () => {
    const zones = ['UTC', 'Europe/Madrid', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe']
    fc.assert(
      fc.property(fc.integer({min: Date.UTC(1990, 0, 1) / 1000, max: Date.UTC(2060, 0, 1) / 1000}), fc.constantFrom(...zones), (seconds, zone) => {
        const ms = seconds * 1000
        const naive = epochMsToNaive(ms, zone)
        // an ambiguous wall time maps back to the earlier instant, which shows the same wall time
        expect(epochMsToNaive(naiveToEpochMs(naive, zone), zone)).toBe(naive)
      }),
      {numRuns: 2000},
    )
  })

  it('parses --since as a local date, a local datetime or an ISO instant', () => {
    expect(parseSince('2025-01-01', 'Europe/Madrid')).toBe(Date.UTC(2024, 11, 31, 23))
    expect(parseSince('2025-01-01T00:00:00Z', 'Europe/Madrid')).toBe(Date.UTC(2025, 0, 1))
    expect(() => parseSince('yesterday', 'UTC')).toThrow(/not a date/)
  })
})

describe('wall clocks when clocks go back', () => {
  const madrid = 'Europe/Madrid'
  it('the earliest and latest wall time shown in a span that holds the repeated hour', () => {
    // 02:48 CEST → 02:15 CET: the clock went back at 03:00 CEST, so it showed 02:00 again
    expect(wallClockSpan(Date.parse('2025-10-26T00:48:00Z'), Date.parse('2025-10-26T01:15:00Z'), madrid)).toEqual({earliest: '2025-10-26 02:00:00', latest: '2025-10-26 02:59:59'})
    // ordinary hours: the ends themselves
    expect(wallClockSpan(Date.parse('2025-07-01T10:00:00Z'), Date.parse('2025-07-01T12:00:00Z'), madrid)).toEqual({earliest: '2025-07-01 12:00:00', latest: '2025-07-01 14:00:00'})
    // spring forward skips an hour, never shows an earlier one
    expect(wallClockSpan(Date.parse('2025-03-30T00:30:00Z'), Date.parse('2025-03-30T01:30:00Z'), madrid)).toEqual({earliest: '2025-03-30 01:30:00', latest: '2025-03-30 03:30:00'})
  })

  it('is the min and max of every second in the span (property)', () => {
    const zones = ['UTC', 'Europe/Madrid', 'America/New_York', 'Australia/Lord_Howe']
    const transitions = [Date.parse('2025-10-26T01:00:00Z'), Date.parse('2025-11-02T06:00:00Z'), Date.parse('2025-04-05T15:00:00Z')]
    fc.assert(
      fc.property(fc.constantFrom(...transitions), fc.integer({min: -3 * 3600, max: 3 * 3600}), fc.integer({min: 0, max: 4 * 3600}), fc.constantFrom(...zones), (around, offsetS, lengthS, zone) => {
        const from = around + offsetS * 1000
        const to = from + lengthS * 1000
        let earliest = epochMsToNaive(from, zone)
        let latest = earliest
        for (let t = from; t <= to; t += 60_000) {
          const n = epochMsToNaive(t, zone)
          if (n < earliest) earliest = n
          if (n > latest) latest = n
        }
        const span = wallClockSpan(from, to, zone)
        // sampled each minute, the brute force can miss the last second before a transition
        expect(span.earliest <= earliest).toBe(true)
        expect(span.latest >= latest).toBe(true)
        expect(naiveToEpochMs(span.earliest, zone)).toBeLessThanOrEqual(from)
      }),
      {numRuns: 300},
    )
  })

  it('reads a push watermark stored as an instant or, from older versions, as a naive datetime', () => {
    expect(pushWatermarkMs('2025-10-26T00:50:00.000Z', madrid)).toBe(Date.parse('2025-10-26T00:50:00Z'))
    expect(pushWatermarkMs('2025-10-26 02:50:00', madrid)).toBe(Date.parse('2025-10-26T00:50:00Z'))
    expect(pushWatermarkMs(null, madrid)).toBeNull()
    expect(pushWatermarkMs('garbage', madrid)).toBeNull()
  })
})
