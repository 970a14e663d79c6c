/**
 * The bad-input corpus (DESIGN §5.7): records that coreBOS installs and HubSpot portals really hold
 * — invalid e-mails, empty mandatory values, zero and impossible dates, unknown picklist values,
 * 4-byte characters for utf8mb3 columns, NUL bytes, SQL metacharacters, huge and negative numbers,
 * over-long text — plus broken configuration files, hostile maps, a denormalized module and odd
 * config.inc.php quoting. One `it` per case.
 *
 * Every record case (test/fixtures/bad-input/corpus.ts) states one outcome and is checked exactly:
 * the ledger category and message, or the value that landed on the other side and the warnings that
 * name the record (none when the value travelled unchanged). The corpus runs twice, mixed with good
 * records that prove the rest of each batch went through: through push and pull, and through
 * `reconcile --apply` on a fresh pair of empty sides, where every case must end the same way; a
 * reconcile after either writes nothing and creates no duplicate.
 */
import {cpSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runPass, runReconcile} from '../../src/pass.js'
import type {CrmModule} from '../../src/sync/types.js'
import {runCli, type CliResult} from '../support/cli.js'
import {BASE_TABLE, denormalizeModule} from '../support/corebos-fixtures.js'
import {capture, captureStoredState, secretEnvOptions} from '../support/secrets.js'
import {createSyncEnv, PACKAGE_ROOT, type SyncEnv} from '../support/sync-env.js'
import {P, PULL_CASES, PUSH_CASES, type Expected} from '../fixtures/bad-input/corpus.js'

const FIXTURES = fileURLToPath(new URL('../fixtures/bad-input/', import.meta.url))
const KEY: Record<CrmModule, string> = {Contacts: 'contactid', Leads: 'leadid', Accounts: 'accountid', Potentials: 'potentialid'}
const HS_TYPE = {Contacts: 'contacts', Leads: 'contacts', Accounts: 'companies', Potentials: 'deals'} as const

interface Outcome {
  exitCode: number
  failures: Array<{module: CrmModule; crmid: number | null; hubspotId: string | null; category: string; message: string}>
  warnings: string[]
}

