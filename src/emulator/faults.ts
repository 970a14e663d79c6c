/** Deterministic fault injection: which request fails, and how. */

export type FaultKind = 500 | 502 | 504 | 423 | 429 | 'hang' | 'reset' | 'html' | 'no-content-type'
export const FAULT_KINDS: readonly FaultKind[] = [500, 502, 504, 423, 429, 'hang', 'reset', 'html', 'no-content-type']

export interface FaultSpec {
  /** probability per matching request (0..1) */
  rate?: number
  /** fault the next N matching requests (with `rate`: at most N faults); neither given ⇒ count 1 */
  count?: number
  kinds: FaultKind[]
  /** tested against the request path (no query string) */
  match?: RegExp
  seed?: number
}

/** mulberry32: small, fast, and the same sequence for the same seed on every platform. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

interface Rule {
  spec: FaultSpec
  remaining: number | null
  fired: number
  random: () => number
}

export class FaultInjector {
  private rules: Rule[] = []

  add(spec: FaultSpec): void {
    if (!Array.isArray(spec.kinds) || spec.kinds.length === 0) throw new Error('injectFaults needs at least one kind')
    for (const k of spec.kinds) if (!FAULT_KINDS.includes(k)) throw new Error(`unknown fault kind ${String(k)}`)
    if (spec.rate !== undefined && !(spec.rate >= 0 && spec.rate <= 1)) throw new Error('fault rate must be within 0..1')
    const remaining = spec.count ?? (spec.rate === undefined ? 1 : null)
    this.rules.push({spec, remaining, fired: 0, random: prng(spec.seed ?? 1)})
  }

  clear(): void {
    this.rules = []
  }

  /** The fault for this request, if any; consumes budget of the first rule that fires. */
  pick(path: string): FaultKind | null {
    for (const rule of this.rules) {
      const {spec} = rule
      if (rule.remaining === 0) continue
      if (spec.match && !spec.match.test(path)) continue
      if (spec.rate !== undefined && rule.random() >= spec.rate) continue
      if (rule.remaining !== null) rule.remaining--
      // count-only rules cycle through the kinds so "count: 3, kinds: [500, 502, 504]" gives each once
      const kind = spec.rate === undefined
        ? spec.kinds[rule.fired % spec.kinds.length]!
        : spec.kinds[Math.floor(rule.random() * spec.kinds.length)]!
      rule.fired++
      return kind
    }
    return null
  }
}
