/**
 * The bad-input corpus (DESIGN §5.7): records that coreBOS installs and HubSpot portals really hold
 * — invalid e-mails, empty mandatory values, zero and impossible dates, unknown picklist values,
 * 4-byte characters for utf8mb3 columns, NUL bytes, SQL metacharacters, huge and negative numbers,
 * over-long text — plus broken configuration files, hostile maps, a denormalized module and odd
 * config.inc.php quoting. One `it` per case.
 *
 * Record cases all go through one push and one pull, mixed with good records: a case passes when its
 * record either failed with a ledger entry naming it, or synced — and where the value that arrived
 * differs from the one sent, a warning names the record (never a silent change). The good records
 * prove the rest of the batch went through.
 */
import {cpSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {EmulatorObject} from '../../src/emulator/index.js'
import {runPass, type PassOutcome} from '../../src/pass.js'
import type {CrmModule} from '../../src/sync/types.js'
import {runCli, type CliResult} from '../support/cli.js'
import {BASE_TABLE, denormalizeModule} from '../support/corebos-fixtures.js'
import {capture, captureStoredState, secretEnvOptions} from '../support/secrets.js'
import {createSyncEnv, PACKAGE_ROOT, type SyncEnv} from '../support/sync-env.js'
import {eq, P, PULL_CASES, PUSH_CASES} from '../fixtures/bad-input/corpus.js'

const FIXTURES = fileURLToPath(new URL('../fixtures/bad-input/', import.meta.url))
const KEY: Record<CrmModule, string> = {Contacts: 'contactid', Leads: 'leadid', Accounts: 'accountid', Potentials: 'potentialid'}
const HS_TYPE = {Contacts: 'contacts', Leads: 'contacts', Accounts: 'companies', Potentials: 'deals'} as const
describe('reliability: bad input never stops a pass', () => {
  let env: SyncEnv
  let push: PassOutcome | Error
  let pull: PassOutcome | Error
  const pushWarnings: string[] = []
  const pullWarnings: string[] = []
  const pushIds = new Map<string, number>()
  const pullIds = new Map<string, string>()
  const goodPush: Array<[CrmModule, number]> = []
  const afterPush = new Map<string, {object: EmulatorObject | undefined; sent: string | null}>()
  let goodCompanyId = ''
  let goodHubSpotIds: string[] = []

  async function permissive(sql: string, params: unknown[]): Promise<void> {
    const conn = await env.testDb.pool.getConnection()
    try {
      // old coreBOS data was written without strict mode: zero and impossible dates, silent truncation
      await conn.query("SET SESSION sql_mode = 'ALLOW_INVALID_DATES'")
      await conn.query(sql, params)
    } finally {
      await conn.query('SET SESSION sql_mode = DEFAULT').catch(() => undefined)
      conn.release()
    }
  }

  beforeAll(async () => {
    env = await createSyncEnv(secretEnvOptions())
    // a module denormalized (Settings > Denormalize), and a description column some installs widened
    await denormalizeModule(env.testDb, 'Leads')
    await env.testDb.query('ALTER TABLE vtiger_crmentity MODIFY description MEDIUMTEXT')
    const [account] = await env.create('Accounts', [{accountname: 'Good Account'}])
    goodPush.push(['Accounts', account])
    await env.create('Contacts', [{firstname: 'Twin', lastname: 'Twin A', email: 'shared@example.org'}])
    for (const c of PUSH_CASES) {
      const fields = c.module === 'Potentials' ? {related_to: String(account), sales_stage: 'Prospecting', closingdate: '2026-12-31', ...c.fields} : c.fields
      const [id] = await env.create(c.module, [fields])
      pushIds.set(c.name, id)
      for (const [sql, params] of c.sql ?? []) await permissive(sql.replace('?id', String(id)), params)
      // good neighbours in the same batches
      if (c.module === 'Contacts') goodPush.push(['Contacts', (await env.create('Contacts', [{firstname: 'Good', lastname: `Neighbour of ${id}`, email: `good${id}@example.org`}]))[0]])
    }
    goodPush.push(['Potentials', (await env.create('Potentials', [{potentialname: 'Good Deal', related_to: String(account), sales_stage: 'Prospecting', closingdate: '2026-12-31'}]))[0]])
    goodPush.push(['Leads', (await env.create('Leads', [{lastname: 'Good Lead', company: 'Good Co'}]))[0]])
    push = await runPass({command: 'push', config: env.config, flags: {}, renderer: 'silent', warn: (m) => pushWarnings.push(m)}).catch((e: Error) => e)
    capture('bad-input push', push instanceof Error ? push.message : push.reports)
    // what the push did, before the pull writes back into the same records
    for (const c of PUSH_CASES) {
      const crmid = pushIds.get(c.name)!
      const object = env.emu.control.all(HS_TYPE[c.module]).find((o) => o.properties.corebos_crmid === String(crmid))
      let sent: string | null = null
      if (c.field) {
        const [row] = await env.testDb.query<Record<string, string | null>>(
          c.field === 'description'
            ? 'SELECT e.description AS v FROM vtiger_crmentity e WHERE e.crmid = ?'
            : `SELECT t.\`${columnOf(c.field)}\` AS v FROM ${tableOf(c.module, c.field)} t WHERE t.${keyOf(c.module, c.field)} = ?`,
          [crmid],
        )
        sent = row?.v ?? null
      }
      afterPush.set(c.name, {object: object ? structuredClone(object) : undefined, sent})
    }

    const [company] = env.emu.control.seed('companies', [{name: 'Good HubSpot Company', domain: 'good-hs.example'}])
    goodCompanyId = company.id
    goodHubSpotIds = [company.id, env.emu.control.seed('contacts', [P({lastname: 'Good HubSpot Contact', email: 'good-hs@example.org'})])[0].id]
    for (const c of PULL_CASES) {
      const [object] = env.emu.control.seed(c.type, [c.properties])
      pullIds.set(c.name, object.id)
      if (c.related) env.emu.control.associate('deals', object.id, 'companies', company.id)
    }
    pull = await runPass({command: 'pull', config: env.config, flags: {}, renderer: 'silent', warn: (m) => pullWarnings.push(m)}).catch((e: Error) => e)
    capture('bad-input pull', pull instanceof Error ? pull.message : pull.reports)
  })
  afterAll(async () => {
    if (env) await captureStoredState(env.testDb)
    await env?.close()
  })

  const passed = (outcome: PassOutcome | Error): PassOutcome => {
    if (outcome instanceof Error) throw new Error(`the pass aborted instead of setting the bad record aside: ${outcome.message}`)
    return outcome
  }

  it('the push went through to the end: exit 5 (records failed) or 0, every good neighbour synced', async () => {
    const outcome = passed(push)
    expect([0, 5]).toContain(outcome.exitCode)
    for (const [module, crmid] of goodPush) {
      const found = env.emu.control.all(HS_TYPE[module]).some((o) => o.properties.corebos_crmid === String(crmid))
      expect(found, `${module} ${crmid} (good) reached HubSpot`).toBe(true)
    }
  })

  it('the pull went through to the end: exit 5 or 0, the good objects are in coreBOS', async () => {
    const outcome = passed(pull)
    expect([0, 5]).toContain(outcome.exitCode)
    for (const id of goodHubSpotIds) {
      const rows = await env.testDb.query(
        'SELECT 1 FROM vtiger_contactdetails WHERE hubspotid = ? UNION ALL SELECT 1 FROM vtiger_account WHERE hubspotid = ?',
        [id, id],
      )
      expect(rows, `HubSpot ${id} (good) reached coreBOS`).toHaveLength(1)
    }
  })

  it('a second push over the same bad records (retries, links now present) goes through too', async () => {
    passed(pull)
    const again = await runPass({command: 'push', config: env.config, flags: {}, renderer: 'silent', warn: () => undefined}).catch((e: Error) => e)
    capture('bad-input second push', again instanceof Error ? again.message : again.reports)
    const outcome = passed(again)
    expect(outcome.exitCode).toBe(5)
    const failed = new Set(outcome.reports.flatMap((r) => r.failures).map((f) => `${f.module} ${f.crmid}`))
    // the contact whose account_id holds a contact's crmid syncs without a company: a reference no
    // Account stands behind is no reason to retry forever (it was ASSOCIATION_PENDING until given up)
    const odd = pushIds.get('contact whose account reference points at a contact')
    expect(failed).not.toContain(`Contacts ${odd}`)
    expect(env.emu.control.all('contacts').some((c) => c.properties.corebos_crmid === String(odd))).toBe(true)
  })

  describe.each(PUSH_CASES.map((c) => [c.name, c] as const))('push: %s', (_name, c) => {
    it('fails naming the record in the ledger, or syncs (a changed value only with a warning)', async () => {
      const outcome = passed(push)
      const crmid = pushIds.get(c.name)!
      const failures = outcome.reports.flatMap((r) => r.failures).filter((f) => f.module === c.module && f.crmid === crmid)
      const warnings = pushWarnings.concat(outcome.reports.flatMap((r) => r.warnings)).filter((w) => w.includes(`${c.module} ${crmid}`))
      const {object, sent} = afterPush.get(c.name)!
      if (c.name.includes('odd opt-in')) {
        // 'yes' is not the opt-in value '1': the record is simply not synced, and nothing fails
        expect(object).toBeUndefined()
        expect(failures).toEqual([])
        return
      }
      if (failures.length > 0) {
        expect(c.expect, `${c.module} ${crmid} failed: ${failures[0].message}`).not.toBe('sync')
        const [ledger] = await env.testDb.query<{message: string; category: string}>(
          "SELECT message, category FROM cbhs_failure WHERE module = ? AND crmid = ? AND direction = 'push' AND open_flag = 1",
          [c.module, crmid],
        )
        expect(ledger, 'an open ledger entry for the record').toBeDefined()
        expect(ledger.message.length).toBeGreaterThan(0)
        if (c.mention) expect(failures.map((f) => f.message).join(' ') + ledger.message).toMatch(c.mention)
        return
      }
      expect(c.expect, `${c.module} ${crmid} was expected to fail`).not.toBe('fail')
      expect(object, `${c.module} ${crmid} neither failed nor reached HubSpot`).toBeDefined()
      if (c.field && c.property) {
        const arrived = (object as EmulatorObject).properties[c.property] ?? null
        if (!(c.same ?? eq)(sent, arrived)) {
          expect(c.expect, `${c.field} changed from '${String(sent).slice(0, 60)}' to '${String(arrived).slice(0, 60)}'`).not.toBe('sync')
          expect(warnings, `${c.field} changed from '${String(sent).slice(0, 60)}' to '${String(arrived).slice(0, 60)}' without a warning naming ${c.module} ${crmid}`).not.toEqual([])
        }
      }
    })
  })

  it('the pull after the push changes no pushed coreBOS value silently (a stand-in for an empty mandatory value comes with a warning)', async () => {
    const outcome = passed(pull)
    const warnings = pullWarnings.concat(outcome.reports.flatMap((r) => r.warnings))
    const silent: string[] = []
    for (const c of PUSH_CASES) {
      const before = afterPush.get(c.name)!
      if (!c.field || !before.object || c.field === 'description') continue
      const crmid = pushIds.get(c.name)!
      const [row] = await env.testDb.query<{v: string | null}>(`SELECT t.\`${columnOf(c.field)}\` AS v FROM ${tableOf(c.module, c.field)} t WHERE t.${keyOf(c.module, c.field)} = ?`, [crmid])
      const now = row?.v ?? null
      if ((now ?? '') !== (before.sent ?? '') && !warnings.some((w) => w.includes(before.object!.id))) {
        silent.push(`${c.module} ${crmid} ${c.field}: '${String(before.sent).slice(0, 40)}' → '${String(now).slice(0, 40)}' (HubSpot ${before.object.id})`)
      }
    }
    expect(silent).toEqual([])
  })

  describe.each(PULL_CASES.map((c) => [c.name, c] as const))('pull: %s', (_name, c) => {
    it('fails naming the HubSpot object in the ledger, or lands in coreBOS (a changed value only with a warning)', async () => {
      const outcome = passed(pull)
      const id = pullIds.get(c.name)!
      const failures = outcome.reports.flatMap((r) => r.failures).filter((f) => f.hubspotId === id)
      const warnings = pullWarnings.concat(outcome.reports.flatMap((r) => r.warnings)).filter((w) => w.includes(id))
      const landed = await findPulled(env, c.type, id)
      if (failures.length > 0) {
        expect(c.expect, `HubSpot ${id} failed: ${failures[0].message}`).not.toBe('sync')
        const [ledger] = await env.testDb.query<{message: string}>("SELECT message FROM cbhs_failure WHERE hubspot_id = ? AND direction = 'pull' AND open_flag = 1", [id])
        expect(ledger, 'an open ledger entry for the object').toBeDefined()
        expect(ledger.message).toContain(id)
        if (c.mention) expect(ledger.message).toMatch(c.mention)
        return
      }
      expect(c.expect, `HubSpot ${id} was expected to fail`).not.toBe('fail')
      expect(landed, `HubSpot ${id} neither failed nor reached coreBOS`).not.toBeNull()
      if (c.property && c.field) {
        const sent = c.properties[c.property] ?? null
        const arrived = landed!.fields[c.field] ?? null
        if (!(c.same ?? eq)(sent, arrived)) {
          expect(c.expect, `${c.property} changed from '${String(sent).slice(0, 60)}' to '${String(arrived).slice(0, 60)}'`).not.toBe('sync')
          expect(warnings, `${c.property} changed from '${String(sent).slice(0, 60)}' to '${String(arrived).slice(0, 60)}' without a warning naming HubSpot ${id}`).not.toEqual([])
        }
      }
    })
  })

  // ------------------------------------------------------------------------------------------
  // files: configuration, maps, config.inc.php (the real binary, exit 3 naming the file)
  // ------------------------------------------------------------------------------------------

  const CONFIG_CASES: Array<[string, string, RegExp]> = [
    ['malformed JSON (trailing comma)', 'malformed.json', /not valid JSON at line \d+/],
    ['a JSON array instead of an object', 'array.json', /must hold a JSON object/],
    ['an unknown HubSpot tier', 'bad-tier.json', /hubspot\.tier must be one of/],
    ['a port that is not a number', 'bad-port.json', /db\.port must be a whole number/],
    ['an empty file', 'empty.json', /not valid JSON/],
    ['an opt-in for an unknown module', 'bad-optin.json', /unknown module 'Invoices'/],
    ['a time zone that does not exist', 'bad-timezone.json', /Mars\/Olympus_Mons/],
    ['a byte-order mark and an unknown conflict policy', 'bom-bad-policy.json', /conflictPolicy|JSON/],
    ['a unique property name that tries to inject SQL', 'hostile-unique-property.json', /uniqueProperty/],
  ]
  // the nine runs start together on first use: each only reads its file and stops
  const configRuns = new Map<string, Promise<CliResult>>()
  const configRun = (file: string): Promise<CliResult> => {
    if (configRuns.size === 0) {
      for (const [, f] of CONFIG_CASES) {
        // environment variables win over the file: drop the one the file gets wrong
        const {CBHS_DB_PORT: port, ...rest} = env.env
        configRuns.set(f, runCli(['push', '--config', join(FIXTURES, 'config', f)], {env: f === 'bad-port.json' ? rest : {...rest, CBHS_DB_PORT: port}}))
      }
    }
    return configRuns.get(file)!
  }
  it.each(CONFIG_CASES)('config file with %s: exit 3 naming the file', async (_name, file, message) => {
    const path = join(FIXTURES, 'config', file)
    const r = await configRun(file)
    expect(r.code).toBe(3)
    expect(r.stderr).toContain(path)
    expect(r.stderr).toMatch(message)
  })

  async function withMap(replace: string, fixture: string): Promise<{dir: string; result: CliResult}> {
    const dir = mkdtempSync(join(tmpdir(), 'cbhs-maps-'))
    cpSync(join(PACKAGE_ROOT, 'maps'), dir, {recursive: true})
    writeFileSync(join(dir, replace), readFileSync(join(FIXTURES, 'maps', fixture)))
    const result = await runCli(['push'], {env: {...env.env, CBHS_MAPS_DIR: dir}})
    return {dir, result}
  }

  it('a map whose coreBOS field name tries to inject SQL: exit 3 naming the file, nothing run', async () => {
    const before = await env.testDb.query('SELECT COUNT(*) AS n FROM vtiger_users')
    const {result} = await withMap('Contacts2HubSpot.xml', 'Contacts2HubSpot.hostile.xml')
    expect(result.code).toBe(3)
    expect(result.stderr).toMatch(/Contacts2HubSpot\.xml/)
    expect(await env.testDb.query('SELECT COUNT(*) AS n FROM vtiger_users')).toEqual(before)
  })

  it('a map whose HubSpot property name tries to inject SQL: exit 3 naming the file', async () => {
    const {result} = await withMap('HubSpot2Contacts.xml', 'HubSpot2Contacts.hostile-target.xml')
    expect(result.code).toBe(3)
    expect(result.stderr).toMatch(/HubSpot2Contacts\.xml/)
  })

  it('a malformed map: exit 3 naming the file and line', async () => {
    const {result} = await withMap('Contacts2HubSpot.xml', 'Contacts2HubSpot.malformed.xml')
    expect(result.code).toBe(3)
    expect(result.stderr).toMatch(/Contacts2HubSpot\.xml:\d+/)
  })

  it('a hostile map stored in vtiger_cbmap: exit 3 naming the map, no SQL run from it', async () => {
    const hostile = readFileSync(join(FIXTURES, 'maps', 'Contacts2HubSpot.hostile.xml'), 'utf8')
    const [{id}] = await env.testDb.query<{id: number}>('SELECT id FROM vtiger_crmentity_seq')
    const cbmapid = Number(id) + 1
    await env.testDb.query('UPDATE vtiger_crmentity_seq SET id = ?', [cbmapid])
    await env.testDb.query("INSERT INTO vtiger_crmentity (crmid, smcreatorid, smownerid, modifiedby, setype, description, createdtime, modifiedtime, cbuuid) VALUES (?, 1, 1, 1, 'cbMap', '', NOW(), NOW(), SHA1(?))", [cbmapid, `map${cbmapid}`])
    await env.testDb.query("INSERT INTO vtiger_cbmap (cbmapid, mapname, maptype, targetname, content) VALUES (?, 'Contacts2HubSpot', 'Mapping', 'Contacts', ?)", [cbmapid, hostile])
    await env.testDb.query('INSERT INTO vtiger_cbmapcf (cbmapid) VALUES (?)', [cbmapid]).catch(() => undefined)
    const r = await runCli(['push'], {env: {...env.env, CBHS_MAPS_SOURCE: 'database'}})
    expect(r.code).toBe(3)
    expect(r.stderr).toMatch(/Contacts2HubSpot/)
  })

  it('a config.inc.php with odd quoting, comments and concatenation is read right', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cbhs-corebos-'))
    const php = readFileSync(join(FIXTURES, 'corebos-odd-quoting', 'config.inc.php'), 'utf8')
      .replace('__HOST__', env.env.CBHS_DB_HOST)
      .replace('__PORT__', env.env.CBHS_DB_PORT)
      .replace('__USER__', env.env.CBHS_DB_USER)
      .replace('__PASSWORD__', env.env.CBHS_DB_PASSWORD.replace(/\\/g, '\\\\').replace(/'/g, "\\'"))
      .replace('__NAME__', env.env.CBHS_DB_NAME)
    writeFileSync(join(dir, 'config.inc.php'), php)
    const {CBHS_DB_HOST: _h, CBHS_DB_PORT: _p, CBHS_DB_USER: _u, CBHS_DB_PASSWORD: _w, CBHS_DB_NAME: _n, ...rest} = env.env
    const r = await runCli(['status', '--json', '--corebos-dir', dir], {env: rest})
    // logged in with the user, password and database read from the file ('db_port' = ':' . 'NNNN')
    expect(r.stderr).not.toMatch(/Error/)
    expect(r.json?.result?.database).toMatchObject({host: env.env.CBHS_DB_HOST, port: Number(env.env.CBHS_DB_PORT), name: env.env.CBHS_DB_NAME})
  })

  it('a config.inc.php with an unterminated string: exit 3 naming file and line', async () => {
    const {CBHS_DB_HOST: _h, CBHS_DB_PORT: _p, CBHS_DB_USER: _u, CBHS_DB_PASSWORD: _w, CBHS_DB_NAME: _n, ...rest} = env.env
    const r = await runCli(['push', '--corebos-dir', join(FIXTURES, 'corebos-syntax-error')], {env: rest})
    expect(r.code).toBe(3)
    expect(r.stderr).toMatch(/corebos-syntax-error\/config\.inc\.php:\d+/)
  })

  it('a --corebos-dir without config.inc.php: exit 3 naming the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cbhs-nocorebos-'))
    const r = await runCli(['push', '--corebos-dir', dir], {env: env.env})
    expect(r.code).toBe(3)
    expect(r.stderr).toContain(join(dir, 'config.inc.php'))
  })
})

