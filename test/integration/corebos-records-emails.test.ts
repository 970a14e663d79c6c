/**
 * CoreBosRecords.findByEmails on the real schema: the full read the pull's adoption settles with, and
 * the narrow one push's e-mail check uses (`only`), which carries the e-mail and the fields the sync
 * rule reads and finds the same records with the same eligibility.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {CoreBosRecords} from '../../src/corebos/records.js'
import {ELIGIBILITY_FIELDS, isEligible} from '../../src/sync/eligibility.js'
import {openStateStore, type StateStoreFixture} from '../support/state-store.js'

describe('CoreBosRecords.findByEmails', () => {
  let fixture: StateStoreFixture
  let records: CoreBosRecords
  beforeAll(async () => {
    fixture = await openStateStore()
    records = new CoreBosRecords(fixture.pool, {timezone: 'UTC'})
  })
  afterAll(async () => fixture?.close())

  it('narrowed to the sync rule, finds what the full read finds, with the same eligibility and only those fields', async () => {
    const [inSync, optedOut, trashed] = (
      await records.create(
        'Contacts',
        [
          {fields: {lastname: 'In sync', email: 'Shared@Mail.example', phone: '1'}, control: {hubspotsyncwith: '1'}},
          {fields: {lastname: 'Opted out', email: 'shared@mail.example', phone: '2'}, control: {hubspotsyncwith: '0'}},
          {fields: {lastname: 'Trashed', email: 'shared@mail.example'}, control: {hubspotsyncwith: '1'}},
          {fields: {lastname: 'Other', email: 'other@mail.example'}, control: {hubspotsyncwith: '1'}},
        ],
        1,
      )
    ).map((r) => r.crmid)
    await records.trash('Contacts', trashed, 1)

    const full = await records.findByEmails('Contacts', ['SHARED@mail.example'])
    const narrow = await records.findByEmails('Contacts', ['SHARED@mail.example'], {only: ELIGIBILITY_FIELDS})
    const summary = (found: typeof full) => [...found.entries()].map(([email, list]) => [email, list.map((r) => [r.crmid, isEligible(r, 'explicit')])])
    expect(summary(narrow)).toEqual([['shared@mail.example', [[inSync, true], [optedOut, false]]]])
    expect(summary(narrow)).toEqual(summary(full))
    expect(narrow.get('shared@mail.example')!.map((r) => Object.keys(r.fields).sort())).toEqual([
      ['email', 'hubspotdeleted', 'hubspotsyncwith'],
      ['email', 'hubspotdeleted', 'hubspotsyncwith'],
    ])
    expect(full.get('shared@mail.example')![0].fields).toMatchObject({lastname: 'In sync', phone: '1'})
  })
})
