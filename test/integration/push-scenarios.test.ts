import {afterEach, describe, expect, it} from 'vitest'
import {createSyncEnv, type SyncEnv} from '../support/sync-env.js'

let env: SyncEnv | undefined
afterEach(async () => {
  await env?.close()
  env = undefined
})

async function tableChecksum(e: SyncEnv, table: string): Promise<string> {
  const [row] = await e.testDb.query<{Checksum: string}>(`CHECKSUM TABLE ${table}`)
  return String(row.Checksum)
}

describe('push scenarios', () => {
  it('links a contact whose e-mail HubSpot already has, instead of duplicating it', async () => {
    env = await createSyncEnv()
    const [existing] = env.emu.control.seed('contacts', [{firstname: 'Old', lastname: 'Entry', email: 'Dup@Example.com'}])
    const [crmid] = await env.create('Contacts', [{firstname: 'New', lastname: 'Entry', email: 'dup@example.com'}])
    const [report] = await env.pass('push')
    expect(report.failures).toEqual([])
    expect(report.modules.Contacts).toMatchObject({linked: 1, created: 0})
    const all = env.emu.control.all('contacts')
    expect(all).toHaveLength(1)
    expect(all[0].id).toBe(existing.id)
    expect(all[0].properties).toMatchObject({firstname: 'New', corebos_crmid: String(crmid)})
  })

  it('fails the second of a Lead and a Contact sharing an e-mail, naming both; a converted Lead hands its link over', async () => {
    env = await createSyncEnv()
    const [lead] = await env.create('Leads', [{firstname: 'Pat', lastname: 'Smith', company: 'Smith & Co', email: 'pat@smith.test'}])
    await env.pass('push', {module: ['Leads']})
    const [contact] = await env.create('Contacts', [{firstname: 'Pat', lastname: 'Smith', email: 'pat@smith.test'}])
    const [report] = await env.pass('push')
    expect(report.failures).toEqual([
      expect.objectContaining({module: 'Contacts', crmid: contact, category: 'DUPLICATE_EMAIL', message: expect.stringContaining(`Leads ${lead}`)}),
    ])
    const ledger = await env.testDb.query<{crmid: number; message: string}>("SELECT crmid, message FROM cbhs_failure WHERE resolved_at IS NULL AND module = 'Contacts'")
    expect(ledger).toEqual([{crmid: contact, message: expect.stringContaining(`Contacts ${contact} and Leads ${lead}`)}])

    // coreBOS converts the lead into this contact: the HubSpot contact follows the Contact
    await env.testDb.query('UPDATE vtiger_leaddetails SET converted = 1 WHERE leadid = ?', [lead])
    await env.testDb.query('UPDATE vtiger_crmentity SET modifiedtime = NOW() WHERE crmid = ?', [lead])
    await env.testDb.query('UPDATE cbhs_failure SET next_retry_at = UTC_TIMESTAMP() WHERE crmid = ?', [contact])
    const [again] = await env.pass('push')
    expect(again.failures).toEqual([])
    const all = env.emu.control.all('contacts')
    expect(all).toHaveLength(1)
    expect(all[0].properties.corebos_crmid).toBe(String(contact))
    const links = await env.testDb.query<{module: string; crmid: number}>('SELECT module, crmid FROM cbhs_link')
    expect(links).toEqual([{module: 'Contacts', crmid: contact}])
  })

  it('puts a record HubSpot rejects in the ledger alone, and syncs it once fixed', async () => {
    env = await createSyncEnv()
    const ids = await env.create('Contacts', [
      {lastname: 'Good', email: 'good@example.com'},
      {lastname: 'Bad', email: 'not-an-email'},
      {lastname: 'Also good', email: 'also@example.com'},
    ])
    const [first] = await env.pass('push')
    expect(first.failures).toEqual([expect.objectContaining({crmid: ids[1], message: expect.stringMatching(/not-an-email/)})])
    expect(env.emu.control.all('contacts').map((c) => c.properties.lastname).sort()).toEqual(['Also good', 'Good'])

    await env.db.records.update('Contacts', ids[1], {email: 'fixed@example.com'}, 1)
    await env.testDb.query('UPDATE cbhs_failure SET next_retry_at = UTC_TIMESTAMP() WHERE crmid = ?', [ids[1]])
    const [second] = await env.pass('push')
    expect(second.failures).toEqual([])
    expect(env.emu.control.all('contacts').find((c) => c.properties.lastname === 'Bad')?.properties.email).toBe('fixed@example.com')
    const open = await env.testDb.query('SELECT id FROM cbhs_failure WHERE resolved_at IS NULL')
    expect(open).toEqual([])
  })

  it('--dry-run changes no row in the database and makes no write request', async () => {
    env = await createSyncEnv()
    const [account] = await env.create('Accounts', [{accountname: 'Dry Inc'}])
    await env.create('Contacts', [{lastname: 'Dry', email: 'dry@example.com', account_id: String(account)}])
    const before = await Promise.all(['vtiger_crmentity', 'vtiger_contactdetails', 'vtiger_account', 'cbhs_link', 'cbhs_watermark', 'cbhs_failure'].map((t) => tableChecksum(env!, t)))
    const mark = env.mark()
    const [report] = await env.pass('push', {'dry-run': true})
    expect(report.plan.map((p) => [p.module, p.action])).toEqual([
      ['Accounts', 'create'],
      ['Contacts', 'create'],
    ])
    expect(report.plan[1].changes).toEqual(expect.arrayContaining([{key: 'email', old: null, new: 'dry@example.com', side: 'hubspot'}]))
    expect(env.writesSince(mark)).toEqual([])
    const after = await Promise.all(['vtiger_crmentity', 'vtiger_contactdetails', 'vtiger_account', 'cbhs_link', 'cbhs_watermark', 'cbhs_failure'].map((t) => tableChecksum(env!, t)))
    expect(after).toEqual(before)
  })

  it('stops syncing a record whose box is unticked, deleting nothing; default-on syncs unticked-never records', async () => {
    env = await createSyncEnv({env: {CBHS_OPT_IN: 'default-on'}})
    const [a, b] = await env.create('Accounts', [{accountname: 'Ticked'}, {accountname: 'Never asked'}])
    await env.testDb.query('UPDATE vtiger_account SET hubspotsyncwith = NULL WHERE accountid = ?', [b])
    const [first] = await env.pass('push')
    expect(first.modules.Accounts).toMatchObject({created: 2})

    await env.testDb.query("UPDATE vtiger_account SET hubspotsyncwith = '0' WHERE accountid = ?", [a])
    await env.db.records.update('Accounts', a, {accountname: 'Ticked, renamed'}, 1)
    await env.db.records.trash('Accounts', a, 1)
    const [second] = await env.pass('push')
    expect(second.modules.Accounts?.archived ?? 0).toBe(0)
    expect(env.emu.control.all('companies').map((c) => c.properties.name).sort()).toEqual(['Never asked', 'Ticked'])
  })

  it('pushes 10,000 contacts, 2,000 accounts, 3,000 potentials and 1,000 leads once each with associations; a second push writes nothing', async () => {
    env = await createSyncEnv({env: {CBHS_HUBSPOT_TIER: 'unlimited'}})
    const accounts: number[] = []
    for (let i = 0; i < 2000; i += 500) {
      accounts.push(...(await env.create('Accounts', Array.from({length: 500}, (_, k) => ({accountname: `Account ${i + k}`, phone: `+1 555 ${i + k}`})))))
    }
    const contacts: number[] = []
    for (let i = 0; i < 10_000; i += 1000) {
      contacts.push(
        ...(await env.create('Contacts', Array.from({length: 1000}, (_, k) => ({firstname: 'C', lastname: `Contact ${i + k}`, email: `c${i + k}@bulk.test`, account_id: String(accounts[(i + k) % 2000])})))),
      )
    }
    for (let i = 0; i < 3000; i += 1000) {
      await env.create('Potentials', Array.from({length: 1000}, (_, k) => ({potentialname: `Deal ${i + k}`, related_to: String((i + k) % 2 ? accounts[(i + k) % 2000] : contacts[i + k]), sales_stage: 'Qualification', closingdate: '2027-01-31', amount: String(100 + k)})))
    }
    await env.create('Leads', Array.from({length: 1000}, (_, k) => ({lastname: `Lead ${k}`, company: 'Leads Inc', email: `l${k}@bulk.test`})))

    const [report] = await env.pass('push')
    expect(report.failures).toEqual([])
    expect(report.modules).toMatchObject({Accounts: {created: 2000}, Contacts: {created: 10_000}, Potentials: {created: 3000}, Leads: {created: 1000}})
    const contactsInHubSpot = env.emu.control.all('contacts')
    expect(contactsInHubSpot).toHaveLength(11_000)
    expect(new Set(contactsInHubSpot.map((c) => c.properties.corebos_crmid)).size).toBe(11_000)
    expect(env.emu.control.all('companies')).toHaveLength(2000)
    expect(env.emu.control.all('deals')).toHaveLength(3000)
    expect(report.modules.Contacts?.associationsCreated).toBe(10_000)
    expect(report.modules.Potentials?.associationsCreated).toBe(3000)
    const sample = contactsInHubSpot.find((c) => c.properties.corebos_crmid === String(contacts[4321]))!
    expect(env.emu.control.associations('contacts', sample.id, 'companies')).toHaveLength(1)

    const mark = env.mark()
    const [second] = await env.pass('push')
    expect(second.failures).toEqual([])
    expect(env.writesSince(mark)).toEqual([])
  }, 300_000)
})
