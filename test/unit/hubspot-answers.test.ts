/**
 * The answer checks themselves (src/hubspot/answers.ts), on bodies HubSpot documents and on lies.
 */
import {describe, expect, it} from 'vitest'
import {
  accountDetails,
  associationPage,
  BadAnswerError,
  CursorGuard,
  objectBatch,
  objectPage,
  pipelineList,
  propertyList,
  searchPage,
} from '../../src/hubspot/answers.js'
import {ModifiedWindow} from '../../src/hubspot/search-window.js'

const object = (id: unknown, properties: Record<string, unknown> = {}) => ({id, properties, createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z', archived: false})
const refused = (fn: () => unknown) => expect(fn).toThrow(BadAnswerError)

describe('answer checks', () => {
  it('a list page: distinct digit ids, string properties, a string cursor', () => {
    expect(objectPage({results: [object('1'), object('2', {email: 'a@b.c', phone: null})], paging: {next: {after: 'MTA='}}})).toMatchObject({next: 'MTA=', results: [{id: '1'}, {id: '2'}]})
    expect(objectPage({results: []}).next).toBeUndefined()
    refused(() => objectPage('<html></html>'))
    refused(() => objectPage({}))
    refused(() => objectPage({results: [object('1'), object('1')]}))
    refused(() => objectPage({results: [object('../../x" OR 1=1 -- ')]}))
    refused(() => objectPage({results: [object(' 12')]}))
    refused(() => objectPage({results: [object('1', {n: 5})]}))
    refused(() => objectPage({results: [], paging: {next: {after: ''}}}))
  })

  it('a list page with associations: per type a collection of digit ids, the ones that page on marked', () => {
    const withAssociations = (associations: unknown) => ({...object('1'), associations})
    const page = objectPage({results: [withAssociations({
      companies: {results: [{id: '7', type: 'contact_to_company'}, {id: '7', type: 'contact_to_company_unlabeled'}, {id: '8', type: 'contact_to_company_unlabeled'}]},
      deals: {results: [{id: '9', type: 'contact_to_deal'}], paging: {next: {after: '1', link: 'https://api.hubapi.com/…'}}},
    }), object('2')]})
    expect(page.results[0].associations).toEqual({companies: {ids: ['7', '8'], more: false}, deals: {ids: ['9'], more: true}})
    expect(page.results[1].associations).toBeUndefined()
    refused(() => objectPage({results: [withAssociations({companies: {results: [{id: 'x', type: 'contact_to_company'}]}})]}))
    refused(() => objectPage({results: [withAssociations({companies: [{id: '7'}]})]}))
    refused(() => objectPage({results: [withAssociations({companies: {}})]}))
    refused(() => objectPage({results: [withAssociations('companies')]}))
  })

  it('a search total is a count no smaller than the page', () => {
    expect(searchPage({total: 5, results: [object('1')]}).total).toBe(5)
    expect(searchPage({results: []}).total).toBeUndefined()
    refused(() => searchPage({total: 0, results: [object('1')]}))
    refused(() => searchPage({total: -1, results: []}))
    refused(() => searchPage({total: '3', results: []}))
  })

  it('batch answers may name a merged survivor twice, but need digit ids', () => {
    expect(objectBatch({status: 'COMPLETE', results: [object('7'), object('7')]}).results).toHaveLength(2)
    refused(() => objectBatch({status: 'COMPLETE'}))
    refused(() => objectBatch({results: [object('x')]}))
  })

  it('association rows: digit ids (numbers allowed), each source once', () => {
    expect(associationPage({results: [{from: {id: '1'}, to: [{toObjectId: 2}, {toObjectId: '3'}]}]}).rows).toEqual([{fromId: '1', toIds: ['2', '3'], after: undefined}])
    refused(() => associationPage({results: [{from: {id: '1'}, to: []}, {from: {id: '1'}, to: []}]}))
    refused(() => associationPage({results: [{from: {id: '1'}, to: [{toObjectId: '2 OR 1=1'}]}]}))
    refused(() => associationPage({results: [{from: {id: '1'}, to: [{toObjectId: 1.5}]}]}))
  })

  it('properties, pipelines, account details', () => {
    const prop = {name: 'email', label: 'Email', type: 'string', fieldType: 'text'}
    expect(propertyList({results: [prop]})).toHaveLength(1)
    refused(() => propertyList({results: [prop, prop]}))
    refused(() => propertyList({results: [{...prop, name: ''}]}))
    const stage = {id: 'closedwon', label: 'Won', displayOrder: 1, metadata: {isClosed: 'true'}}
    expect(pipelineList({results: [{id: 'default', label: 'Sales', stages: [stage]}]})[0]!.stages[0]!.id).toBe('closedwon')
    refused(() => pipelineList({results: [{id: 'default', label: 'Sales', stages: [stage, stage]}]}))
    refused(() => pipelineList({results: [{id: 'default', label: 'Sales', stages: [{...stage, displayOrder: 'first'}]}]}))
    expect(accountDetails({portalId: 12345678, timeZone: 'US/Eastern'})).toEqual({portalId: '12345678', timeZone: 'US/Eastern'})
    refused(() => accountDetails({portalId: 'portal-1'}))
    refused(() => accountDetails({}))
  })

  it('a cursor guard refuses a cursor seen before, the one it started at, and an endless listing', () => {
    const guard = new CursorGuard(3, 'start')
    guard.advance('a')
    expect(() => guard.advance('a')).toThrow(/repeats/)
    expect(() => new CursorGuard(3, 'start').advance('start')).toThrow(/repeats/)
    const short = new CursorGuard(2)
    short.advance('x')
    short.advance('y')
    expect(() => short.advance(undefined)).toThrow(/did not end after 2 pages/)
  })

  it('a search walking one millisecond by id must get past the last id', () => {
    const at = Date.UTC(2026, 0, 1)
    const window = new ModifiedWindow('lastmodifieddate', at, at + 1000)
    const page = (ids: string[]) => ids.map((id) => ({id, properties: {lastmodifieddate: String(at)}}))
    window.next()
    window.accept(page(['5', '6']), true) // nothing past `at`: a restart there, leaving them out
    expect(window.next()?.mode).toBe('range')
    window.accept(page(['5', '6']), true) // which brings nothing new: walk the millisecond by id
    expect(window.next()?.mode).toBe('tie')
    window.accept(page(['7', '8']), true)
    window.next()
    expect(() => window.accept(page(['7', '8']), true)).toThrow(/does not advance/)
  })
})
