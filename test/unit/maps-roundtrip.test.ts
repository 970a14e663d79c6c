/**
 * Property tests: every field the default maps copy both ways survives coreBOS → HubSpot →
 * coreBOS, in non-UTC install zones, except what LOSSY_CONVERSIONS lists; and a lossy change is
 * never silent (it carries a warning).
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {
  COREBOS_LEAD_STATUSES,
  COREBOS_SALES_STAGES,
  HUBSPOT_DEFAULT_PROPERTIES,
  crmKind,
  directCopies,
  normalizeCrmValue,
  normalizeHubSpotValue,
  parseMapXml,
  toCoreBos,
  toHubSpot,
  type ConvertContext,
} from '../../src/maps/index.js'
import type {CrmFieldMeta, PropertyDefinition} from '../../src/sync/ports.js'
import {CRM_MODULES, OBJECT_TYPE_OF_MODULE, type CrmModule} from '../../src/sync/types.js'
import {context, crmFields} from './maps/support.js'

const ZONES = ['Europe/Madrid', 'America/New_York', 'Asia/Kolkata', 'Pacific/Chatham', 'UTC']
const mapsDir = join(import.meta.dirname, '../../maps')

function load(name: string) {
  const file = join(mapsDir, `${name}.xml`)
  return parseMapXml(readFileSync(file, 'utf8'), {file}).map!
}

interface Pair {
  module: CrmModule
  field: CrmFieldMeta
  prop: PropertyDefinition
}

/** Fields the default maps copy in both directions: push prop ← field and pull field ← prop. */
function bothWays(): Pair[] {
  const pairs: Pair[] = []
  for (const module of CRM_MODULES) {
    const push = directCopies(load(`${module}2HubSpot`))
    const pull = directCopies(load(`HubSpot2${module}`))
    const fields = crmFields(module)
    const props = HUBSPOT_DEFAULT_PROPERTIES[OBJECT_TYPE_OF_MODULE[module]]
    for (const [prop, field] of push) {
      // the owner converts through the owners of both sides, not by type (test/unit/engine-owners.test.ts)
      if (pull.get(field) !== prop || prop === 'hubspot_owner_id') continue
      pairs.push({module, field: fields.get(field)!, prop: props.find((p) => p.name === prop)!})
    }
  }
  return pairs
}

const PAIRS = bothWays()

const pad = (n: number, w = 2) => String(n).padStart(w, '0')
const dayArb = fc.date({min: new Date('1900-01-01T00:00:00Z'), max: new Date('2100-12-31T00:00:00Z'), noInvalidDate: true}).map((d) => d.toISOString().slice(0, 10))

/** Datetimes clustered around DST changes (late March, late October, early November, early April). */
const dstDatetimeArb = fc
  .record({
    year: fc.integer({min: 1980, max: 2037}),
    monthDay: fc.constantFrom<[number, number]>([3, 8], [3, 10], [3, 25], [3, 26], [3, 27], [3, 28], [3, 29], [3, 30], [3, 31], [4, 1], [4, 5], [9, 27], [10, 25], [10, 26], [10, 27], [10, 28], [10, 29], [10, 30], [10, 31], [11, 1], [11, 2], [11, 3], [11, 4], [11, 5], [6, 15], [1, 1], [12, 31]),
    hour: fc.integer({min: 0, max: 23}),
    minute: fc.integer({min: 0, max: 59}),
    second: fc.integer({min: 0, max: 59}),
  })
  .map(({year, monthDay: [m, d], hour, minute, second}) => `${year}-${pad(m)}-${pad(d)} ${pad(hour)}:${pad(minute)}:${pad(second)}`)

function decimalArb(intDigits: number, scale: number) {
  return fc
    .record({
      negative: fc.boolean(),
      int: fc.string({unit: fc.constantFrom(...'0123456789'), minLength: 1, maxLength: intDigits}),
      frac: fc.string({unit: fc.constantFrom(...'0123456789'), minLength: scale, maxLength: scale}),
    })
    // as mysql2 returns a DECIMAL column: fixed scale, trailing zeros
    .map(({negative, int, frac}) => `${negative ? '-' : ''}${int.replace(/^0+(?=\d)/, '')}.${frac}`)
}