/** A fresh coreBOS and HubSpot holding the whole corpus and the good neighbours, nothing synced yet. */
async function loadCorpus() {
  const env = await createSyncEnv(secretEnvOptions())
  // the portal has an owner for the coreBOS admin who owns every record, as a real portal has for its users
  const [admin] = await env.testDb.query<{email1: string}>('SELECT email1 FROM vtiger_users WHERE id = 1')
  env.emu.control.addOwner({email: admin!.email1})
  // a module denormalized (Settings > Denormalize), and a description column some installs widened
  await denormalizeModule(env.testDb, 'Leads')
  await env.testDb.query('ALTER TABLE vtiger_crmentity MODIFY description MEDIUMTEXT')
  const permissive = async (sql: string, params: unknown[]) => {
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
  const pushIds = new Map<string, number>()
  const pullIds = new Map<string, string>()
  const goodCrm: Array<[CrmModule, number]> = []
  const [account] = await env.create('Accounts', [{accountname: 'Good Account'}])
  goodCrm.push(['Accounts', account])
  await env.create('Contacts', [{firstname: 'Twin', lastname: 'Twin A', email: 'shared@example.org'}])
  for (const c of PUSH_CASES) {
    const fields = c.module === 'Potentials' ? {related_to: String(account), sales_stage: 'Prospecting', closingdate: '2026-12-31', ...c.fields} : c.fields
    const [id] = await env.create(c.module, [fields])
    pushIds.set(c.name, id)
    for (const [sql, params] of c.sql ?? []) await permissive(sql.replace('?id', String(id)), params)
    // good neighbours in the same batches
    if (c.module === 'Contacts') goodCrm.push(['Contacts', (await env.create('Contacts', [{firstname: 'Good', lastname: `Neighbour of ${id}`, email: `good${id}@example.org`}]))[0]])
  }
  goodCrm.push(['Potentials', (await env.create('Potentials', [{potentialname: 'Good Deal', related_to: String(account), sales_stage: 'Prospecting', closingdate: '2026-12-31'}]))[0]])
  goodCrm.push(['Leads', (await env.create('Leads', [{lastname: 'Good Lead', company: 'Good Co'}]))[0]])

  const [company] = env.emu.control.seed('companies', [{name: 'Good HubSpot Company', domain: 'good-hs.example'}])
  const goodHubSpot = [company.id, env.emu.control.seed('contacts', [P({lastname: 'Good HubSpot Contact', email: 'good-hs@example.org'})])[0].id]
  for (const c of PULL_CASES) {
    const [object] = env.emu.control.seed(c.type, [c.properties])
    pullIds.set(c.name, object.id)
    if (c.related) env.emu.control.associate('deals', object.id, 'companies', company.id)
  }
  return {env, pushIds, pullIds, goodCrm, goodHubSpot}
}
type Corpus = Awaited<ReturnType<typeof loadCorpus>>

const reportOf = (r: {exitCode: number; failures: Outcome['failures']; warnings: string[]}, warned: string[]): Outcome => ({
  exitCode: r.exitCode,
  failures: r.failures,
  warnings: [...warned, ...r.warnings],
})

async function pass(env: SyncEnv, command: 'push' | 'pull'): Promise<Outcome> {
  const warned: string[] = []
  const outcome = await runPass({command, config: env.config, flags: {}, renderer: 'silent', warn: (m) => warned.push(m)})
  capture(`bad-input ${command}`, outcome.reports)
  const reports = outcome.reports
  return reportOf({exitCode: outcome.exitCode, failures: reports.flatMap((r) => r.failures), warnings: reports.flatMap((r) => r.warnings)}, warned)
}

async function reconcileApply(env: SyncEnv): Promise<Outcome & {applied: Record<string, number>}> {
  const warned: string[] = []
  const outcome = await runReconcile({config: env.config, flags: {apply: true}, renderer: 'silent', warn: (m) => warned.push(m)})
  const report = outcome.report!
  capture('bad-input reconcile', report.failures)
  const applied: Record<string, number> = {}
  for (const counts of Object.values(report.applied)) for (const [k, v] of Object.entries(counts ?? {})) applied[k] = (applied[k] ?? 0) + (v as number)
  return {...reportOf({exitCode: outcome.exitCode, failures: report.failures, warnings: report.warnings}, warned), applied}
}

/** What either side holds, to prove a run wrote nothing: every object's last change, every record's, every link. */
async function bothSides(env: SyncEnv): Promise<unknown> {
  const hubspot = (['contacts', 'companies', 'deals'] as const).map((t) => env.emu.control.all(t).map((o) => `${t} ${o.id} ${o.updatedAt}`).sort())
  const crm = await env.testDb.query("SELECT crmid, setype, modifiedtime, deleted FROM vtiger_crmentity WHERE setype IN ('Accounts', 'Contacts', 'Potentials') ORDER BY crmid")
  const leads = await env.testDb.query('SELECT leadid, modifiedtime, deleted FROM vtiger_leaddetails ORDER BY leadid')
  const links = await env.testDb.query('SELECT module, crmid, hubspot_id, snapshot, archived FROM cbhs_link ORDER BY module, crmid')
  return {hubspot, crm, leads, links}
}

/** No HubSpot object carries one crmid twice, no coreBOS record shares a HubSpot id with another. */
async function duplicates(env: SyncEnv): Promise<string[]> {
  const out: string[] = []
  for (const t of ['contacts', 'companies', 'deals'] as const) {
    const seen = new Map<string, number>()
    for (const o of env.emu.control.all(t)) {
      const crmid = o.properties.corebos_crmid
      if (crmid) seen.set(crmid, (seen.get(crmid) ?? 0) + 1)
    }
    for (const [crmid, n] of seen) if (n > 1) out.push(`${n} HubSpot ${t} for crmid ${crmid}`)
  }
  for (const module of ['Contacts', 'Leads', 'Accounts', 'Potentials'] as CrmModule[]) {
    const rows = await env.testDb.query<{hubspotid: string; n: number}>(
      `SELECT t.hubspotid, COUNT(*) AS n FROM ${BASE_TABLE[module]} t ${module === 'Leads' ? '' : `JOIN vtiger_crmentity e ON e.crmid = t.${KEY[module]} AND e.deleted = 0`} WHERE t.hubspotid <> '' GROUP BY t.hubspotid HAVING n > 1`,
    )
    for (const r of rows) out.push(`${r.n} ${module} with hubspotid ${r.hubspotid}`)
  }
  return out
}

const naming = (warnings: string[], who: RegExp) => warnings.filter((w) => who.test(w))
// warnings name a HubSpot object 'HubSpot <id>' or 'HubSpot <type> <id>' (a bare number could be a crmid)
const hubspotObject = (id: string) => new RegExp(`HubSpot (?:[a-z]+ )?${id}(?!\\d)`)

/** The warnings naming the record are exactly the expected ones: each pattern matched, nothing else said. */
function expectWarnings(said: string[], expected: RegExp[], label: string): void {
  for (const pattern of expected) expect(said.some((w) => pattern.test(w)), `${label}: a warning matching ${pattern} (got ${JSON.stringify(said)})`).toBe(true)
  const unexpected = said.filter((w) => !expected.some((p) => p.test(w)))
  expect(unexpected, `${label}: warnings nobody expected`).toEqual([])
}

async function openLedger(env: SyncEnv, where: string, param: unknown): Promise<Array<{category: string; message: string; direction: string}>> {
  return env.testDb.query(`SELECT category, message, direction FROM cbhs_failure WHERE ${where} AND open_flag = 1`, [param])
}

/** Checks one push case against what HubSpot holds now (or held right after the step that pushed). */
async function checkPushCase(corpus: Corpus, c: (typeof PUSH_CASES)[number], outcome: Outcome, objects: Map<string, {properties: Record<string, string | null>} | undefined>): Promise<void> {
  const {env} = corpus
  const crmid = corpus.pushIds.get(c.name)!
  const label = `${c.module} ${crmid}`
  const object = objects.get(c.name)
  const ledger = await openLedger(env, `module = '${c.module}' AND crmid = ?`, crmid)
  const said = naming(outcome.warnings, new RegExp(`\\b${c.module} ${crmid}\\b`))
  const expected: Expected = c.expected
  if ('fails' in expected) {
    expect(ledger.map((l) => l.category), `${label}: one open ledger entry`).toEqual([expected.fails.category])
    expect(ledger[0].message).toContain(expected.fails.message)
    expect(outcome.failures.filter((f) => f.module === c.module && f.crmid === crmid).map((f) => f.category)).toEqual([expected.fails.category])
    expect(object, `${label} failed, yet it is in HubSpot`).toBeUndefined()
    return
  }
  expect(ledger, `${label}: no ledger entry`).toEqual([])
  if ('notSent' in expected) {
    expect(object, `${label} is not opted in, yet it is in HubSpot`).toBeUndefined()
    expect(said).toEqual([])
    return
  }
  expect(object, `${label} neither failed nor reached HubSpot`).toBeDefined()
  expect(object!.properties[c.property!] ?? null).toBe(expected.lands.value)
  expectWarnings(said, expected.lands.warnings, label)
}

/** The live coreBOS record a HubSpot object landed in, with the fields the cases look at. */
async function findPulled(env: SyncEnv, type: 'contacts' | 'companies' | 'deals', id: string): Promise<Array<{module: CrmModule; fields: Record<string, string | null>}>> {
  const modules: CrmModule[] = type === 'contacts' ? ['Contacts', 'Leads'] : type === 'companies' ? ['Accounts'] : ['Potentials']
  const out: Array<{module: CrmModule; fields: Record<string, string | null>}> = []
  for (const module of modules) {
    const rows = await env.testDb.query<{crmid: number}>(`SELECT ${KEY[module]} AS crmid FROM ${BASE_TABLE[module]} WHERE hubspotid = ?`, [id])
    if (rows.length === 0) continue
    for (const record of await env.db.records.readByIds(module, rows.map((r) => Number(r.crmid)))) out.push({module, fields: record.fields})
  }
  return out
}

async function checkPullCase(corpus: Corpus, c: (typeof PULL_CASES)[number], outcome: Outcome): Promise<void> {
  const {env} = corpus
  const id = corpus.pullIds.get(c.name)!
  const label = `HubSpot ${c.type} ${id}`
  const ledger = await openLedger(env, 'hubspot_id = ?', id)
  const landed = await findPulled(env, c.type, id)
  const said = naming(outcome.warnings, hubspotObject(id))
  const expected: Expected = c.expected
  if ('fails' in expected) {
    expect(ledger.map((l) => l.category), `${label}: one open ledger entry`).toEqual([expected.fails.category])
    expect(ledger[0].message).toContain(id)
    expect(ledger[0].message).toContain(expected.fails.message)
    expect(outcome.failures.filter((f) => f.hubspotId === id).map((f) => f.category)).toEqual([expected.fails.category])
    expect(landed, `${label} failed, yet it is in coreBOS`).toEqual([])
    return
  }
  expect(ledger, `${label}: no ledger entry`).toEqual([])
  if ('notSent' in expected) throw new Error('a pull case is never "not sent"')
  expect(landed.map((l) => l.module), `${label} lands in one coreBOS record`).toEqual([c.module ?? landed[0]?.module ?? '(none)'])
  const value = typeof expected.lands.value === 'function' ? expected.lands.value(id) : expected.lands.value
  expect(landed[0].fields[c.field!] ?? null).toBe(value)
  expectWarnings(said, expected.lands.warnings, label)
}

// a case whose right outcome cbhs does not reach yet asserts it anyway, expected to fail (its corpus entry says why)
const pushTest = (c: (typeof PUSH_CASES)[number], reconcile = false) => (c.wrongToday || (reconcile && c.wrongInReconcile) ? it.fails : it)
const pullTest = (c: (typeof PULL_CASES)[number], reconcile = false) => (c.wrongToday || (reconcile && c.wrongInReconcile) ? it.fails : it)
const describeOutcome = (e: Expected) =>
  'fails' in e ? `fails: ${e.fails.category}` : 'notSent' in e ? 'is not sent, nothing fails' : `lands${e.lands.warnings.length ? ' with a warning' : ' unchanged'}`

describe('reliability: bad input through push and pull', () => {
  let corpus: Corpus
  let push: Outcome
  let pull: Outcome
  // what HubSpot held right after the push, before the pull wrote back into the same records
  const afterPush = new Map<string, {properties: Record<string, string | null>} | undefined>()
  const crmAfterPush = new Map<string, Record<string, string | null> | undefined>()

  beforeAll(async () => {
    corpus = await loadCorpus()
    const {env} = corpus
    push = await pass(env, 'push')
    for (const c of PUSH_CASES) {
      const crmid = String(corpus.pushIds.get(c.name))
      const object = env.emu.control.all(HS_TYPE[c.module]).find((o) => o.properties.corebos_crmid === crmid)
      afterPush.set(c.name, object ? structuredClone(object) : undefined)
      crmAfterPush.set(c.name, (await env.db.records.readByIds(c.module, [Number(crmid)]))[0]?.fields)
    }
    pull = await pass(env, 'pull')
  })
  afterAll(async () => {
    if (corpus) await captureStoredState(corpus.env.testDb)
    await corpus?.env.close()
  })

  it('the push went through to the end: exit 5 (records failed), every good neighbour synced', () => {
    expect(push.exitCode).toBe(5)
    for (const [module, crmid] of corpus.goodCrm) {
      const found = corpus.env.emu.control.all(HS_TYPE[module]).some((o) => o.properties.corebos_crmid === String(crmid))
      expect(found, `${module} ${crmid} (good) reached HubSpot`).toBe(true)
    }
  })

  it('the pull went through to the end: exit 5, the good objects are in coreBOS', async () => {
    expect(pull.exitCode).toBe(5)
    for (const id of corpus.goodHubSpot) {
      const rows = await corpus.env.testDb.query(
        'SELECT 1 FROM vtiger_contactdetails WHERE hubspotid = ? UNION ALL SELECT 1 FROM vtiger_account WHERE hubspotid = ?',
        [id, id],
      )
      expect(rows, `HubSpot ${id} (good) reached coreBOS`).toHaveLength(1)
    }
  })

  describe.each(PUSH_CASES.map((c) => [c.name, c] as const))('push: %s', (_name, c) => {
    pushTest(c)(describeOutcome(c.expected), async () => {
      await checkPushCase(corpus, c, push, afterPush)
    })
  })

  describe.each(PULL_CASES.map((c) => [c.name, c] as const))('pull: %s', (_name, c) => {
    pullTest(c)(describeOutcome(c.expected), async () => {
      await checkPullCase(corpus, c, pull)
    })
  })

  it('the pull reads the pushed objects back and changes nothing in their records (no echo, DESIGN §5.4, §5.11)', async () => {
    const changed: string[] = []
    for (const c of PUSH_CASES) {
      const then = crmAfterPush.get(c.name)
      if (!afterPush.get(c.name) || !then) continue
      const [now] = await corpus.env.db.records.readByIds(c.module, [corpus.pushIds.get(c.name)!])
      for (const [field, value] of Object.entries(then)) {
        if ((now?.fields[field] ?? null) !== value) changed.push(`${c.module} ${corpus.pushIds.get(c.name)} ${field}: '${String(value).slice(0, 40)}' → '${String(now?.fields[field]).slice(0, 40)}'`)
      }
    }
    expect(changed).toEqual([])
  })

  it('a second push over the same bad records (retries, links now present) leaves exactly the failing cases in the ledger', async () => {
    const again = await pass(corpus.env, 'push')
    expect(again.exitCode).toBe(5)
    const expected = PUSH_CASES.filter((c) => 'fails' in c.expected).map((c) => `${c.module} ${corpus.pushIds.get(c.name)} ${(c.expected as {fails: {category: string}}).fails.category}`)
    // a record whose retry is not due yet is not tried again, and stays in the ledger as it was
    for (const f of again.failures) expect(expected, `${f.module} ${f.crmid} failed: ${f.message}`).toContain(`${f.module} ${f.crmid} ${f.category}`)
    const open = await corpus.env.testDb.query<{module: string; crmid: number; category: string}>("SELECT module, crmid, category FROM cbhs_failure WHERE open_flag = 1 AND direction = 'push'")
    expect(open.map((o) => `${o.module} ${o.crmid} ${o.category}`).sort()).toEqual(expected.sort())
  })

  describe('reconcile --apply over the synced corpus', () => {
    let before: unknown
    let open: unknown
    let r: Awaited<ReturnType<typeof reconcileApply>>
    const ledger = () => corpus.env.testDb.query('SELECT module, crmid, hubspot_id, category FROM cbhs_failure WHERE open_flag = 1 ORDER BY module, crmid, hubspot_id')
    beforeAll(async () => {
      before = await bothSides(corpus.env)
      open = await ledger()
      r = await reconcileApply(corpus.env)
    })

    it('writes nothing on either side and creates no duplicate; the failing records fail again (exit 5)', async () => {
      expect(r.exitCode).toBe(5)
      expect(Object.fromEntries(Object.entries(r.applied).filter(([k, v]) => v > 0 && k !== 'failed'))).toEqual({})
      expect(await bothSides(corpus.env)).toEqual(before)
      expect(await duplicates(corpus.env)).toEqual([])
    })

    // a failure is recorded in the direction of the repair: a HubSpot object the pull failed keeps its one entry
    it('leaves the ledger as it was: the same failures, no second entry for one record', async () => {
      expect(await ledger()).toEqual(open)
    })
  })
})

describe('reliability: bad input through reconcile --apply', () => {
  let corpus: Corpus
  let first: Outcome & {applied: Record<string, number>}
  const objects = new Map<string, {properties: Record<string, string | null>} | undefined>()

  beforeAll(async () => {
    corpus = await loadCorpus()
    first = await reconcileApply(corpus.env)
    for (const c of PUSH_CASES) {
      const crmid = String(corpus.pushIds.get(c.name))
      objects.set(c.name, corpus.env.emu.control.all(HS_TYPE[c.module]).find((o) => o.properties.corebos_crmid === crmid))
    }
  })
  afterAll(async () => {
    if (corpus) await captureStoredState(corpus.env.testDb)
    await corpus?.env.close()
  })

  it('went through to the end: exit 5, the good records on both sides', async () => {
    expect(first.exitCode).toBe(5)
    for (const [module, crmid] of corpus.goodCrm) {
      expect(corpus.env.emu.control.all(HS_TYPE[module]).some((o) => o.properties.corebos_crmid === String(crmid)), `${module} ${crmid} (good) reached HubSpot`).toBe(true)
    }
    for (const id of corpus.goodHubSpot) {
      expect(await findPulled(corpus.env, id === corpus.goodHubSpot[0] ? 'companies' : 'contacts', id), `HubSpot ${id} (good) reached coreBOS`).toHaveLength(1)
    }
  })

  describe.each(PUSH_CASES.map((c) => [c.name, c] as const))('coreBOS record: %s', (_name, c) => {
    pushTest(c, true)(`${describeOutcome(c.expected)}, as in a push`, async () => {
      await checkPushCase(corpus, c, first, objects)
    })
  })

  describe.each(PULL_CASES.map((c) => [c.name, c] as const))('HubSpot object: %s', (_name, c) => {
    pullTest(c, true)(`${describeOutcome(c.expected)}, as in a pull`, async () => {
      await checkPullCase(corpus, c, first)
    })
  })

  it('creates no duplicate on either side', async () => {
    expect(await duplicates(corpus.env)).toEqual([])
  })

  it('a second reconcile --apply writes nothing and fails the same records', async () => {
    const before = await bothSides(corpus.env)
    const open = await corpus.env.testDb.query('SELECT module, crmid, hubspot_id, category FROM cbhs_failure WHERE open_flag = 1 ORDER BY id')
    const again = await reconcileApply(corpus.env)
    expect(again.exitCode).toBe(5)
    expect(Object.fromEntries(Object.entries(again.applied).filter(([k, v]) => v > 0 && k !== 'failed'))).toEqual({})
    expect(await bothSides(corpus.env)).toEqual(before)
    expect(await corpus.env.testDb.query('SELECT module, crmid, hubspot_id, category FROM cbhs_failure WHERE open_flag = 1 ORDER BY id')).toEqual(open)
  })
})

describe('reliability: bad files (configuration, maps, config.inc.php)', () => {
  let env: SyncEnv
  beforeAll(async () => {
    env = await createSyncEnv(secretEnvOptions())
  })
  afterAll(async () => {
    await env?.close()
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
