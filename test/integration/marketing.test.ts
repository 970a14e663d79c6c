/**
 * HubSpot's marketing data in coreBOS (issue 20): `cbhs setup --marketing` installs the HubSpot
 * Marketing block on Contacts and Leads the vtlib way and maps the fields in the pull maps; a pull
 * fills them, a second pass writes nothing, and map:validate --online passes on the extended maps.
 */
import {cpSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {MARKETING_FIELDS} from '../../src/maps/marketing.js'
import {runCli} from '../support/cli.js'
import {createSyncEnv, PACKAGE_ROOT, type SyncEnv} from '../support/sync-env.js'

let env: SyncEnv | undefined
let dir: string | undefined
afterEach(async () => {
  await env?.close()
  env = undefined
  if (dir) rmSync(dir, {recursive: true, force: true})
  dir = undefined
})

async function cbhs(e: SyncEnv, ...args: string[]) {
  const result = await runCli([...args, '--json'], {env: e.env})
  if (result.code !== 0) throw new Error(`cbhs ${args.join(' ')} exited ${result.code}: ${result.stderr}${result.stdout}`)
  return result
}

const MARKETING = {
  hs_analytics_source: 'ORGANIC_SEARCH',
  hs_analytics_source_data_1: 'google',
  hs_analytics_source_data_2: 'crm integration',
  hs_analytics_num_page_views: '42',
  hs_analytics_num_visits: '7',
  hs_analytics_last_visit_timestamp: '2025-03-01T10:15:00.000Z',
  first_conversion_event_name: 'Newsletter form',
  first_conversion_date: '2025-01-02T08:00:00.000Z',
  recent_conversion_event_name: 'Demo request',
  recent_conversion_date: '2025-02-20T16:30:00.000Z',
  hs_email_last_open_date: '2025-02-25T09:00:00.000Z',
  hs_email_last_click_date: '2025-02-25T09:05:00.000Z',
}

describe('setup --marketing', () => {
  it('never edits the maps bundled with cbhs: it says how to map the fields instead', async () => {
    env = await createSyncEnv()
    const bundled = ['HubSpot2Contacts', 'HubSpot2Leads'].map((n) => readFileSync(join(PACKAGE_ROOT, 'maps', `${n}.xml`), 'utf8'))
    const setup = await runCli(['setup', '--marketing'], {env: env.env})
    expect(setup.code, setup.stderr).toBe(0)
    expect(setup.stderr).toContain("maps.dir is cbhs's bundled maps, which setup does not edit")
    expect(['HubSpot2Contacts', 'HubSpot2Leads'].map((n) => readFileSync(join(PACKAGE_ROOT, 'maps', `${n}.xml`), 'utf8'))).toEqual(bundled)
    const fields = await env.testDb.query("SELECT fieldname FROM vtiger_field WHERE fieldname = 'hubspot_source'")
    expect(fields).toHaveLength(2)
  })

  it('installs the block, fields and source picklist; a pull fills a contact and a lead, a second pass writes nothing; map:validate --online passes', async () => {
    dir = mkdtempSync(join(tmpdir(), 'cbhs-marketing-'))
    cpSync(join(PACKAGE_ROOT, 'maps'), dir, {recursive: true})
    env = await createSyncEnv({env: {CBHS_MAPS_DIR: dir}})

    const setup = await cbhs(env, 'setup', '--marketing')
    expect(setup.json.result.corebos.map((c: {kind: string; target: string}) => `${c.kind} ${c.target}`)).toEqual(
      expect.arrayContaining(['add-block Contacts.HubSpot Marketing', 'add-block Leads.HubSpot Marketing', 'add-field Leads.hubspot_source', 'create-table vtiger_hubspot_source', `add-map-field ${join(dir, 'HubSpot2Leads.xml')}`]),
    )
    const again = await cbhs(env, 'setup', '--marketing')
    expect(again.json.result.corebos).toEqual([])
    expect(readFileSync(join(dir, 'HubSpot2Contacts.xml'), 'utf8')).toContain('<OrgfieldName>hs_analytics_source_data_1</OrgfieldName>')

    const fields = await env.testDb.query<{fieldname: string; tablename: string; displaytype: number; uitype: string; blocklabel: string}>(
      `SELECT f.fieldname, f.tablename, f.displaytype, f.uitype, b.blocklabel FROM vtiger_field f JOIN vtiger_blocks b ON b.blockid = f.block
        JOIN vtiger_tab t ON t.tabid = f.tabid WHERE t.name = 'Leads' AND b.blocklabel = 'HubSpot Marketing' ORDER BY f.sequence`,
    )
    expect(fields.map((f) => f.fieldname)).toEqual(MARKETING_FIELDS.map((f) => f.name))
    expect(new Set(fields.map((f) => `${f.tablename} ${f.displaytype}`))).toEqual(new Set(['vtiger_leadscf 2']))
    const picklist = await env.testDb.query<{v: string}>('SELECT hubspot_source AS v FROM vtiger_hubspot_source ORDER BY sortorderid')
    expect(picklist.map((p) => p.v)).toContain('ORGANIC_SEARCH')
    const roles = await env.testDb.query<{n: number}>("SELECT COUNT(*) AS n FROM vtiger_role2picklist r JOIN vtiger_picklist p ON p.picklistid = r.picklistid WHERE p.name = 'hubspot_source'")
    expect(Number(roles[0].n)).toBe(picklist.length * 5)

    env.emu.control.seed('contacts', [
      {firstname: 'Cora', lastname: 'Customer', email: 'cora@mk.test', lifecyclestage: 'customer', ...MARKETING},
      {firstname: 'Leo', lastname: 'Lead', email: 'leo@mk.test', company: 'Leo Ltd', lifecyclestage: 'lead', ...MARKETING, hs_analytics_source: 'REFERRALS'},
    ])
    const pull = await cbhs(env, 'pull')
    expect(pull.json.result.reports[0].failures).toEqual([])
    const [contact] = await env.testDb.query<Record<string, unknown>>("SELECT cf.* FROM vtiger_contactscf cf JOIN vtiger_contactdetails c ON c.contactid = cf.contactid WHERE c.email = 'cora@mk.test'")
    expect(contact).toMatchObject({
      hubspot_source: 'ORGANIC_SEARCH', hubspot_source_drill1: 'google', hubspot_source_drill2: 'crm integration', hubspot_page_views: 42, hubspot_visits: 7,
      hubspot_last_visit: '2025-03-01 10:15:00', hubspot_first_conversion: 'Newsletter form', hubspot_first_conversion_on: '2025-01-02 08:00:00',
      hubspot_last_conversion: 'Demo request', hubspot_last_conversion_on: '2025-02-20 16:30:00', hubspot_last_email_open: '2025-02-25 09:00:00',
      hubspot_last_email_click: '2025-02-25 09:05:00', hubspot_lifecycle_stage: 'customer',
    })
    const [lead] = await env.testDb.query<Record<string, unknown>>("SELECT cf.*, l.leadsource FROM vtiger_leadscf cf JOIN vtiger_leaddetails l ON l.leadid = cf.leadid WHERE l.email = 'leo@mk.test'")
    expect(lead).toMatchObject({hubspot_source: 'REFERRALS', hubspot_page_views: 42, hubspot_lifecycle_stage: 'lead', leadsource: 'Word of mouth'})

    const before = JSON.stringify(await env.testDb.query('SELECT crmid, modifiedtime FROM vtiger_crmentity ORDER BY crmid'))
    const mark = env.mark()
    const second = await cbhs(env, 'pull', '--full')
    const push = await cbhs(env, 'push')
    expect(second.json.result.reports[0].failures).toEqual([])
    expect(env.writesSince(mark)).toEqual([])
    expect(JSON.stringify(await env.testDb.query('SELECT crmid, modifiedtime FROM vtiger_crmentity ORDER BY crmid'))).toBe(before)
    expect(push.json.result.reports[0].failures).toEqual([])

    const validate = await runCli(['map:validate', '--online', '--json'], {env: env.env})
    expect(validate.code, validate.stdout + validate.stderr).toBe(0)
    expect(validate.json.result.issues).toEqual([])
    expect(validate.json.result).toMatchObject({valid: true, errors: 0, warnings: 0, online: true})
  })
})
