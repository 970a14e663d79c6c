import {describe, expect, it} from 'vitest'
import {normalizeValue} from '../../src/emulator/values.js'
import {defaultPipelines, defaultProperties, type PropertyDef} from '../../src/emulator/schema.js'
import {FaultInjector} from '../../src/emulator/faults.js'
import {RateLimiter} from '../../src/emulator/limits.js'

const defs = new Map<string, PropertyDef>()
for (const type of ['contacts', 'companies', 'deals'] as const) {
  for (const d of defaultProperties(type, 0, defaultPipelines(0))) defs.set(`${type}.${d.name}`, d)
}
const norm = (key: string, value: unknown) => normalizeValue(defs.get(key)!, value)

describe('emulator property values', () => {
  it('stores every value as HubSpot returns it', () => {
    expect(norm('contacts.email', ' Ann@Example.COM ')).toEqual({ok: true, value: 'ann@example.com'})
    expect(norm('contacts.date_of_birth', '2015-05-01')).toEqual({ok: true, value: '2015-05-01'})
    expect(norm('contacts.date_of_birth', 1430438400000)).toEqual({ok: true, value: '2015-05-01'})
    expect(norm('deals.closedate', '1700000000000')).toEqual({ok: true, value: '2023-11-14T22:13:20.000Z'})
    expect(norm('deals.closedate', '2024-02-29T10:00:00+01:00')).toEqual({ok: true, value: '2024-02-29T09:00:00.000Z'})
    expect(norm('contacts.hs_email_optout', 'TRUE')).toEqual({ok: true, value: 'true'})
    expect(norm('deals.amount', '1500.00')).toEqual({ok: true, value: '1500.00'})
    expect(norm('contacts.firstname', '')).toEqual({ok: true, value: null})
    expect(norm('contacts.firstname', null)).toEqual({ok: true, value: null})
  })

  it('rejects what HubSpot rejects', () => {
    const error = (key: string, value: unknown) => {
      const r = norm(key, value)
      return r.ok ? undefined : r.problem.error
    }
    expect(error('contacts.email', 'ann@')).toBe('INVALID_EMAIL')
    expect(error('contacts.date_of_birth', '1430438400001')).toBe('INVALID_DATE')
    expect(error('contacts.date_of_birth', '2015-02-30')).toBe('INVALID_DATE')
    expect(error('contacts.date_of_birth', '01/05/2015')).toBe('INVALID_DATE')
    expect(error('deals.closedate', 'tomorrow')).toBe('INVALID_DATETIME')
    expect(error('deals.amount', '1,500')).toBe('INVALID_NUMBER')
    expect(error('deals.dealstage', 'Closed Won')).toBe('INVALID_OPTION')
    expect(error('contacts.lifecyclestage', 'Lead')).toBe('INVALID_OPTION')
    expect(error('contacts.hs_lead_status', 'NEW')).toBeUndefined()
    expect(error('contacts.hubspot_owner_id', 'alice')).toBe('INVALID_OPTION')
    expect(error('contacts.hs_email_optout', 'yes')).toBe('INVALID_BOOLEAN')
    expect(error('contacts.description', 'x'.repeat(65_537))).toBe('VALUE_TOO_LONG')
    expect(error('contacts.description', 'x'.repeat(65_536))).toBeUndefined()
    expect(error('contacts.firstname', {a: 1})).toBe('INVALID_TYPE')
  })
})

describe('emulator faults and limits', () => {
  it('count-only faults cycle through the kinds and stop', () => {
    const f = new FaultInjector()
    f.add({count: 3, kinds: [500, 'hang'], match: /batch/})
    expect(f.pick('/crm/v3/objects/contacts')).toBeNull()
    expect([f.pick('/x/batch/read'), f.pick('/x/batch/read'), f.pick('/x/batch/read'), f.pick('/x/batch/read')]).toEqual([500, 'hang', 500, null])
    expect(() => f.add({kinds: []})).toThrow()
  })

  it('rolls the ten-second window and counts refusals', () => {
    const l = new RateLimiter({tenSecondly: 3}, 1)
    const t = Date.UTC(2024, 0, 1, 12)
    expect([0, 1, 2, 3].map((i) => l.check('tok', 'general', t + i).ok)).toEqual([true, true, true, false])
    expect(l.check('other', 'general', t + 4).ok).toBe(true)
    expect(l.check('tok', 'general', t + 10_000).ok).toBe(true)
    expect(l.overBudget).toBe(1)
    expect(l.dailyUsage).toBe(5)
  })
})
