import {describe, expect, it} from 'vitest'
import {mergeFields} from '../../src/sync/merge.js'

const base = {phone: '1', email: 'a@x.io', city: 'Madrid'}

describe('three-way field merge', () => {
  it('lets a field changed on one side only flow to the other', () => {
    const r = mergeFields({from: 'hubspot', base, incoming: {...base, phone: '2'}, current: base, keys: Object.keys(base), policy: 'newest', newest: 'crm'})
    expect(r.write).toEqual({phone: '2'})
    expect(r.conflicts).toEqual([])
  })

  it('keeps both edits when the sides changed different fields', () => {
    const r = mergeFields({
      from: 'hubspot',
      base,
      incoming: {...base, phone: '2'},
      current: {...base, city: 'Sevilla'},
      keys: Object.keys(base),
      policy: 'newest',
      newest: 'hubspot',
    })
    expect(r.write).toEqual({phone: '2'})
    expect(r.conflicts).toEqual([])
  })

  it.each([
    ['crm', 'hubspot', 'crm'],
    ['hubspot', 'crm', 'hubspot'],
    ['newest', 'crm', 'crm'],
    ['newest', 'hubspot', 'hubspot'],
  ] as const)('policy %s with newest side %s lets %s win a field changed on both', (policy, newest, winner) => {
    const r = mergeFields({from: 'hubspot', base, incoming: {...base, phone: 'H'}, current: {...base, phone: 'C'}, keys: ['phone'], policy, newest})
    expect(r.conflicts).toEqual([{key: 'phone', base: '1', crm: 'C', hubspot: 'H', winner, policy}])
    expect(r.write).toEqual(winner === 'hubspot' ? {phone: 'H'} : {})
    expect(r.keptOnTarget).toEqual(winner === 'hubspot' ? [] : ['phone'])
  })

  it('is no conflict when both sides made the same change', () => {
    const r = mergeFields({from: 'crm', base, incoming: {...base, phone: '9'}, current: {...base, phone: '9'}, keys: ['phone'], policy: 'newest', newest: 'crm'})
    expect(r).toEqual({write: {}, conflicts: [], keptOnTarget: []})
  })

  it('treats null and empty as the same value', () => {
    const r = mergeFields({from: 'crm', base: {a: null}, incoming: {a: ''}, current: {a: null}, keys: ['a'], policy: 'newest', newest: 'crm'})
    expect(r.write).toEqual({})
  })

  it('compares the target side against its own base when the forms differ', () => {
    const r = mergeFields({
      from: 'hubspot',
      base: {amount: '1500'},
      currentBase: {amount: '1500.00'},
      incoming: {amount: '1700'},
      current: {amount: '1500.00'},
      keys: ['amount'],
      policy: 'newest',
      newest: 'crm',
    })
    expect(r.write).toEqual({amount: '1700'})
  })

  it('writes without a conflict check when the target side was not read', () => {
    const r = mergeFields({from: 'crm', base, incoming: {...base, city: 'Bilbao'}, current: null, keys: ['city'], policy: 'hubspot', newest: 'hubspot'})
    expect(r.write).toEqual({city: 'Bilbao'})
  })
})
