/** What the runner and the scenario processes share: tiers, theoretical bounds, targets. */
import {TIER_TEN_SECOND_MAX} from '../../src/hubspot/limiter.js'

export type Tier = 'off' | 'starter' | 'professional'

/** HubSpot's requests per rolling 10 s (reference/hubspot-api.md §3.1); search is 4/s on every tier here. */
export const TIER_MAX: Record<Exclude<Tier, 'off'>, number> = {starter: 100, professional: 190}
export const SEARCH_PER_SECOND = 4

export function emulatorLimits(tier: Tier): false | {tenSecondly: number; searchPerSecond: number} {
  return tier === 'off' ? false : {tenSecondly: TIER_MAX[tier], searchPerSecond: SEARCH_PER_SECOND}
}

/**
 * With the emulator's limits off, cbhs's own client-side budget (242 per 10 s at the highest tier)
 * would become the bound; the bench lifts it in its own processes so "off" measures cbhs's CPU,
 * database and latency cost. Nothing in src/ changes: the table is a plain object.
 */
export function liftClientLimits(): void {
  ;(TIER_TEN_SECOND_MAX as Record<string, number>).addon = 1_000_000_000
}

export type BoundKind = 'batch-write' | 'search' | 'list' | 'one-per-record' | 'none'

/**
 * Records per second HubSpot allows, in steady state:
 *   batch writes: 100 records × requests per 10 s;  search: 200 × 4/s = 800/s;  list: 100 × requests per 10 s.
 * cbhs keeps a margin of 3 % (at least 3 requests) of each window, so its own ceiling is ≈ 97 % of these.
 */
export function boundPerSecond(kind: BoundKind, tier: Tier): number | null {
  if (tier === 'off' || kind === 'none') return null
  const perSecond = TIER_MAX[tier] / 10
  switch (kind) {
    case 'batch-write':
      return 100 * perSecond
    case 'list':
      return 100 * perSecond
    case 'search':
      return 200 * SEARCH_PER_SECOND
    case 'one-per-record':
      return perSecond
  }
}

export function boundFormula(kind: BoundKind, tier: Tier): string {
  if (tier === 'off' || kind === 'none') return ''
  const m = TIER_MAX[tier]
  switch (kind) {
    case 'batch-write':
      return `100 × ${m}/10 s`
    case 'list':
      return `list 100 × ${m}/10 s`
    case 'search':
      return `search 200 × ${SEARCH_PER_SECOND}/s`
    case 'one-per-record':
      return `1 × ${m}/10 s`
  }
}
