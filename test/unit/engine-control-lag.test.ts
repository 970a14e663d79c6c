/**
 * A pass killed between the link save and the control-field write leaves a record linked whose
 * hubspotid is empty: the next pass, push or pull, writes it (it used to stay empty for ever, the pair
 * being "in sync"; the reliability-kill flake: linked accounts missing their hubspotid).
 */
import {describe, expect, it} from 'vitest'
import {buildMemoryEngine, runPull, runPush, type MemoryKit} from '../support/memory/index.js'

const STEP_MS = 7 * 60_000

async function linkedAccount(): Promise<{kit: MemoryKit; crmid: number; id: string}> {
  const kit = await buildMemoryEngine()
  const crmid = kit.crm.insert('Accounts', {accountname: 'Acme Ltd'})
  kit.clock.advance(STEP_MS)
  await runPush(kit.engine)
  const id = kit.state.allLinks().find((l) => l.crmid === crmid)!.hubspotId
  // what a kill between saveLinks and setControlMany leaves: the link, no control fields
  await kit.crm.setControl('Accounts', crmid, {hubspotid: null, hubspotrecord: null})
  return {kit, crmid, id}
}

describe('control fields behind their link', () => {
  it('the next push writes the hubspotid, and nothing in HubSpot', async () => {
    const {kit, crmid, id} = await linkedAccount()
    const before = kit.hubspot.writes()
    kit.clock.advance(STEP_MS)
    await runPush(kit.engine, {full: true})
    expect(kit.crm.get('Accounts', crmid)!.fields.hubspotid).toBe(id)
    expect(kit.hubspot.writes()).toBe(before)
  })

  it('the next pull writes it too', async () => {
    const {kit, crmid, id} = await linkedAccount()
    kit.clock.advance(STEP_MS)
    await runPull(kit.engine, {full: true})
    expect(kit.crm.get('Accounts', crmid)!.fields.hubspotid).toBe(id)
  })
})
