/**
 * The cbhs host's own clock. cbhs takes its times from the database (DESIGN.md §5, invariant 13),
 * so this clock only measures durations and the database clock's offset from it.
 *
 * TEST SEAM: `CBHS_TEST_HOST_CLOCK_OFFSET_MS` (an integer, may be negative) moves this clock by that
 * many milliseconds, as a host whose clock runs ahead or behind would. It exists only so tests and
 * the chaos long run can simulate a skewed host ("host clock ± 10 min"); never set it in production.
 */
function offsetMs(): number {
  const raw = process.env.CBHS_TEST_HOST_CLOCK_OFFSET_MS
  if (raw === undefined || raw.trim() === '') return 0
  const n = Number(raw)
  return Number.isFinite(n) ? Math.trunc(n) : 0
}

/** Milliseconds since the epoch by the host's clock (skewed by the test seam, if set). */
export function hostNowMs(): number {
  return Date.now() + offsetMs()
}