/** Any text, including emoji, NUL, lone surrogates and over-long values. */
const anyText = fc.oneof(fc.string({unit: 'binary', maxLength: 300}), fc.string({unit: 'grapheme', maxLength: 120}), fc.constantFrom('', ' ', '\u0000', 'a\uD800b', '😀'.repeat(60)))

/** Text that a utf8mb3 column of `max` characters stores as it is. */
function storableText(max: number) {
  return fc
    .string({unit: 'binary', maxLength: max})
    .map((s) => Array.from(s).filter((c) => c.codePointAt(0)! <= 0xffff && c !== '\u0000' && !/[\uD800-\uDFFF]/.test(c)).join(''))
    .filter((s) => Array.from(s).length <= max)
}

function arbitraryFor(pair: Pair): fc.Arbitrary<string | null> {
  const {field} = pair
  const nullable = <T>(a: fc.Arbitrary<T>) => fc.oneof({weight: 1, arbitrary: fc.constant(null)}, {weight: 8, arbitrary: a})
  switch (crmKind(field)) {
    case 'date':
      return nullable(dayArb)
    case 'number':
      if (field.sqlType === 'int') return nullable(fc.integer({min: -2147483648, max: 2147483647}).map(String))
      if (field.column === 'amount') return nullable(decimalArb(12, 6))
      return nullable(decimalArb(19, 6))
    case 'picklist':
      return nullable(fc.constantFrom(...(field.picklistValues ?? ['x'])))
    case 'text':
      return nullable(storableText(field.maxLength ?? 2000))
    default:
      throw new Error(`no generator for ${field.name} (${crmKind(field)})`)
  }
}

function roundTrip(pair: Pair, value: string | null, ctx: ConvertContext) {
  const out = toHubSpot(value, pair.field, pair.prop, ctx)
  if ('error' in out) throw new Error(`${pair.module}.${pair.field.name} ${JSON.stringify(value)} → HubSpot: ${out.error}`)
  // the snapshot the engine keeps is in HubSpot's own form
  const hs = normalizeHubSpotValue(out.value, pair.prop)
  const back = toCoreBos(hs, pair.prop, pair.field, ctx, value)
  if ('error' in back) throw new Error(`${pair.module}.${pair.field.name} ${JSON.stringify(hs)} → coreBOS: ${back.error}`)
  return {hs, back: back.value, warnings: [...out.warnings, ...back.warnings]}
}

