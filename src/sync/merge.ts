/**
 * Field-level three-way merge against the last synced snapshot (DESIGN.md §5.5).
 *
 * For one key (a HubSpot property on push, a coreBOS field on pull) we know three values: what it
 * was at the last sync (base), what the side we read from says now (incoming) and what the side we
 * would write to says now (current). Only a change on the incoming side flows; a change on both
 * sides to different values is a conflict the policy settles.
 */
import type {ConflictPolicy} from './types.js'

export interface FieldConflict {
  key: string
  base: string | null
  crm: string | null
  hubspot: string | null
  winner: 'crm' | 'hubspot'
  policy: ConflictPolicy
}

export type Side = 'crm' | 'hubspot'

export interface MergeInput {
  /** the side whose change we are propagating */
  from: Side
  base: Record<string, string | null | undefined>
  /**
   * The base as the target side last had it, when it differs in form from `base` (pull compares
   * HubSpot's values through the map, but coreBOS's against the stored coreBOS values)
   */
  currentBase?: Record<string, string | null | undefined>
  incoming: Record<string, string | null | undefined>
  /** null when the target side was not read (no conflict check possible) */
  current: Record<string, string | null | undefined> | null
  keys: Iterable<string>
  policy: ConflictPolicy
  /** which side changed last, for the 'newest' policy */
  newest: Side
  /** value equality per key; plain string equality (null = '') by default */
  equal?: (key: string, a: string | null | undefined, b: string | null | undefined) => boolean
}

export interface MergeResult {
  /** keys to write on the target side, with the incoming value */
  write: Record<string, string | null>
  conflicts: FieldConflict[]
  /** keys changed on both sides where the target side won: nothing is written for them */
  keptOnTarget: string[]
}

export function normalize(value: string | null | undefined): string {
  return value ?? ''
}

export function sameValue(a: string | null | undefined, b: string | null | undefined): boolean {
  return normalize(a) === normalize(b)
}

export function mergeFields(input: MergeInput): MergeResult {
  const write: Record<string, string | null> = {}
  const conflicts: FieldConflict[] = []
  const keptOnTarget: string[] = []
  const same = (key: string, a: string | null | undefined, b: string | null | undefined) => (input.equal ? input.equal(key, a, b) : sameValue(a, b))
  for (const key of input.keys) {
    const base = input.base[key]
    const incoming = input.incoming[key]
    if (same(key, incoming, base)) continue
    const current = input.current ? input.current[key] : undefined
    const targetBase = input.currentBase ? input.currentBase[key] : base
    if (input.current === null || same(key, current, targetBase)) {
      write[key] = incoming ?? null
      continue
    }
    // both sides changed this key since the last sync
    if (same(key, current, incoming)) continue
    const winner = decideWinner(input.policy, input.newest)
    const values = input.from === 'crm' ? {crm: incoming, hubspot: current} : {crm: current, hubspot: incoming}
    conflicts.push({
      key,
      base: base ?? null,
      crm: values.crm ?? null,
      hubspot: values.hubspot ?? null,
      winner,
      policy: input.policy,
    })
    if (winner === input.from) write[key] = incoming ?? null
    else keptOnTarget.push(key)
  }
  return {write, conflicts, keptOnTarget}
}

function decideWinner(policy: ConflictPolicy, newest: Side): Side {
  if (policy === 'crm') return 'crm'
  if (policy === 'hubspot') return 'hubspot'
  return newest
}
