/**
 * The settlement of one pair (src/sync/settle.ts), the rule push, pull and reconcile share: fields
 * and references merged three ways against a snapshot that holds each side in its own form.
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {HUBSPOT_DEFAULT_PROPERTIES, parseMapXml} from '../../src/maps/index.js'
import {createMapper} from '../../src/sync/mapper.js'
import type {Link, ModuleMeta} from '../../src/sync/ports.js'
import {settlePair, type ReferenceView} from '../../src/sync/settle.js'
import type {ConflictPolicy, CrmModule, CrmRecord, HubSpotObject} from '../../src/sync/types.js'
import {OBJECT_TYPE_OF_MODULE} from '../../src/sync/types.js'
import {context, crmFields} from './maps/support.js'

const mapsDir = join(import.meta.dirname, '../../maps')
const load = (name: string) => parseMapXml(readFileSync(join(mapsDir, `${name}.xml`), 'utf8'), {file: name}).map!

function mapperFor(module: CrmModule) {
  const type = OBJECT_TYPE_OF_MODULE[module]
  const meta = {module, fields: crmFields(module)} as unknown as ModuleMeta
  const props = new Map(HUBSPOT_DEFAULT_PROPERTIES[type].map((p) => [p.name, p]))
  return createMapper(module, type, load(`${module}2HubSpot`), load(`HubSpot2${module}`), meta, props, context('UTC'), undefined)
}

const accounts = mapperFor('Accounts')
const contacts = mapperFor('Contacts')

function account(fields: Record<string, string | null>, modifiedtime = '2026-01-01 10:00:00'): CrmRecord {
  return {module: 'Accounts', crmid: 7, modifiedtime, deleted: false, fields: {accountname: 'Acme', phone: '1', hubspotsyncwith: '1', ...fields}}
}
function company(properties: Record<string, string | null>, modified = '2026-01-01T09:00:00Z'): HubSpotObject {
  return {id: '70', properties: {name: 'Acme', phone: '1', corebos_crmid: '7', hs_lastmodifieddate: modified, ...properties}}
}
function linkOf(crm: Record<string, string | null>, hs: Record<string, string | null>, associations: Record<string, string[]> = {}): Link {
  return {module: 'Accounts', crmid: 7, objectType: 'companies', hubspotId: '70', snapshot: {crm, hs}, associations, archived: false, syncedAt: ''}
}
const settle = (
  record: CrmRecord,
  object: HubSpotObject,
  link: Link | null,
  opts: {policy?: ConflictPolicy; origin?: 'crm' | 'hubspot'; reference?: ReferenceView; mapper?: typeof accounts; writes?: {crm: boolean; hubspot: boolean}} = {},
) =>
  settlePair({mapper: opts.mapper ?? accounts, record, object, link, reference: opts.reference ?? null, policy: opts.policy ?? 'newest', timezone: 'UTC', uniqueProperty: 'corebos_crmid', origin: opts.origin ?? 'crm', writes: opts.writes ?? {crm: true, hubspot: true}})

const synced = linkOf({accountname: 'Acme', phone: '1'}, {name: 'Acme', phone: '1', corebos_crmid: '7'})

describe('settling a pair', () => {
  it('sends a field changed in coreBOS only, and writes a field changed in HubSpot only into coreBOS', () => {
    const s = settle(account({phone: '2'}), company({name: 'Acme Corp'}), synced)
    expect(s.hs).toEqual({phone: '2'})
    expect(s.crm).toEqual({accountname: 'Acme Corp'})
    expect(s.conflicts).toEqual([])
    expect(s.next.crm).toMatchObject({accountname: 'Acme Corp', phone: '2'})
    expect(s.next.hs).toMatchObject({name: 'Acme Corp', phone: '2'})
  })

  it.each([
    ['crm', 'crm', {hs: {phone: 'crm'}, crm: {}}],
    ['hubspot', 'hubspot', {hs: {}, crm: {phone: 'hs'}}],
    ['newest', 'crm', {hs: {phone: 'crm'}, crm: {}}],
  ] as const)('a field changed on both sides is one conflict, settled by the %s policy', (policy, winner, writes) => {
    const s = settle(account({phone: 'crm'}, '2026-01-01 10:00:00'), company({phone: 'hs'}, '2026-01-01T09:00:00Z'), synced, {policy})
    expect(s.conflicts).toEqual([expect.objectContaining({key: 'phone', winner, crm: 'crm', hubspot: 'hs'})])
    expect(s.hs).toEqual(writes.hs)
    expect(s.crm).toEqual(writes.crm)
  })

  it('reports a conflict in the terms of the stream that met it', () => {
    const s = settle(account({accountname: 'Mine'}), company({name: 'Theirs'}), synced, {origin: 'hubspot'})
    expect(s.conflicts.map((c) => c.key)).toEqual(['accountname'])
    expect(settle(account({accountname: 'Mine'}), company({name: 'Theirs'}), synced, {origin: 'crm'}).conflicts.map((c) => c.key)).toEqual(['name'])
  })

  it("a value that could not travel unchanged is no edit of either side", () => {
    const long = `A${'b'.repeat(149)}`
    const cut = long.slice(0, 100)
    const link = linkOf({accountname: cut, phone: '1'}, {name: long, phone: '1', corebos_crmid: '7'})
    const s = settle(account({accountname: cut}), company({name: long}), link)
    expect(s.hs).toEqual({})
    expect(s.crm).toEqual({})
    expect(s.conflicts).toEqual([])
  })

  it('adopting a pair with no base settles every difference by the policy, and the origin wins a tie of whole seconds', () => {
    const tie = settle(account({phone: '2'}, '2026-01-01 09:00:00'), company({phone: '3'}, '2026-01-01T09:00:00.700Z'), null)
    expect(tie.hs).toEqual({phone: '2'})
    const pulled = settle(account({phone: '2'}, '2026-01-01 09:00:00'), company({phone: '3'}, '2026-01-01T09:00:00.700Z'), null, {origin: 'hubspot'})
    expect(pulled.crm).toEqual({phone: '3'})
  })

  it("a change bound for the side this stream does not write keeps its base, so that side's stream still sees it", () => {
    const push = settle(account({phone: '2'}), company({name: 'Acme Corp'}), synced, {writes: {hubspot: true, crm: false}})
    expect(push.hs).toEqual({phone: '2'})
    expect(push.crm).toEqual({})
    expect(push.next.crm.accountname).toBe('Acme')
    expect(push.next.hs.name).toBe('Acme')
    const pull = settle(account({phone: '2'}), company({name: 'Acme Corp'}), synced, {writes: {hubspot: false, crm: true}, origin: 'hubspot'})
    expect(pull.crm).toEqual({accountname: 'Acme Corp'})
    expect(pull.next.crm.phone).toBe('1')
  })

  it('adopting, a value only one side has is no conflict: it fills the other side', () => {
    const s = settle(account({phone: null}), company({phone: '5'}), null)
    expect(s.conflicts).toEqual([])
    expect(s.crm).toEqual({phone: '5'})
  })

  it('a conversion warning comes with the write it is about, not with every pass over an unchanged pair', () => {
    const deals = mapperFor('Potentials')
    const deal = (closedate: string): HubSpotObject => ({id: '80', properties: {dealname: 'D', closedate, corebos_crmid: '8', hs_lastmodifieddate: '2026-01-01T09:00:00Z'}})
    const record: CrmRecord = {module: 'Potentials', crmid: 8, modifiedtime: '2026-01-01 08:00:00', deleted: false, fields: {potentialname: 'D', closingdate: '2025-03-30', hubspotsyncwith: '1'}}
    const link: Link = {module: 'Potentials', crmid: 8, objectType: 'deals', hubspotId: '80', snapshot: {crm: {potentialname: 'D', closingdate: '2025-03-30'}, hs: {dealname: 'D', closedate: '2025-03-30T15:00:00Z', corebos_crmid: '8'}}, associations: {}, archived: false, syncedAt: ''}
    const unchanged = settle(record, deal('2025-03-30T15:00:00Z'), link, {mapper: deals, origin: 'hubspot'})
    expect(unchanged.crm).toEqual({})
    expect(unchanged.warnings).toEqual([])
    const moved = settle(record, deal('2025-04-02T15:00:00Z'), link, {mapper: deals, origin: 'hubspot'})
    expect(moved.crm).toEqual({closingdate: '2025-04-02'})
    expect(moved.warnings.join()).toMatch(/closingdate.*time of day/)
  })

  it('writes the unique crmid property into an object that lacks it', () => {
    expect(settle(account({}), company({corebos_crmid: null}), synced).hs).toEqual({corebos_crmid: '7'})
  })

  it('cannot convert: the pair fails with the reason instead of half-writing', () => {
    const s = settle(account({}), company({numberofemployees: 'many'}), synced)
    expect(s.errors.join()).toMatch(/employees \(from HubSpot\).*many/)
  })
})

describe('settling a reference against the associations', () => {
  const person = (accountId: string | null): CrmRecord => ({module: 'Contacts', crmid: 9, modifiedtime: '2026-01-01 10:00:00', deleted: false, fields: {lastname: 'P', account_id: accountId, hubspotsyncwith: '1'}})
  const contact: HubSpotObject = {id: '90', properties: {lastname: 'P', corebos_crmid: '9', lastmodifieddate: '2026-01-01T09:00:00Z'}}
  const linked = (accountId: string, companies: string[]): Link => ({
    module: 'Contacts', crmid: 9, objectType: 'contacts', hubspotId: '90', snapshot: {crm: {lastname: 'P', account_id: accountId}, hs: {lastname: 'P', corebos_crmid: '9'}}, associations: {companies}, archived: false, syncedAt: '',
  })
  const view = (companies: string[], targets: Record<number, string | 'pending'>): ReferenceView => ({
    field: 'account_id',
    types: ['companies'],
    current: {companies},
    target: (crmid) => (targets[crmid] === 'pending' ? {pending: true} : targets[crmid] ? {type: 'companies', id: targets[crmid] as string} : {none: 'not synced'}),
    crmOf: (_type, id) => ({'501': 51, '502': 52} as Record<string, number>)[id],
  })

  it('a company changed in HubSpot only moves the coreBOS reference', () => {
    const s = settle(person('51'), contact, linked('51', ['501']), {mapper: contacts, reference: view(['502'], {51: '501', 52: '502'})})
    expect(s.crm).toEqual({account_id: '52'})
    expect(s.next.crm.account_id).toBe('52')
    expect(s.next.associations).toEqual({companies: ['502']})
  })

  it('a reference changed in coreBOS only moves the association, leaving what HubSpot users added', () => {
    const s = settle(person('52'), contact, linked('51', ['501']), {mapper: contacts, reference: view(['501', '503'], {51: '501', 52: '502'})})
    expect(s.associate).toEqual([{type: 'companies', id: '502'}])
    expect(s.dissociate).toEqual([{type: 'companies', id: '501'}])
    expect(s.next.associations.companies!.sort()).toEqual(['502', '503'])
  })

  it('associations not read this pass are carried over, not taken for a change', () => {
    const s = settle(person('51'), contact, linked('51', ['501']), {mapper: contacts})
    expect(s.crm).toEqual({})
    expect(s.next.crm.account_id).toBe('51')
    expect(s.next.associations).toEqual({companies: ['501']})
  })

  it('a reference to a record not in HubSpot yet waits, and keeps the old base', () => {
    const s = settle(person('53'), contact, linked('51', ['501']), {mapper: contacts, reference: view(['501'], {53: 'pending'})})
    expect(s.pending).toMatch(/not in HubSpot yet/)
    expect(s.next.crm.account_id).toBe('51')
  })
})