/** The live coreBOS record a HubSpot object landed in, with the fields the cases look at. */
async function findPulled(env: SyncEnv, type: 'contacts' | 'companies' | 'deals', id: string): Promise<{module: CrmModule; fields: Record<string, string | null>} | null> {
  const modules: CrmModule[] = type === 'contacts' ? ['Contacts', 'Leads'] : type === 'companies' ? ['Accounts'] : ['Potentials']
  for (const module of modules) {
    const [row] = await env.testDb.query<{crmid: number}>(`SELECT ${KEY[module]} AS crmid FROM ${BASE_TABLE[module]} WHERE hubspotid = ?`, [id])
    if (!row) continue
    const [record] = await env.db.records.readByIds(module, [Number(row.crmid)])
    if (record) return {module, fields: record.fields}
  }
  return null
}

/** Where a push case's field lives (the few the corpus checks). */
function tableOf(module: CrmModule, field: string): string {
  if (module === 'Contacts' && field === 'mailingstreet') return 'vtiger_contactaddress'
  if (module === 'Accounts' && field === 'bill_code') return 'vtiger_accountbillads'
  return BASE_TABLE[module]
}
function keyOf(module: CrmModule, field: string): string {
  if (module === 'Contacts' && field === 'mailingstreet') return 'contactaddressid'
  if (module === 'Accounts' && field === 'bill_code') return 'accountaddressid'
  return KEY[module]
}
function columnOf(field: string): string {
  return ({employees: 'employees', annual_revenue: 'annualrevenue', bill_code: 'bill_code'} as Record<string, string>)[field] ?? field
}
