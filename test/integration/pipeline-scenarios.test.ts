/**
 * The failures the one-pipeline redesign fixes (issue 14), each through the real binary on the real
 * schema and the emulator: records sharing an identity, consent on retries, references merged
 * against a base, lossy conversions that must not echo, bookmarks for every read mode, and
 * reconcile over a zero date.
 */
import {afterEach, describe, expect, it} from 'vitest'
import {runCli} from '../support/cli.js'
import {createSyncEnv, type SyncEnv} from '../support/sync-env.js'

let env: SyncEnv | undefined
afterEach(async () => {
  await env?.close()
  env = undefined
})

async function cbhs(e: SyncEnv, ...args: string[]) {
  const result = await runCli([...args, '--json'], {env: e.env})
  if (result.code !== 0 && result.code !== 5) throw new Error(`cbhs ${args.join(' ')} exited ${result.code}: ${result.stderr}`)
  return result
}

/** What a pass changed in coreBOS: every record's modifiedtime and control fields, and the links. */
async function crmState(e: SyncEnv): Promise<string> {
  const entities = await e.testDb.query('SELECT crmid, modifiedtime, deleted FROM vtiger_crmentity ORDER BY crmid')
  const leads = await e.testDb.query('SELECT leadid, firstname, email, hubspotid, hubspotlastsync FROM vtiger_leaddetails ORDER BY leadid')
  const contacts = await e.testDb.query('SELECT contactid, firstname, email, accountid, hubspotid, hubspotlastsync FROM vtiger_contactdetails ORDER BY contactid')
  const links = await e.testDb.query('SELECT module, crmid, hubspot_id, archived FROM cbhs_link ORDER BY module, crmid')
  return JSON.stringify({entities, leads, contacts, links})
}

