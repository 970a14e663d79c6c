/**
 * A coreBOS database user with fewer privileges than a command needs (README "Database
 * privileges"): real MariaDB accounts created by the test, the real binary. Setup without CREATE or
 * ALTER is exit 3, a pass without a write privilege exit 4, each naming the privilege, the object
 * and the GRANT to run for the account CURRENT_USER() reports; wrong credentials say so instead. A
 * dry run (push, pull, reconcile, setup) needs SELECT only: it plans, exits 0 and says its run is not
 * recorded.
 */
import {randomBytes} from 'node:crypto'
import mysql from 'mysql2/promise'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runCli} from '../support/cli.js'
import {createTestDatabase, testServer, type TestDatabase} from '../support/db.js'
import {createSyncEnv, type SyncEnv} from '../support/sync-env.js'

const PASS_GRANTS = 'SELECT, INSERT, UPDATE, DELETE'
const SETUP_GRANTS = 'SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX'

describe('database privileges', () => {
  let env: SyncEnv
  let fresh: TestDatabase
  let admin: mysql.Connection
  const users: string[] = []

  /** A MariaDB account granted exactly `grants` on `database`; returns the env that logs cbhs in as it. */
  async function account(database: string, grants: string[], extra: (user: string) => string[] = () => []): Promise<{env: Record<string, string>; user: string; grantee: string}> {
    const user = `cbhs_p_${randomBytes(4).toString('hex')}`
    const password = randomBytes(12).toString('hex')
    await admin.query('CREATE USER ?@? IDENTIFIED BY ?', [user, '%', password])
    users.push(user)
    if (grants.length > 0) await admin.query(`GRANT ${grants.join(', ')} ON \`${database}\`.* TO ?@?`, [user, '%'])
    for (const sql of extra(user)) await admin.query(sql)
    return {env: {CBHS_DB_USER: user, CBHS_DB_PASSWORD: password, CBHS_DB_NAME: database}, user, grantee: `'${user}'@'%'`}
  }
  const runCount = async (db: TestDatabase) => Number((await db.query<{n: number}>('SELECT COUNT(*) AS n FROM cbhs_run'))[0].n)

  beforeAll(async () => {
    env = await createSyncEnv()
    fresh = await createTestDatabase()
    admin = await mysql.createConnection(testServer())
  })
  afterAll(async () => {
    for (const user of users) await admin?.query('DROP USER IF EXISTS ?@?', [user, '%'])
    await admin?.end()
    await fresh?.drop()
    await env?.close()
  })

  describe('setup', () => {
    it('--dry-run with SELECT only: exit 0 and the list of what it would change', async () => {
      const {env: as} = await account(fresh.settings.database, ['SELECT'])
      const r = await runCli(['setup', '--skip-hubspot', '--dry-run', '--json'], {env: {...env.env, ...as}})
      expect(r.code, r.stdout).toBe(0)
      expect(r.json.result.corebos).toContainEqual(expect.objectContaining({kind: 'create-table', target: 'cbhs_run'}))
      expect(r.json.result.corebos).toContainEqual(expect.objectContaining({kind: 'add-column', target: 'vtiger_contactdetails.hubspotid'}))
    })

    it('without CREATE: exit 3 naming CREATE, the table and the GRANT for the account, nothing created', async () => {
      const {env: as, grantee} = await account(fresh.settings.database, ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'ALTER', 'INDEX'])
      const r = await runCli(['setup', '--skip-hubspot'], {env: {...env.env, ...as}})
      expect(r.code, r.stderr).toBe(3)
      expect(r.stderr).toContain(`The database user ${grantee} lacks the CREATE privilege on \`${fresh.settings.database}\`.\`cbhs_meta\`, which cbhs setup needs`)
      expect(r.stderr).toContain(`GRANT ${SETUP_GRANTS} ON \`${fresh.settings.database}\`.* TO ${grantee};`)
      expect(r.stderr).not.toMatch(/bug in cbhs/)
      expect(await fresh.query("SHOW TABLES LIKE 'cbhs\\_%'")).toEqual([])
    })

    it('without ALTER: exit 3 naming ALTER on the coreBOS table it would add the control fields to', async () => {
      const {env: as, grantee} = await account(fresh.settings.database, ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'CREATE', 'INDEX'])
      const r = await runCli(['setup', '--skip-hubspot', '--json'], {env: {...env.env, ...as}})
      expect(r.code, r.stdout).toBe(3)
      expect(r.json.error).toMatchObject({code: 'DB_PRIVILEGE_MISSING', data: {privilege: 'ALTER', account: grantee}})
      expect(r.json.error.data.object).toMatch(new RegExp(`^\`${fresh.settings.database}\`\\.\`vtiger_(account|contactdetails|leaddetails|potential)\`$`))
      expect(r.json.error.suggestion).toContain(`GRANT ${SETUP_GRANTS} ON \`${fresh.settings.database}\`.* TO ${grantee};`)
    })

  })

  describe('passes', () => {
    let crmids: number[] = []
    let hubspotIds: string[] = []
    beforeAll(async () => {
      // work for every direction: coreBOS records never pushed, HubSpot objects never pulled
      crmids = await env.create('Contacts', [
        {firstname: 'Priv', lastname: 'One', email: 'priv.one@example.org'},
        {firstname: 'Priv', lastname: 'Two', email: 'priv.two@example.org'},
      ])
      hubspotIds = env.emu.control
        .seed('contacts', [{firstname: 'Hub', lastname: 'Only', email: 'hub.only@example.org', lifecyclestage: 'customer'}], {modifiedAt: Date.now() - 3_600_000})
        .map((o) => o.id)
    })

    it('push without UPDATE: exit 4 naming UPDATE and the GRANT, before anything reaches HubSpot', async () => {
      const {env: as, grantee} = await account(env.testDb.settings.database, ['SELECT', 'INSERT', 'DELETE'])
      const mark = env.mark()
      const r = await runCli(['push'], {env: {...env.env, ...as}})
      expect(r.code, r.stderr).toBe(4)
      expect(r.stderr).toContain(`The database user ${grantee} lacks the UPDATE privilege on \`${env.testDb.settings.database}\`.\`cbhs_run\`, which cbhs push needs (${PASS_GRANTS}).`)
      expect(r.stderr).toContain(`Try: As a database administrator run: GRANT ${PASS_GRANTS} ON \`${env.testDb.settings.database}\`.* TO ${grantee};`)
      expect(env.writesSince(mark)).toEqual([])
    })

    it('push --dry-run with SELECT only: exit 0, the plan, and a warning that the run is not recorded', async () => {
      const {env: as, grantee} = await account(env.testDb.settings.database, ['SELECT'])
      const before = await runCount(env.testDb)
      const mark = env.mark()
      const r = await runCli(['push', '--dry-run'], {env: {...env.env, ...as}})
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toContain('push (dry run: nothing was written)')
      // read 2, would be created 2
      expect(r.stdout).toMatch(/Contacts\D+2\D+2\D/)
      expect(r.stderr).toContain(`Warning: This dry run is not recorded in cbhs_run (\`cbhs status\` will not list it): the database user ${grantee} lacks UPDATE on \`${env.testDb.settings.database}\`.\`cbhs_run\`. A dry run needs SELECT only.`)
      expect(await runCount(env.testDb)).toBe(before)
      expect(env.writesSince(mark)).toEqual([])
    })

    it('pull --dry-run with SELECT only: exit 0, the plan, the same warning', async () => {
      const {env: as} = await account(env.testDb.settings.database, ['SELECT'])
      const r = await runCli(['pull', '--dry-run', '--json'], {env: {...env.env, ...as}})
      expect(r.code, r.stdout).toBe(0)
      const contacts = r.json.result.reports[0].modules.Contacts
      expect(contacts).toMatchObject({created: 1})
      expect(r.json.warnings.join('\n')).toMatch(/This dry run is not recorded in cbhs_run .* lacks UPDATE on .*cbhs_run/)
      expect(await env.testDb.query('SELECT contactid FROM vtiger_contactdetails WHERE hubspotid = ?', [hubspotIds[0]])).toEqual([])
    })

    it('reconcile (a dry run by default) with SELECT only: exit 0, the diff, the same warning', async () => {
      const {env: as} = await account(env.testDb.settings.database, ['SELECT'])
      const mark = env.mark()
      const r = await runCli(['reconcile', '--module', 'Contacts', '--json'], {env: {...env.env, ...as}})
      expect(r.code, r.stdout).toBe(0)
      expect(r.json.result.report.modules.Contacts).toMatchObject({onlyCrm: 2, onlyHubSpot: 1})
      expect(r.json.warnings.join('\n')).toMatch(/This dry run is not recorded in cbhs_run/)
      expect(env.writesSince(mark)).toEqual([])
    })

    it('pull without UPDATE on one coreBOS table: exit 4 naming it, not a failed record in the ledger', async () => {
      // the pass itself works (it may write cbhs_*), only the contact rows are read-only to this user
      await env.pass('push')
      await env.pass('pull')
      const [crmid] = crmids
      const [row] = await env.testDb.query<{hubspotid: string}>('SELECT hubspotid FROM vtiger_contactdetails WHERE contactid = ?', [crmid])
      env.emu.control.update('contacts', row.hubspotid, {jobtitle: 'Changed in HubSpot'})
      const db = env.testDb.settings.database
      const tables = (await env.testDb.query<{t: string}>('SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?', [db])).map((r) => r.t)
      const {env: as, grantee} = await account(db, ['SELECT', 'INSERT', 'DELETE'], (user) =>
        tables.filter((t) => t !== 'vtiger_contactdetails').map((t) => `GRANT UPDATE ON \`${db}\`.\`${t}\` TO '${user}'@'%'`),
      )
      // --full reads the change at once (an incremental pull trails HubSpot by its search lag)
      const r = await runCli(['pull', '--full', '--module', 'Contacts'], {env: {...env.env, ...as}})
      expect(r.code, r.stderr).toBe(4)
      expect(r.stderr).toContain(`The database user ${grantee} lacks the UPDATE privilege on \`${db}\`.\`vtiger_contactdetails\`, which cbhs pull needs (${PASS_GRANTS}).`)
      expect(await env.testDb.query("SELECT message FROM cbhs_failure WHERE crmid = ? AND open_flag = 1", [crmid])).toEqual([])
      const [last] = await env.testDb.query<{exit_code: number; message: string}>('SELECT exit_code, message FROM cbhs_run ORDER BY id DESC LIMIT 1')
      expect(last.exit_code).toBe(4)
    })

    it('an account with no privilege on the database: exit 4 naming the database and the GRANT', async () => {
      const {env: as, grantee} = await account(env.testDb.settings.database, [])
      const r = await runCli(['push'], {env: {...env.env, ...as}})
      expect(r.code, r.stderr).toBe(4)
      expect(r.stderr).toContain(`The database user ${grantee} lacks any privilege on \`${env.testDb.settings.database}\`, which cbhs push needs`)
      expect(r.stderr).toContain(`GRANT ${PASS_GRANTS} ON \`${env.testDb.settings.database}\`.* TO ${grantee};`)
    })

    it('a wrong password is not a privilege problem: exit 4 saying the credentials were refused, no GRANT', async () => {
      const {env: as, user} = await account(env.testDb.settings.database, ['SELECT'])
      const r = await runCli(['push', '--dry-run'], {env: {...env.env, ...as, CBHS_DB_PASSWORD: 'not-the-password'}})
      expect(r.code, r.stderr).toBe(4)
      expect(r.stderr).toContain(`refused user '${user}' (wrong user name or password)`)
      expect(r.stderr).not.toMatch(/GRANT/)
    })
  })
})
