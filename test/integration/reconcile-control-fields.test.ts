/**
 * A pass killed between saving a link and writing the record's control fields leaves a coreBOS record
 * without its hubspotid while cbhs holds the link (the chaos run's reconcile --apply trials met it).
 * Push writes them again; reconcile has to see the same drift and repair it.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runReconcile} from '../../src/pass.js'
import type {ReconcileReport} from '../../src/sync/reconcile.js'
import {createSyncEnv, type SyncEnv} from '../support/sync-env.js'

describe('reconcile: control fields behind their link', () => {
  let env: SyncEnv
  let crmids: number[]

  async function reconcile(apply = false): Promise<ReconcileReport> {
    const outcome = await runReconcile({config: env.config, flags: {details: true, apply, module: ['Contacts']}, renderer: 'silent', warn: () => undefined})
    if (!outcome.report) throw new Error('reconcile skipped')
    return outcome.report
  }

  async function control(crmid: number): Promise<{hubspotid: string | null; hubspotrecord: string | null}> {
    const [row] = await env.testDb.query<{hubspotid: string | null; hubspotrecord: string | null}>('SELECT hubspotid, hubspotrecord FROM vtiger_contactdetails WHERE contactid = ?', [crmid])
    return row
  }

  beforeAll(async () => {
    env = await createSyncEnv()
    crmids = await env.create('Contacts', [
      {firstname: 'Ada', lastname: 'Lovelace', email: 'ada@behind.example'},
      {firstname: 'Alan', lastname: 'Turing', email: 'alan@behind.example'},
    ])
    const [push] = await env.pass('push')
    expect(push.failures).toEqual([])
    // what the kill leaves: the link saved, the control fields not written
    await env.testDb.query("UPDATE vtiger_contactdetails SET hubspotid = '', hubspotrecord = '' WHERE contactid = ?", [crmids[0]])
  })
  afterAll(async () => env?.close())

  it('the dry run reports the record as different, naming the hubspotid, and writes nothing', async () => {
    const report = await reconcile()
    const [link] = await env.testDb.query<{hubspot_id: string}>("SELECT hubspot_id FROM cbhs_link WHERE module = 'Contacts' AND crmid = ?", [crmids[0]])
    expect(report.modules.Contacts).toMatchObject({inSync: 1, different: 1})
    expect(report.items.filter((i) => i.class !== 'inSync')).toEqual([
      expect.objectContaining({class: 'different', crmid: crmids[0], hubspotId: link.hubspot_id, action: 'update', reason: expect.stringContaining('hubspotid')}),
    ])
    expect(await control(crmids[0])).toEqual({hubspotid: '', hubspotrecord: ''})
  })

  it('--apply writes the control fields from the link, and the next reconcile finds both in sync', async () => {
    const [link] = await env.testDb.query<{hubspot_id: string}>("SELECT hubspot_id FROM cbhs_link WHERE module = 'Contacts' AND crmid = ?", [crmids[0]])
    const mark = env.mark()
    const applied = await reconcile(true)
    expect(applied.failures).toEqual([])
    expect((await control(crmids[0])).hubspotid).toBe(link.hubspot_id)
    expect((await control(crmids[0])).hubspotrecord).toContain(link.hubspot_id)
    // coreBOS's side only: HubSpot is not written for it
    expect(env.writesSince(mark)).toEqual([])
    const again = await reconcile()
    expect(again.modules.Contacts).toMatchObject({inSync: 2, different: 0})
  })
})