describe('one pipeline: the invariants push, pull and reconcile used to break', () => {
  it('records sharing an e-mail never write into each other: losers wait in the ledger naming the winner, and the last passes write nothing', async () => {
    env = await createSyncEnv()
    const [lead1, lead2] = await env.create('Leads', [
      {firstname: 'Lea', lastname: 'First', company: 'A', email: 'two.leads@share.test'},
      {firstname: 'Lou', lastname: 'Second', company: 'B', email: 'two.leads@share.test'},
    ])
    const [contact1, contact2] = await env.create('Contacts', [
      {firstname: 'Cat', lastname: 'First', email: 'two.contacts@share.test'},
      {firstname: 'Cid', lastname: 'Second', email: 'TWO.contacts@share.test'},
    ])
    const [lead3] = await env.create('Leads', [{firstname: 'Lia', lastname: 'Lead', company: 'C', email: 'lead.and.contact@share.test'}])
    const [contact3] = await env.create('Contacts', [{firstname: 'Col', lastname: 'Contact', email: 'lead.and.contact@share.test'}])

    const push1 = await cbhs(env, 'push')
    expect(push1.code).toBe(5)
    await cbhs(env, 'pull')
    const crmMark = await crmState(env)
    const hsMark = env.mark()
    const push2 = await cbhs(env, 'push')
    const pull2 = await cbhs(env, 'pull')
    // steady state with open failures: nothing written on either side
    expect(env.writesSince(hsMark)).toEqual([])
    expect(await crmState(env)).toBe(crmMark)
    expect(push2.code).toBe(0)
    expect(pull2.code).toBe(0)

    const contacts = env.emu.control.all('contacts')
    expect(contacts.map((c) => [c.properties.email, c.properties.firstname, c.properties.corebos_crmid]).sort()).toEqual([
      ['lead.and.contact@share.test', 'Lia', String(lead3)],
      ['two.contacts@share.test', 'Cat', String(contact1)],
      ['two.leads@share.test', 'Lea', String(lead1)],
    ])
    const leads = await env.testDb.query<{leadid: number; firstname: string; hubspotid: string | null}>('SELECT leadid, firstname, hubspotid FROM vtiger_leaddetails ORDER BY leadid')
    expect(leads.find((l) => l.leadid === lead2)).toMatchObject({firstname: 'Lou', hubspotid: null})
    const people = await env.testDb.query<{contactid: number; firstname: string; hubspotid: string | null}>('SELECT contactid, firstname, hubspotid FROM vtiger_contactdetails ORDER BY contactid')
    expect(people.find((c) => c.contactid === contact2)).toMatchObject({firstname: 'Cid', hubspotid: null})
    expect(people.find((c) => c.contactid === contact3)).toMatchObject({firstname: 'Col', hubspotid: null})

    const ledger = await env.testDb.query<{module: string; crmid: number; category: string; message: string; next_retry_at: string | null}>(
      'SELECT module, crmid, category, message, next_retry_at FROM cbhs_failure WHERE resolved_at IS NULL ORDER BY crmid',
    )
    expect(ledger.map((f) => [f.module, f.crmid, f.category])).toEqual([
      ['Leads', lead2, 'DUPLICATE_EMAIL'],
      ['Contacts', contact2, 'DUPLICATE_EMAIL'],
      ['Contacts', contact3, 'DUPLICATE_EMAIL'],
    ])
    expect(ledger[0].message).toContain(`it goes to Leads ${lead1}`)
    expect(ledger[1].message).toContain(`it goes to Contacts ${contact1}`)
    expect(ledger[2].message).toContain(`it goes to Leads ${lead3}`)
    // they wait until one of them changes instead of retrying on a schedule
    expect(ledger.every((f) => f.next_retry_at === null)).toBe(true)
  })

  it('a failed record unticked by its owner is not sent by the ledger retry, and leaves the ledger as no longer eligible', async () => {
    env = await createSyncEnv()
    const [bad] = await env.create('Contacts', [{lastname: 'Bad', email: 'not-an-email'}])
    const first = await runCli(['push'], {env: env.env})
    expect(first.code).toBe(5)
    // the cron log marks the module whose records failed
    expect(first.stderr).toMatch(/push Contacts: .*✖ 1 of 1 failed \(100 %\)/)
    // fixed and then unticked behind cbhs's back (no modifiedtime change), retry due now
    await env.testDb.query("UPDATE vtiger_contactdetails SET email = 'fine@consent.test', hubspotsyncwith = '0' WHERE contactid = ?", [bad])
    await env.testDb.query('UPDATE cbhs_failure SET next_retry_at = UTC_TIMESTAMP() WHERE crmid = ?', [bad])
    const retry = await cbhs(env, 'push')
    expect(retry.code).toBe(0)
    expect(env.emu.control.all('contacts')).toEqual([])
    const [entry] = await env.testDb.query<{resolution: string | null}>('SELECT resolution FROM cbhs_failure WHERE crmid = ?', [bad])
    expect(entry.resolution).toBe('ineligible')
  })

  it('a contact moved to another company in HubSpot keeps it while an unrelated field is edited in coreBOS', async () => {
    env = await createSyncEnv()
    const [oldCo, newCo] = await env.create('Accounts', [{accountname: 'Old Co'}, {accountname: 'New Co'}])
    const [person] = await env.create('Contacts', [{lastname: 'Mover', email: 'mover@ref.test', account_id: String(oldCo)}])
    await cbhs(env, 'push')
    const [row] = await env.testDb.query<{hubspotid: string}>('SELECT hubspotid FROM vtiger_contactdetails WHERE contactid = ?', [person])
    const [oldHs, newHs] = await Promise.all([oldCo, newCo].map(async (id) => (await env!.testDb.query<{hubspotid: string}>('SELECT hubspotid FROM vtiger_account WHERE accountid = ?', [id]))[0].hubspotid))
    env.emu.control.dissociate('contacts', row.hubspotid, 'companies', oldHs)
    env.emu.control.associate('contacts', row.hubspotid, 'companies', newHs)
    env.emu.control.update('contacts', row.hubspotid, {jobtitle: 'touched in HubSpot'})
    await env.db.records.update('Contacts', person, {phone: '+34 600 000 000'}, 1)

    await cbhs(env, 'push')
    await cbhs(env, 'pull')
    await cbhs(env, 'push')
    const [after] = await env.testDb.query<{accountid: number; phone: string}>('SELECT accountid, phone FROM vtiger_contactdetails WHERE contactid = ?', [person])
    expect(after).toEqual({accountid: newCo, phone: '+34 600 000 000'})
    expect(env.emu.control.associations('contacts', row.hubspotid, 'companies').map((a) => a.toId)).toEqual([newHs])
    expect(env.emu.control.get('contacts', row.hubspotid)!.properties.phone).toBe('+34 600 000 000')
  })

  it('values that could not travel unchanged are not read back as edits: the push after the pull sends nothing', async () => {
    env = await createSyncEnv({env: {CBHS_TIMEZONE: 'America/New_York'}})
    const longName = `Very ${'long '.repeat(29)}name`
    expect(longName.length).toBeGreaterThan(140)
    const [company] = env.emu.control.seed('companies', [{name: longName}])
    env.emu.control.seed('contacts', [{firstname: 'Rocket 🚀', lastname: 'Emoji', email: 'emoji@lossy.test', lifecyclestage: 'customer'}])
    const [deal] = env.emu.control.seed('deals', [{dealname: 'Precise', amount: '1234.123456789', closedate: '2025-03-30T00:00:00.123Z', dealstage: 'appointmentscheduled', pipeline: 'default'}])
    env.emu.control.associate('deals', deal.id, 'companies', company.id)

    const pull = await cbhs(env, 'pull')
    expect(pull.code).toBe(0)
    const [account] = await env.testDb.query<{accountname: string}>('SELECT accountname FROM vtiger_account')
    expect(account.accountname).toHaveLength(100)
    const [contact] = await env.testDb.query<{firstname: string}>("SELECT firstname FROM vtiger_contactdetails WHERE lastname = 'Emoji'")
    expect(contact.firstname).not.toBe('Rocket 🚀')

    const mark = env.mark()
    const push = await cbhs(env, 'push')
    expect(push.code).toBe(0)
    expect(env.writesSince(mark)).toEqual([])
    expect(env.emu.control.get('companies', company.id)!.properties.name).toBe(longName)
    expect(env.emu.control.get('deals', deal.id)!.properties).toMatchObject({amount: '1234.123456789', closedate: '2025-03-30T00:00:00.123Z'})
    const again = await cbhs(env, 'pull')
    expect(again.json.result.reports[0].modules.Accounts).toMatchObject({updated: 0})
  })

  it('a first pull stopped at --limit, and a --full pull stopped at --limit, resume where they stopped', async () => {
    env = await createSyncEnv()
    env.emu.control.seed('companies', Array.from({length: 250}, (_, i) => ({name: `Limited ${i}`})))
    const created: number[] = []
    for (let pass = 0; pass < 3; pass++) {
      const r = await cbhs(env, 'pull', '--module', 'Accounts', '--limit', '100')
      created.push(r.json.result.reports[0].modules.Accounts.created)
    }
    expect(created).toEqual([100, 100, 50])
    expect(env.emu.control.all('companies').length).toBe(250)

    env.emu.control.seed('companies', Array.from({length: 30}, (_, i) => ({name: `Later ${i}`})))
    const full: number[] = []
    for (let pass = 0; pass < 4; pass++) {
      const r = await cbhs(env, 'pull', '--module', 'Accounts', '--full', '--limit', '100')
      full.push(r.json.result.reports[0].modules.Accounts.read)
    }
    // the backfill walks on: 100, 100, 80, then starts over
    expect(full.slice(0, 3)).toEqual([100, 100, 80])
    const [count] = await env.testDb.query<{n: number}>("SELECT COUNT(*) AS n FROM vtiger_account a JOIN vtiger_crmentity e ON e.crmid = a.accountid WHERE e.deleted = 0")
    expect(Number(count.n)).toBe(280)
  })

  it('go-live with explicit opt-in: push and reconcile say how many records are not opted in, and how to opt them in', async () => {
    env = await createSyncEnv()
    const ids = await env.create('Accounts', [{accountname: 'In'}, {accountname: 'Out one'}, {accountname: 'Out two'}])
    await env.testDb.query('UPDATE vtiger_account SET hubspotsyncwith = NULL WHERE accountid IN (?)', [ids.slice(1)])
    const json = await cbhs(env, 'push', '--module', 'Accounts')
    expect(json.json.result.notOptedIn).toEqual({Accounts: 2})
    const text = await runCli(['reconcile', '--module', 'Accounts'], {env: env.env})
    expect(text.stdout).toMatch(/Not opted in: Accounts 2 \(explicit opt-in\) — tick "Sync with HubSpot"/)
    expect(env.emu.control.all('companies').map((c) => c.properties.name)).toEqual(['In'])
  })

  it('reconcile goes through a record whose modifiedtime is 0000-00-00', async () => {
    env = await createSyncEnv()
    const [zero] = await env.create('Accounts', [{accountname: 'Zero Time'}])
    await env.testDb.query("SET STATEMENT sql_mode = '' FOR UPDATE vtiger_crmentity SET modifiedtime = '0000-00-00 00:00:00' WHERE crmid = ?", [zero])
    const dry = await runCli(['reconcile', '--json'], {env: env.env})
    expect(dry.code).toBe(0)
    expect(dry.json.result.report.modules.Accounts.onlyCrm).toBe(1)
    const apply = await runCli(['reconcile', '--apply', '--json'], {env: env.env})
    expect(apply.code).toBe(0)
    expect(env.emu.control.all('companies').map((c) => c.properties.name)).toEqual(['Zero Time'])
  })
})
