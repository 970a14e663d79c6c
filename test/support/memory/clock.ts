/** The kit's one clock: coreBOS, HubSpot, the state store and the engine all read it; tests move it. */
import type {Clock} from '../../../src/sync/ports.js'

export class TestClock implements Clock {
  constructor(private ms = Date.UTC(2025, 2, 3, 9, 0, 0)) {}

  nowMs(): number {
    return this.ms
  }

  /** Moves time on; never backwards, like the clocks of the two systems. */
  advance(ms: number): void {
    if (ms < 0) throw new Error(`a clock does not go back (${ms} ms)`)
    this.ms += ms
  }

  advanceSeconds(seconds: number): void {
    this.advance(seconds * 1000)
  }

  iso(): string {
    return new Date(this.ms).toISOString()
  }
}