describe('round trips of the default maps', () => {
  it('finds the both-ways fields of every module and has a generator for each', () => {
    expect(PAIRS.map((p) => `${p.module}.${p.field.name}↔${p.prop.name}`)).toEqual(
      expect.arrayContaining([
        'Contacts.firstname↔firstname',
        'Contacts.mobile↔mobilephone',
        'Accounts.accountname↔name',
        'Accounts.employees↔numberofemployees',
        'Accounts.annual_revenue↔annualrevenue',
        'Leads.leadstatus↔hs_lead_status',
        'Potentials.closingdate↔closedate',
        'Potentials.sales_stage↔dealstage',
        'Potentials.amount↔amount',
        'Potentials.opportunity_type↔dealtype',
      ]),
    )
    expect(PAIRS.length).toBe(44)
    for (const pair of PAIRS) expect(() => arbitraryFor(pair)).not.toThrow()
  })

  for (const pair of PAIRS) {
    it(`${pair.module}.${pair.field.name} → ${pair.prop.name} → ${pair.field.name} comes back equal`, () => {
      fc.assert(
        fc.property(arbitraryFor(pair), fc.constantFrom(...ZONES), (value, zone) => {
          const {back, warnings} = roundTrip(pair, value, context(zone))
          expect(normalizeCrmValue(back, pair.field)).toBe(normalizeCrmValue(value, pair.field))
          expect(warnings).toEqual([])
        }),
        {numRuns: 60},
      )
    })
  }

  it('any text at all: either it comes back equal, or the change carries a warning (never silent)', () => {
    const texts = PAIRS.filter((p) => crmKind(p.field) === 'text')
    fc.assert(
      fc.property(fc.constantFrom(...texts), anyText, (pair, value) => {
        const {back, warnings} = roundTrip(pair, value, context('Europe/Madrid'))
        if (normalizeCrmValue(back, pair.field) !== normalizeCrmValue(value, pair.field)) expect(warnings.length).toBeGreaterThan(0)
      }),
      {numRuns: 400},
    )
  })

  it('stages and lead statuses round-trip exactly when the record keeps its value; canonical ones even without it', () => {
    const stage = PAIRS.find((p) => p.field.name === 'sales_stage')!
    const lead = PAIRS.find((p) => p.field.name === 'leadstatus')!
    for (const zone of ZONES) {
      const ctx = context(zone)
      for (const [pair, values] of [
        [stage, COREBOS_SALES_STAGES],
        [lead, COREBOS_LEAD_STATUSES],
      ] as const) {
        for (const v of values) {
          expect(roundTrip(pair, v, ctx).back).toBe(v)
          const hs = (toHubSpot(v, pair.field, pair.prop, ctx) as {value: string}).value
          const fresh = (toCoreBos(hs, pair.prop, pair.field, ctx) as {value: string}).value
          // without the current value the canonical stage of the group comes back: same HubSpot value
          expect((toHubSpot(fresh, pair.field, pair.prop, ctx) as {value: string}).value).toBe(hs)
        }
      }
    }
  })
})

describe('round trips of datetimes (uitype 70) across DST changes', () => {
  const field: CrmFieldMeta = {...crmFields('Contacts').get('createdtime')!, name: 'lastcontacted', displaytype: 1}
  const prop: PropertyDefinition = {name: 'notes_last_contacted', label: 'Last Contacted', type: 'datetime', fieldType: 'date'}

  it('naive local → UTC instant → naive local is the identity, except skipped times, which warn', () => {
    fc.assert(
      fc.property(dstDatetimeArb, fc.constantFrom('Europe/Madrid', 'America/New_York', 'Australia/Sydney', 'Pacific/Chatham'), (value, zone) => {
        const ctx = context(zone)
        const out = toHubSpot(value, field, prop, ctx)
        if ('error' in out) throw new Error(out.error)
        const back = toCoreBos(out.value, prop, field, ctx)
        if ('error' in back) throw new Error(back.error)
        if (back.value !== value) expect(out.warnings.join(' ')).toMatch(/does not exist/)
        else expect(out.warnings).toEqual([])
      }),
      {numRuns: 2000},
    )
  })

  it('UTC instant → naive local → UTC instant is the identity outside the repeated hour', () => {
    fc.assert(
      fc.property(fc.integer({min: Date.UTC(1980, 0, 1) / 1000, max: Date.UTC(2037, 0, 1) / 1000}), fc.constantFrom('Europe/Madrid', 'America/New_York', 'UTC'), (seconds, zone) => {
        const ctx = context(zone)
        const iso = new Date(seconds * 1000).toISOString()
        const local = toCoreBos(iso, prop, field, ctx) as {value: string}
        const again = toHubSpot(local.value, field, prop, ctx) as {value: string}
        const hourLater = toCoreBos(new Date(seconds * 1000 + 3_600_000).toISOString(), prop, field, ctx) as {value: string}
        const hourEarlier = toCoreBos(new Date(seconds * 1000 - 3_600_000).toISOString(), prop, field, ctx) as {value: string}
        const repeated = hourLater.value === local.value || hourEarlier.value === local.value
        if (!repeated) expect(again.value).toBe(iso)
        // in the repeated hour the earlier instant comes back (LOSSY_CONVERSIONS)
        else expect(Date.parse(again.value)).toBeLessThanOrEqual(Date.parse(iso))
      }),
      {numRuns: 2000},
    )
  })
})
