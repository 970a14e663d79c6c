/**
 * The one search of an idle pull (issue 19): how its page is read into the changes since the
 * watermark and the archived check's count, and every way the page says "cannot tell".
 */
import {describe, expect, it} from 'vitest'
import {readRecentAnswer, recentSearchBody, type RecentSearch} from '../../src/hubspot/recent-search.js'
import type {HubSpotObject} from '../../src/sync/types.js'

const search: RecentSearch = {modifiedProperty: 'lastmodifieddate', sinceMs: 1_000, untilMs: 2_000, carrierProperty: 'corebos_crmid'}

function object(id: number, modifiedMs: number, crmid: string | null): HubSpotObject {
  return {id: String(id), properties: {lastmodifieddate: new Date(modifiedMs).toISOString(), corebos_crmid: crmid}}
}

describe('the search for changes and carriers at once', () => {
  it('asks for the range OR the property, newest first', () => {
    expect(recentSearchBody(search, ['email'], 200)).toEqual({
      filterGroups: [
        {filters: [{propertyName: 'lastmodifieddate', operator: 'GTE', value: '1000'}, {propertyName: 'lastmodifieddate', operator: 'LTE', value: '2000'}]},
        {filters: [{propertyName: 'corebos_crmid', operator: 'HAS_PROPERTY'}]},
      ],
      sorts: [{propertyName: 'lastmodifieddate', direction: 'DESCENDING'}],
      properties: ['email'],
      limit: 200,
    })
  })

  it('a page reaching below the watermark: the changes ascending, the carriers as the total minus the changes without the property', () => {
    const results = [
      object(9, 2_500, '109'), // a carrier modified after the pass started: counted, not handed out (the next pass's)
      object(7, 1_800, null), // new in HubSpot: a change, not a carrier
      object(5, 1_500, '105'), // a linked object edited: both
      object(8, 1_500, null),
      object(3, 900, '103'), // unchanged carriers
      object(2, 800, '102'),
    ]
    const read = readRecentAnswer(search, {results, total: 40, hasMore: true})
    expect(read).toEqual({objects: [results[2], results[3], results[1]], carriers: 38})
  })

  it('a whole answer on one page needs no carrier below the watermark', () => {
    const results = [object(7, 1_800, null), object(5, 1_500, '105')]
    expect(readRecentAnswer(search, {results, total: 2, hasMore: false})).toEqual({objects: [results[1], results[0]], carriers: 1})
    expect(readRecentAnswer(search, {results: [], total: 0, hasMore: false})).toEqual({objects: [], carriers: 0})
  })

  it('cannot tell, so the two searches are asked instead', () => {
    const below = object(1, 500, '101')
    const cases: Array<[string, Parameters<typeof readRecentAnswer>[1]]> = [
      // more changes than the page holds: the ones not listed may lack the property
      ['the page ends inside the range', {results: [object(7, 1_800, null), object(6, 1_200, '106')], total: 900, hasMore: true}],
      ['the page ends at the watermark itself', {results: [object(7, 1_800, null), object(6, 1_000, '106')], total: 900, hasMore: true}],
      ['no total', {results: [object(7, 1_800, null), below], total: undefined, hasMore: true}],
      ['not newest first', {results: [object(6, 1_200, '106'), object(7, 1_800, null), below], total: 50, hasMore: true}],
      ['a result without its modified date', {results: [{id: '7', properties: {corebos_crmid: '107'}}, below], total: 50, hasMore: true}],
      ['a result matching neither group', {results: [object(7, 2_500, null), below], total: 50, hasMore: true}],
      ['more carriers listed than counted', {results: [object(7, 1_800, '107'), object(6, 1_200, '106'), below], total: 2, hasMore: true}],
      ['a last page shorter than its total', {results: [object(7, 1_800, null), below], total: 5, hasMore: false}],
    ]
    for (const [why, answer] of cases) expect(readRecentAnswer(search, answer), why).toBeNull()
  })

  it('an empty property value is no carrier, as HAS_PROPERTY has it', () => {
    const results = [object(7, 1_800, ''), object(1, 500, '101')]
    expect(readRecentAnswer(search, {results, total: 30, hasMore: true})).toEqual({objects: [results[0]], carriers: 29})
  })
})
