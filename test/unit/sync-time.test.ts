import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {epochMsToNaive, naiveToEpochMs, parseSince} from '../../src/sync/time.js'

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
