/**
 * One search that serves both halves of an idle pull: the objects modified since the watermark
 * and the archived check's count of objects carrying cbhs's unique property (src/sync/archived.ts).
 *
 * The search asks for `modified in [since, until]` OR `property HAS_PROPERTY` (filter groups are
 * OR'ed, reference/hubspot-api.md §3.2), newest first. Its `total` counts the union. When the page,
 * read from the top down, gets below `since` (or holds every result), it holds every object modified
 * in [since, until]; those among them without the property are exactly what the union adds to the
 * carriers, so `total` minus them is the carriers count. Anything that does not add up (no total, a
 * page out of order, a result that matches neither group, more carriers on the page than counted)
 * reads as "cannot tell", and the caller asks the two separate searches instead: a wrong count here
 * could hide an archived object, an extra search costs a quarter of a second.
 *
 * Results and total come from one query, so an object HubSpot's index has not caught up with is
 * missing from both, as it would be from the two searches. The count trusts `total` as exact ("the
 * number of available results" in the specification), as the separate count always did.
 */
import type {RecentWithCarriers} from '../sync/ports.js'
import type {HubSpotObject} from '../sync/types.js'
import {modifiedMs} from './search-window.js'

export interface RecentSearch {
  modifiedProperty: string
  sinceMs: number
  untilMs: number
  carrierProperty: string
}

export interface RecentAnswer {
  results: readonly HubSpotObject[]
  total: number | undefined
  /** the search said there is a next page */
  hasMore: boolean
}

export function recentSearchBody(search: RecentSearch, properties: string[], limit: number): Record<string, unknown> {
  const groups = [
    [
      {propertyName: search.modifiedProperty, operator: 'GTE', value: String(search.sinceMs)},
      {propertyName: search.modifiedProperty, operator: 'LTE', value: String(search.untilMs)},
    ],
    [{propertyName: search.carrierProperty, operator: 'HAS_PROPERTY'}],
  ]
  return {
    filterGroups: groups.map((filters) => ({filters})),
    // typed Array<string> in the client, but HubSpot wants objects; the serializer passes them through (§2.6)
    sorts: [{propertyName: search.modifiedProperty, direction: 'DESCENDING'}],
    properties,
    limit,
  }
}

/** Both answers from one page, or null when the page cannot be trusted to give them. */
export function readRecentAnswer(search: RecentSearch, answer: RecentAnswer): RecentWithCarriers | null {
  const {results, total} = answer
  if (total === undefined) return null
  const carries = (o: HubSpotObject) => (o.properties[search.carrierProperty] ?? '') !== ''
  const recent: Array<{object: HubSpotObject; at: number}> = []
  let previous = Number.POSITIVE_INFINITY
  let carriersListed = 0
  for (const object of results) {
    const at = modifiedMs(object.properties[search.modifiedProperty])
    // NaN fails too: without its modified date a result cannot be placed
    if (!(at <= previous)) return null
    previous = at
    const inRange = at >= search.sinceMs && at <= search.untilMs
    if (carries(object)) carriersListed++
    else if (!inRange) return null
    if (inRange) recent.push({object, at})
  }
  // results continue past the page: only a page that went below `since` holds the whole range
  if (answer.hasMore && !(previous < search.sinceMs)) return null
  const bare = recent.filter((r) => !carries(r.object)).length
  const carriers = total - bare
  if (carriers < carriersListed || (!answer.hasMore && total !== results.length)) return null
  recent.sort((a, b) => a.at - b.at || idOrder(a.object.id, b.object.id))
  return {objects: recent.map((r) => r.object), carriers}
}

/** Digit ids compared as numbers (they may pass 2^53). */
function idOrder(a: string, b: string): number {
  return a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0
}
