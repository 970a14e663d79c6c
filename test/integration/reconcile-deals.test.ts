import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runReconcile} from '../../src/pass.js'
import {createSyncEnv, type SyncEnv} from '../support/sync-env.js'

describe('reconcile: deals at go-live', () => {
  let env: SyncEnv
  beforeAll(async () => {
    env = await createSyncEnv()
  })
  afterAll(async () => env?.close())

  it('matches a deal by a name unique on both sides instead of creating it twice; duplicate names stay ambiguous', async () => {
    const [account] = await env.create('Accounts', [{accountname: 'Deal Corp', website: 'dealcorp.test'}])
    const [company] = env.emu.control.seed('companies', [{name: 'Deal Corp', domain: 'dealcorp.test'}])
    await env.create('Potentials', [
      {potentialname: 'Unique Renewal 2027', related_to: String(account), sales_stage: 'Qualification', closingdate: '2027-01-15', amount: '900'},
      {potentialname: 'Pilot', related_to: String(account), sales_stage: 'Prospecting', closingdate: '2027-02-15', amount: '10'},
      {potentialname: 'Pilot', related_to: String(account), sales_stage: 'Prospecting', closingdate: '2027-03-15', amount: '20'},
    ])
    const deals = env.emu.control.seed('deals', [
      {dealname: 'unique renewal 2027', dealstage: 'qualifiedtobuy', pipeline: 'default', amount: '900'},
      {dealname: 'Pilot', dealstage: 'appointmentscheduled', pipeline: 'default', amount: '10'},
    ])
    for (const d of deals) env.emu.control.associate('deals', d.id, 'companies', company.id)

    const outcome = await runReconcile({config: env.config, flags: {apply: true, details: true}, renderer: 'silent', warn: () => undefined})
    const report = outcome.report!
    const dealItems = report.items.filter((i) => i.module === 'Potentials')
    expect(dealItems.filter((i) => i.class === 'match')).toHaveLength(1)
    expect(dealItems.filter((i) => i.class === 'ambiguous').map((i) => i.hubspotId)).toEqual([deals[1].id])
    expect(env.emu.control.all('deals').map((d) => d.properties.dealname).sort()).toEqual(['Pilot', 'unique renewal 2027'])
  })
})
