/**
 * `npm run bench`: cbhs's speed, API economy and memory against the real MariaDB and the HubSpot
 * emulator, beside a naive one-call-per-record script. See test/bench/README.md.
 *
 *   npm run bench                      10,000 records, every scenario, limits off + Starter + Professional;
 *                                      100,000: push backfill, full pull, idle pass, limits off
 *   npm run bench -- --full            adds the tiered 100,000 runs and the other 100,000 scenarios
 *   npm run bench -- --size 1000000    the "big" size (default 100000)
 *   npm run bench -- --small 2000      the small size (default 10000)
 *   npm run bench -- --only 'pull|idle' scenarios whose name matches the regular expression
 *   npm run bench -- --no-build        skip `tsc` (dist/ must be current)
 *   npm run bench -- --tier professional  only the groups of these tiers (comma-separated: off,starter,professional)
 *   npm run bench -- --add-index       every coreBOS database set up as `cbhs setup --add-index` does (the modifiedtime index)
 *
 * This process only prepares and reports. The emulator runs in its own process (emulator-host.ts),
 * and every measured scenario in another (scenario.ts, or the real binary for the idle pass), so
 * wall time, CPU and peak RSS belong to the code being measured.
 */
import {spawn, spawnSync, fork, type ChildProcess} from 'node:child_process'
import {mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {cpus, totalmem} from 'node:os'
import {fileURLToPath} from 'node:url'
import Table from 'cli-table3'
import {loadConfig} from '../../src/config.js'
import {openDatabase, openHubSpot, type Database} from '../../src/context.js'
import {setupCoreBos} from '../../src/corebos/setup.js'
import {createHubSpotGateway} from '../../src/hubspot/gateway.js'
import {ensureSyncProperties} from '../../src/hubspot/setup.js'
import type {CrmModule} from '../../src/sync/types.js'
import mysql from 'mysql2/promise'
import {createTestDatabase, testServer, type TestDatabase} from '../support/db.js'
import {boundFormula, boundPerSecond, emulatorLimits, type BoundKind, type Tier} from './common.js'
import type {EmulatorStats, HostOp} from './emulator-host.js'
import type {WorkerResult} from './scenario.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const HERE = fileURLToPath(new URL('./', import.meta.url))
const RESULTS = `${ROOT}test/bench/results/`

// ------------------------------------------------------------------------------------------------
// Options and plan
// ------------------------------------------------------------------------------------------------

interface Options {
  full: boolean
  small: number
  big: number
  only: string | null
  build: boolean
  naive: boolean
  /** only groups of these tiers (micro-benchmarks included) */
  tiers: Tier[] | null
  /** the coreBOS databases get setup's opt-in modifiedtime index */
  addIndex: boolean
}

function parseArgs(argv: string[]): Options {
  const o: Options = {full: false, small: 10_000, big: 100_000, only: null, build: true, naive: true, tiers: null, addIndex: false}
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const value = () => {
      const v = argv[++i]
      if (v === undefined) throw new Error(`${a} needs a value`)
      return v
    }
    if (a === '--full') o.full = true
    else if (a === '--size') o.big = Number(value())
    else if (a === '--small') o.small = Number(value())
    else if (a === '--only') o.only = value()
    else if (a === '--no-build') o.build = false
    else if (a === '--no-naive') o.naive = false
    else if (a === '--add-index') o.addIndex = true
    else if (a === '--tier') {
      const list = value().split(',') as Tier[]
      const bad = list.find((t) => !['off', 'starter', 'professional'].includes(t))
      if (bad) throw new Error(`--tier takes off, starter and/or professional (comma-separated), not '${bad}'`)
      o.tiers = list
    }
    else if (a === '--help' || a === '-h') {
      process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0])
      process.exit(0)
    } else throw new Error(`unknown option ${a} (see --help)`)
  }
  if (!(o.small > 0 && o.big > 0)) throw new Error('--size and --small take a positive number of records')
  return o
}

type ScenarioName = 'push backfill' | 'push steady' | 'pull incremental' | 'pull full' | 'reconcile' | 'idle pass' | 'idle pass, archive' | 'naive push' | 'gateway upsert'

/** A group shares one database and one portal; its steps run in order. */
interface Group {
  kind: 'push-side' | 'pull-full' | 'idle' | 'micro'
  size: number
  tier: Tier
  steps: ScenarioName[]
}

const PUSH_SIDE: ScenarioName[] = ['naive push', 'push backfill', 'push steady', 'reconcile', 'pull incremental']

function plan(o: Options): {groups: Group[]; skipped: string[]} {
  const groups: Group[] = []
  const skipped: string[] = []
  const tiers: Tier[] = ['off', 'starter', 'professional']
  for (const tier of tiers) {
    groups.push({kind: 'push-side', size: o.small, tier, steps: PUSH_SIDE})
    groups.push({kind: 'pull-full', size: o.small, tier, steps: ['pull full']})
  }
  // the idle pass measures on the big backfill's portal, so they share a group
  groups.push({kind: 'push-side', size: o.big, tier: 'off', steps: o.full ? [...PUSH_SIDE.filter((s) => s !== 'naive push'), 'idle pass', 'idle pass, archive'] : ['push backfill', 'idle pass', 'idle pass, archive']})
  groups.push({kind: 'pull-full', size: o.big, tier: 'off', steps: ['pull full']})
  if (o.full) {
    for (const tier of ['starter', 'professional'] as Tier[]) {
      groups.push({kind: 'push-side', size: o.big, tier, steps: PUSH_SIDE})
      groups.push({kind: 'pull-full', size: o.big, tier, steps: ['pull full']})
    }
  } else {
    skipped.push(
      `${fmtInt(o.big)} records: push steady, reconcile, pull incremental with limits off`,
      `${fmtInt(o.big)} records with the Starter and Professional tiers: every scenario (≈ 25 min more)`,
      'run them with: npm run bench -- --full',
    )
  }
  if (o.big < 1_000_000) skipped.push('1,000,000 records: npm run bench -- --size 1000000 (add --full for everything at that size)')
  groups.push({kind: 'micro', size: 0, tier: 'off', steps: ['gateway upsert']})
  groups.push({kind: 'micro', size: 0, tier: 'professional', steps: ['gateway upsert']})
  for (const g of groups) {
    if (!o.naive) g.steps = g.steps.filter((s) => s !== 'naive push')
    if (o.only) g.steps = g.steps.filter((s) => new RegExp(o.only!).test(s))
  }
  if (!o.naive) skipped.push('naive baseline (--no-naive)')
  if (o.only) skipped.push(`everything not matching --only '${o.only}'`)
  if (o.tiers) skipped.push(`tiers other than ${o.tiers.join(', ')} (--tier)`)
  return {groups: groups.filter((g) => g.steps.length > 0 && (!o.tiers || o.tiers.includes(g.tier))), skipped}
}

// ------------------------------------------------------------------------------------------------
// Rows, bounds and targets
// ------------------------------------------------------------------------------------------------

interface Target {
  name: string
  met: boolean | null
}

export interface Row {
  scenario: ScenarioName
  tier: Tier
  records: number
  wallMs: number | null
  recordsPerSecond: number | null
  apiCalls: number | null
  writeCalls: number | null
  callsPerRecord: number | null
  writesPerRecord: number | null
  bound: number | null
  boundFormula: string
  pctOfBound: number | null
  rateLimited: number | null
  rateLimitedLate: number | null
  peakRssMb: number | null
  rssAtStartMb: number | null
  /** CPU seconds of the measured process, the emulator and MariaDB during the phase */
  cpu: {worker: number | null; emulator: number | null; mariadb: number | null} | null
  /** MariaDB statements and fsyncs during the phase, server-wide */
  db: DbCounters | null
  /** what the measured process reported about itself */
  worker: WorkerResult | null
  /** requests the emulator saw per second of the phase */
  perSecond: number[]
  targets: Target[]
  notes: string[]
  apiCallsByEndpoint: Record<string, number>
  measured: boolean
}

const BOUND_KIND: Record<ScenarioName, BoundKind> = {
  'push backfill': 'batch-write',
  'push steady': 'none',
  'pull incremental': 'search',
  'pull full': 'list',
  reconcile: 'list',
  'idle pass': 'none',
  'idle pass, archive': 'none',
  'naive push': 'one-per-record',
  'gateway upsert': 'batch-write',
}

function evaluate(row: Row, size: number): void {
  const t = (name: string, met: boolean | null) => row.targets.push({name, met})
  const tiered = row.tier !== 'off'
  const pct = row.pctOfBound
  const late = row.rateLimitedLate
  switch (row.scenario) {
    case 'push backfill':
      if (tiered) t('≥ 95 % of bound', pct === null ? null : pct >= 95)
      else t('≥ 10,000 rec/s', row.recordsPerSecond === null ? null : row.recordsPerSecond >= 10_000)
      t('writes/rec ≤ 0.0105', row.writesPerRecord === null ? null : row.writesPerRecord <= 0.0105)
      break
    case 'pull full':
      if (tiered) t('≥ 95 % of bound', pct === null ? null : pct >= 95)
      else t('≥ 5,000 rec/s', row.recordsPerSecond === null ? null : row.recordsPerSecond >= 5_000)
      break
    case 'pull incremental':
      if (tiered) t('≥ 90 % of bound', pct === null ? null : pct >= 90)
      else t('≥ 5,000 rec/s', row.recordsPerSecond === null ? null : row.recordsPerSecond >= 5_000)
      break
    case 'idle pass':
    case 'idle pass, archive':
      t('≤ 1.5 s', row.wallMs === null ? null : row.wallMs <= 1500)
      t('≤ 6 calls', row.apiCalls === null ? null : row.apiCalls <= 6)
      break
    case 'gateway upsert':
      if (tiered) t('≥ 95 % of bound', pct === null ? null : pct >= 95)
      break
    default:
      break
  }
  if (tiered && row.scenario !== 'naive push' && late !== null) t('no 429 after 1st window', late === 0)
  if (size >= 100_000 && row.peakRssMb !== null && row.scenario !== 'gateway upsert') t('RSS ≤ 250 MB', row.peakRssMb <= 250)
}

/** Why a row is where it is, from its own numbers: which calls beyond the ideal ones, and who used the CPU. */
function explain(row: Row): void {
  const failed = row.targets.filter((x) => x.met === false).map((x) => x.name)
  if (failed.length === 0 || !row.measured) return
  const byEp = Object.entries(row.apiCallsByEndpoint).sort((a, b) => b[1] - a[1])
  const top = byEp.slice(0, 5).map(([k, v]) => `${k} ${v}`).join(', ')
  const cpu = row.cpu
  const wall = (row.wallMs ?? 0) / 1000
  const cpuLine =
    cpu && wall > 0
      ? `CPU during the run: cbhs ${pct(cpu.worker, wall)}, emulator ${pct(cpu.emulator, wall)}, MariaDB ${pct(cpu.mariadb, wall)} of one core (2 cores)`
      : ''
  if (failed.some((f) => f.includes('% of bound') || f.includes('writes/rec'))) {
    const per = row.scenario === 'pull incremental' ? 200 : 100
    const ideal = Math.ceil(row.records / per)
    row.notes.push(`calls: ${row.apiCalls} for ${fmtInt(row.records)} records where the bound assumes ${ideal}; by endpoint: ${top}`)
  }
  if (failed.some((f) => f.includes('rec/s') || f.includes('≤ 1.5 s') || f.includes('% of bound'))) {
    if (cpuLine) row.notes.push(cpuLine)
    const x = row.worker?.extra
    if (x && typeof x.dbStatements === 'number' && row.records > 0 && row.wallMs) {
      const top = Object.entries((x.dbTop ?? {}) as Record<string, number>).slice(0, 4).map(([k, v]) => `${k} ${fmtInt(v)}`).join(', ')
      row.notes.push(
        `MariaDB: ${fmtInt(x.dbStatements)} statements from cbhs (${(x.dbStatements / row.records).toFixed(1)}/record), one in flight ${Math.round((Number(x.dbBusyMs) / row.wallMs) * 100)} % of the wall time; most: ${top}` +
          (x.dbMsByKind ? `; most time (ms, summed over statements): ${Object.entries(x.dbMsByKind as Record<string, number>).map(([k, v]) => `${k} ${fmtInt(v)}`).join(', ')}` : '') +
          (row.db ? `; server-wide ${fmtInt(row.db.fsyncs)} InnoDB fsyncs` : ''),
      )
      const slow = Object.entries((x.dbMsByKind ?? {}) as Record<string, number>).slice(0, 5).map(([k, v]) => `${k} ${fmtS(v)} s`).join(', ')
      if (slow) row.notes.push(`MariaDB round trips by kind (summed; overlapping ones each count): ${slow}`)
    }
  }
  const peak = row.worker?.extra?.memoryAtPeak as undefined | {rssMb: number; heapUsedMb: number; heapTotalMb: number; externalMb: number}
  if (peak && failed.some((f) => f.includes('RSS'))) {
    row.notes.push(`at peak RSS (${peak.rssMb} MB): V8 heap ${peak.heapUsedMb} MB in use of ${peak.heapTotalMb} MB reserved, ${peak.externalMb} MB outside it (buffers)`)
  }
  if (failed.some((f) => f.includes('calls')) && row.scenario.startsWith('idle pass')) {
    row.notes.push(`calls by endpoint: ${byEp.map(([k, v]) => `${k} ${v}`).join(', ')}`)
  }
}

function pct(cpuS: number | null, wallS: number): string {
  return cpuS === null ? '?' : `${Math.round((cpuS / wallS) * 100)} %`
}

// ------------------------------------------------------------------------------------------------
// The emulator process
// ------------------------------------------------------------------------------------------------

class EmulatorHost {
  private child: ChildProcess
  private nextId = 1
  private pending = new Map<number, {resolve: (v: any) => void; reject: (e: Error) => void}>()
  private ready: Promise<void>
  url = ''
  token = ''

  constructor() {
    this.child = fork(`${HERE}emulator-host.ts`, [], {execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc']})
    this.ready = new Promise((resolve, reject) => {
      this.child.once('error', reject)
      this.child.on('message', (msg: any) => {
        if (msg.ready) return resolve()
        const p = this.pending.get(msg.id)
        if (!p) return
        this.pending.delete(msg.id)
        if (msg.ok) p.resolve(msg.result)
        else p.reject(new Error(`emulator host: ${msg.error}`))
      })
    })
  }

  async call<T = unknown>(msg: HostOp): Promise<T> {
    await this.ready
    const id = this.nextId++
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, {resolve, reject})
      this.child.send({...msg, id})
    })
  }

  async start(): Promise<void> {
    const {url, token} = await this.call<{url: string; token: string}>({op: 'start'})
    this.url = url
    this.token = token
  }

  get pid(): number {
    return this.child.pid!
  }

  close(): void {
    this.child.disconnect()
  }
}

// ------------------------------------------------------------------------------------------------
// Environments: a coreBOS database with setup applied, opted-in records, and a portal
// ------------------------------------------------------------------------------------------------

interface Env {
  testDb: TestDatabase
  db: Database
  env: Record<string, string>
  accounts: number[]
  contacts: number[]
}

/** Set from --add-index: whether the coreBOS databases get setup's opt-in modifiedtime index. */
let withModifiedTimeIndex = false

async function newEnv(emu: EmulatorHost): Promise<Env> {
  const testDb = await createTestDatabase()
  await setupCoreBos(testDb.pool, {dryRun: false, database: testDb.settings.database, addModifiedTimeIndex: withModifiedTimeIndex})
  const env: Record<string, string> = {
    CBHS_DB_HOST: testDb.settings.host,
    CBHS_DB_PORT: String(testDb.settings.port),
    CBHS_DB_USER: testDb.settings.user,
    CBHS_DB_PASSWORD: testDb.settings.password,
    CBHS_DB_NAME: testDb.settings.database,
    CBHS_TIMEZONE: 'UTC',
    HUBSPOT_ACCESS_TOKEN: emu.token,
    CBHS_HUBSPOT_URL: emu.url,
  }
  const config = loadConfig({flags: {}, env, packageRoot: ROOT})
  const db = await openDatabase(config)
  const gateway = openHubSpot(config)
  await ensureSyncProperties(gateway, {propertyName: config.hubspot.uniqueProperty})
  gateway.close()
  return {testDb, db, env, accounts: [], contacts: []}
}

async function closeEnv(e: Env): Promise<void> {
  await e.db.close().catch(() => undefined)
  await e.testDb.drop().catch(() => undefined)
}

/** Accounts (a fifth) and contacts each belonging to one, opted in, modified one a second up to ten minutes ago. */
async function seedCoreBos(e: Env, size: number, tag: string): Promise<void> {
  const nAccounts = Math.max(1, Math.round(size / 5))
  const nContacts = size - nAccounts
  const CHUNK = 2000
  const create = async (module: CrmModule, rows: Array<Record<string, string>>) => {
    const results = await e.db.records.create(
      module,
      rows.map((fields) => ({fields, control: {hubspotsyncwith: '1'}})),
      1,
    )
    const bad = results.filter((r) => !r.ok)
    if (bad.length > 0) throw new Error(`seed rejected: ${bad[0].error}`)
    return results.map((r) => r.crmid)
  }
  for (let i = 0; i < nAccounts; i += CHUNK) {
    const rows = []
    for (let k = i; k < Math.min(nAccounts, i + CHUNK); k++) rows.push({accountname: `Account ${k}`, phone: `+34 600 ${String(k).padStart(6, '0')}`, website: `a${k}.${tag}.example`})
    e.accounts.push(...(await create('Accounts', rows)))
  }
  for (let i = 0; i < nContacts; i += CHUNK) {
    const rows = []
    for (let k = i; k < Math.min(nContacts, i + CHUNK); k++) {
      rows.push({firstname: `Ada${k}`, lastname: `Lovelace${k}`, email: `c${k}@${tag}.example`, phone: `+34 700 ${String(k).padStart(6, '0')}`, account_id: String(e.accounts[k % nAccounts])})
    }
    e.contacts.push(...(await create('Contacts', rows)))
  }
  // a live CRM's changes are spread out in time: the push lookback (120 s) then re-reads a few records, not all of them
  const [{maxid}] = await e.testDb.query<{maxid: number}>('SELECT MAX(crmid) AS maxid FROM vtiger_crmentity')
  await e.testDb.query(
    `UPDATE vtiger_crmentity SET modifiedtime = UTC_TIMESTAMP() - INTERVAL (? - crmid + 600) SECOND, createdtime = UTC_TIMESTAMP() - INTERVAL (? - crmid + 600) SECOND
     WHERE setype IN ('Accounts', 'Contacts')`,
    [maxid, maxid],
  )
}

/** What a previous pull would have left: every pull watermark at "now". */
async function setPullWatermarks(e: Env): Promise<void> {
  const now = new Date().toISOString()
  for (const m of ['Accounts', 'Contacts', 'Potentials'] as CrmModule[]) await e.db.state.setWatermark(m, 'pull', now, null)
  await sleep(20)
}

// ------------------------------------------------------------------------------------------------
// Running measured processes
// ------------------------------------------------------------------------------------------------

let mariadbPid: number | null | undefined

/** CPU seconds of a process from /proc (utime + stime); null where /proc is not readable. */
function procCpuSeconds(pid: number | null): number | null {
  if (!pid) return null
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return null
  }
}

function findMariaDb(): number | null {
  if (mariadbPid !== undefined) return mariadbPid
  mariadbPid = null
  try {
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue
      try {
        const comm = readFileSync(`/proc/${name}/comm`, 'utf8').trim()
        if (comm === 'mariadbd' || comm === 'mysqld') {
          mariadbPid = Number(name)
          break
        }
      } catch {
        // processes come and go while we look
      }
    }
  } catch {
    // no /proc: CPU shares are left out
  }
  return mariadbPid
}

interface Measured {
  worker: WorkerResult
  emu: EmulatorStats
  cpu: {worker: number | null; emulator: number | null; mariadb: number | null}
  /** server-wide MariaDB counters over the phase (other clients of the server count too) */
  db: DbCounters | null
}

type DbCounters = {statements: number; fsyncs: number}

let statusConn: mysql.Connection | undefined

/** Statements and InnoDB fsyncs: with innodb_flush_log_at_trx_commit = 1 every autocommit write waits for one. */
async function dbCounters(): Promise<DbCounters | null> {
  try {
    statusConn ??= await mysql.createConnection(testServer())
    const [rows] = await statusConn.query("SHOW GLOBAL STATUS WHERE Variable_name IN ('Questions', 'Innodb_data_fsyncs')")
    const v = new Map((rows as Array<{Variable_name: string; Value: string}>).map((r) => [r.Variable_name, Number(r.Value)]))
    return {statements: v.get('Questions') ?? 0, fsyncs: v.get('Innodb_data_fsyncs') ?? 0}
  } catch {
    return null
  }
}

async function measure(emu: EmulatorHost, tier: Tier, run: () => Promise<WorkerResult>): Promise<Measured> {
  await emu.call({op: 'setLimits', limits: emulatorLimits(tier)})
  await emu.call({op: 'resetLog'})
  const db0 = procCpuSeconds(findMariaDb())
  const emu0 = procCpuSeconds(emu.pid)
  const counters0 = await dbCounters()
  const worker = await run()
  const db1 = procCpuSeconds(findMariaDb())
  const emu1 = procCpuSeconds(emu.pid)
  const counters1 = await dbCounters()
  const stats = await emu.call<EmulatorStats>({op: 'stats'})
  await emu.call({op: 'setLimits', limits: false})
  const diff = (a: number | null, b: number | null) => (a === null || b === null ? null : b - a)
  const db =
    counters0 && counters1 ? {statements: counters1.statements - counters0.statements - 1, fsyncs: counters1.fsyncs - counters0.fsyncs} : null
  return {worker, emu: stats, cpu: {worker: worker.cpuS, emulator: diff(emu0, emu1), mariadb: diff(db0, db1)}, db}
}

function runWorker(name: string, size: number, tier: Tier, env: Record<string, string>): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    // BENCH_SCENARIO_NODE_ARGS: node flags for the measured process only (a heap cap, --cpu-prof), not the emulator's
    const nodeArgs = (process.env.BENCH_SCENARIO_NODE_ARGS ?? '').split(' ').filter(Boolean)
    const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', `${HERE}scenario.ts`, name, String(size), tier], {
      cwd: ROOT,
      env: {...process.env, ...env, NO_COLOR: '1'},
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 45 * 60_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      const line = out.split('\n').find((l) => l.startsWith('BENCH_RESULT '))
      if (code !== 0 || !line) return reject(new Error(`scenario ${name} ${size} ${tier} exited ${code}: ${err.trim().split('\n').slice(-8).join('\n')}`))
      resolve(JSON.parse(line.slice('BENCH_RESULT '.length)) as WorkerResult)
    })
  })
}

/** The idle pass as cron runs it: the real binary, process start included, peak RSS from a preloaded probe. */
async function runBinary(args: string[], env: Record<string, string>): Promise<WorkerResult> {
  const rssFile = `${RESULTS}.rss-${process.pid}`
  const t0 = performance.now()
  const {code, stderr, cpuS} = await new Promise<{code: number | null; stderr: string; cpuS: number | null}>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', `${HERE}rss-probe.mjs`, `${ROOT}bin/run.js`, ...args], {
      cwd: ROOT,
      env: {...process.env, ...env, NO_COLOR: '1', BENCH_RSS_FILE: rssFile},
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    let lastCpu: number | null = null
    // the child's CPU has to be read before it is reaped; sample it while it runs
    const sampler = setInterval(() => (lastCpu = procCpuSeconds(child.pid ?? null) ?? lastCpu), 50)
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('exit', (code) => {
      clearInterval(sampler)
      resolve({code, stderr, cpuS: lastCpu})
    })
  })
  const wallMs = performance.now() - t0
  if (code !== 0) throw new Error(`cbhs ${args.join(' ')} exited ${code}: ${stderr.trim().split('\n').slice(-5).join('\n')}`)
  const probe = JSON.parse(readFileSync(rssFile, 'utf8')) as {maxRssKb: number; upMs: number; dbStatements: number; dbBusyMs: number; slowest: unknown[]}
  rmSync(rssFile, {force: true})
  const {maxRssKb, ...extra} = probe
  return {wallMs, moved: 0, read: 0, failed: 0, apiCalls: 0, apiCallsByEndpoint: {}, rssStartKb: 0, maxRssKb, cpuS, extra}
}

// ------------------------------------------------------------------------------------------------
// Groups
// ------------------------------------------------------------------------------------------------

const NAIVE_SAMPLE = 150

function toRow(scenario: ScenarioName, tier: Tier, records: number, m: Measured | null, notes: string[] = []): Row {
  const kind = BOUND_KIND[scenario]
  const bound = boundPerSecond(kind, tier)
  const wallMs = m ? m.worker.wallMs : null
  const rps = m && wallMs && records > 0 && !scenario.startsWith('idle pass') && scenario !== 'push steady' ? records / (wallMs / 1000) : null
  const calls = m ? m.emu.total : null
  return {
    scenario,
    tier,
    records,
    wallMs,
    recordsPerSecond: rps,
    apiCalls: calls,
    writeCalls: m ? m.emu.writes : null,
    callsPerRecord: calls !== null && records > 0 ? calls / records : null,
    writesPerRecord: m && records > 0 ? m.emu.writes / records : null,
    bound,
    boundFormula: boundFormula(kind, tier),
    pctOfBound: bound && rps ? (rps / bound) * 100 : null,
    rateLimited: m ? m.emu.rateLimited : null,
    rateLimitedLate: m ? m.emu.rateLimitedLate : null,
    peakRssMb: m && m.worker.maxRssKb ? m.worker.maxRssKb / 1024 : null,
    rssAtStartMb: m && m.worker.rssStartKb ? m.worker.rssStartKb / 1024 : null,
    cpu: m ? m.cpu : null,
    db: m ? m.db : null,
    worker: m ? m.worker : null,
    perSecond: m ? m.emu.perSecond : [],
    targets: [],
    notes,
    apiCallsByEndpoint: m ? m.emu.byEndpoint : {},
    measured: m !== null,
  }
}

function checkCounts(m: Measured, expected: number, what: string, notes: string[]): void {
  if (m.worker.failed > 0 || m.worker.moved !== expected) {
    const extra = (m.worker.extra?.firstFailures as string[] | undefined)?.join(' | ') ?? ''
    notes.push(`${what}: expected ${fmtInt(expected)} records moved, got ${fmtInt(m.worker.moved)} (${m.worker.failed} failed) ${extra}`.trim())
  }
}

async function pushSideGroup(g: Group, emu: EmulatorHost, log: (s: string) => void): Promise<Row[]> {
  const rows: Row[] = []
  const tag = `b${g.size}${g.tier.slice(0, 3)}`
  await emu.start()
  const e = await newEnv(emu)
  // what gets written to HubSpot is dated an hour back, as if the back-fill ran long before the passes
  // that follow; otherwise each pull would re-read it as "changed within the search-lag margin"
  await emu.call({op: 'setClockOffset', ms: -3_600_000})
  try {
    log(`seeding ${fmtInt(g.size)} coreBOS records`)
    await seedCoreBos(e, g.size, tag)
    let backfill: Row | undefined
    let naiveRow: Row | undefined
    for (const step of g.steps) {
      log(step)
      if (step === 'naive push') {
        const sample = g.tier === 'off' ? g.size : Math.min(g.size, NAIVE_SAMPLE)
        const m = await measure(emu, g.tier, () => runWorker('naive', sample, g.tier, e.env))
        const notes: string[] = [g.tier === 'off' ? 'sequential basicApi.create, no client limiter' : "sequential basicApi.create, the client's limiter as its README shows it (9 req/s) + 3 retries"]
        if (sample < g.size) notes.push(`extrapolated from a measured sample of ${fmtInt(sample)} records (${fmtS(m.worker.wallMs)} s): the full run would take ${fmtDuration((m.worker.wallMs * g.size) / sample)}`)
        if (m.worker.failed > 0) notes.push(`${m.worker.failed} creates failed`)
        const scaled: Measured = {
          ...m,
          worker: {...m.worker, wallMs: (m.worker.wallMs * g.size) / sample},
          emu: {...m.emu, total: Math.round((m.emu.total * g.size) / sample), writes: Math.round((m.emu.writes * g.size) / sample)},
        }
        naiveRow = toRow(step, g.tier, g.size, scaled, notes)
        rows.push(naiveRow)
        // cbhs starts from an empty portal, as the naive script did
        await emu.start()
        const gateway = createHubSpotGateway({baseUrl: emu.url, accessToken: emu.token})
        await ensureSyncProperties(gateway, {propertyName: 'corebos_crmid'})
        gateway.close()
        e.env.HUBSPOT_ACCESS_TOKEN = emu.token
        e.env.CBHS_HUBSPOT_URL = emu.url
        await emu.call({op: 'setClockOffset', ms: -3_600_000})
        continue
      }
      if (step === 'push backfill') {
        const m = await measure(emu, g.tier, () => runWorker('push', g.size, g.tier, e.env))
        const notes: string[] = []
        checkCounts(m, g.size, 'push', notes)
        backfill = toRow(step, g.tier, g.size, m, notes)
        rows.push(backfill)
        if (naiveRow && naiveRow.wallMs && naiveRow.apiCalls && backfill.wallMs && backfill.apiCalls) {
          naiveRow.notes.push(
            `vs cbhs push backfill (same tier): ×${fmtRatio(naiveRow.apiCalls / backfill.apiCalls)} API calls, ×${fmtRatio(naiveRow.wallMs / backfill.wallMs)} wall time`,
          )
        }
        continue
      }
      if (!backfill) {
        // a later step needs the portal in sync: back-fill it unmeasured, limits off
        await emu.call({op: 'setLimits', limits: false})
        await runWorker('push', g.size, 'off', e.env)
        backfill = toRow('push backfill', 'off', g.size, null)
      }
      if (step === 'push steady') {
        const n = Math.min(50, g.size)
        const nAcc = Math.round(n / 5)
        for (let i = 0; i < nAcc; i++) await e.db.records.update('Accounts', e.accounts[i * 7 % e.accounts.length], {phone: `+34 611 ${i}`}, 1)
        for (let i = 0; i < n - nAcc; i++) await e.db.records.update('Contacts', e.contacts[i * 13 % e.contacts.length], {phone: `+34 711 ${i}`}, 1)
        const m = await measure(emu, g.tier, () => runWorker('push', g.size, g.tier, e.env))
        const notes = [`${n} records changed in coreBOS; ${fmtInt(m.worker.read)} read (the 120 s lookback re-reads a few)`]
        checkCounts(m, n, 'push', notes)
        rows.push(toRow(step, g.tier, n, m, notes))
        continue
      }
      if (step === 'reconcile') {
        try {
          const m = await measure(emu, g.tier, () => runWorker('reconcile', g.size, g.tier, e.env))
          const x = m.worker.extra ?? {}
          const notes = [`dry run; read ${fmtInt(Number(x.readCrm ?? 0))} coreBOS / ${fmtInt(Number(x.readHubSpot ?? 0))} HubSpot; ${fmtInt(Number(x.inSync ?? 0))} in sync, ${fmtInt(Number(x.different ?? 0))} to repair`]
          rows.push(toRow(step, g.tier, g.size, m, notes))
        } catch (error) {
          if (!(error as Error).message.includes('NOT_AVAILABLE')) throw error
          rows.push(toRow(step, g.tier, g.size, null, ['TODO not measured: reconcile not available (no runReconcile in src/pass.ts)']))
        }
        continue
      }
      if (step === 'pull incremental') {
        await emu.call({op: 'setClockOffset', ms: 0})
        await setPullWatermarks(e)
        const touched = await emu.call<number>({op: 'touchAll', types: ['companies', 'contacts']})
        const m = await measure(emu, g.tier, () => runWorker('pull', g.size, g.tier, e.env))
        const notes = [`${fmtInt(touched)} objects edited in HubSpot since the last pull`]
        checkCounts(m, touched, 'pull', notes)
        rows.push(toRow(step, g.tier, touched, m, notes))
        continue
      }
      if (step === 'idle pass' || step === 'idle pass, archive') {
        await emu.call({op: 'setClockOffset', ms: 0})
        await setPullWatermarks(e)
        if (step === 'idle pass, archive') {
          log(`archiving ${fmtInt(g.size)} contacts coreBOS never had`)
          await emu.call({op: 'seedArchivedContacts', count: g.size, tag: `arch${g.size}`})
          // one pass settles what the seeding changed (the count of linked objects is remembered), unmeasured
          await runBinary(['sync'], {...e.env, CBHS_HUBSPOT_TIER: g.tier === 'off' ? 'starter' : g.tier})
        }
        const runs: Measured[] = []
        for (let i = 0; i < 3; i++) runs.push(await measure(emu, g.tier, () => runBinary(['sync'], {...e.env, CBHS_HUBSPOT_TIER: g.tier === 'off' ? 'starter' : g.tier})))
        runs.sort((a, b) => a.worker.wallMs - b.worker.wallMs)
        const median = runs[1]
        const x = median.worker.extra ?? {}
        const slowest = ((x.slowest ?? []) as Array<{sql: string; n: number; ms: number}>).slice(0, 3).map((q) => `${q.ms} ms in ${q.n} × "${q.sql}…"`)
        const notes = [
          `\`node bin/run.js sync\` with ${fmtInt(g.size)} synced records in coreBOS${step === 'idle pass, archive' ? ` and ${fmtInt(g.size)} archived contacts in HubSpot` : ''}, process start included; median of 3 (${runs.map((r) => fmtS(r.worker.wallMs)).join(' / ')} s)`,
          `MariaDB: ${x.dbStatements} statements, one in flight ${x.dbBusyMs} ms; slowest: ${slowest.join('; ')}`,
        ]
        rows.push(toRow(step, g.tier, g.size, median, notes))
        continue
      }
    }
  } finally {
    await closeEnv(e)
  }
  return rows
}

async function pullFullGroup(g: Group, emu: EmulatorHost, log: (s: string) => void): Promise<Row[]> {
  await emu.start()
  const e = await newEnv(emu)
  try {
    const companies = Math.max(1, Math.round(g.size / 5))
    log(`seeding ${fmtInt(g.size)} HubSpot objects`)
    await emu.call({op: 'seedCompaniesContacts', companies, contacts: g.size - companies, tag: `p${g.size}${g.tier.slice(0, 3)}`})
    log('pull full')
    const m = await measure(emu, g.tier, () => runWorker('pull', g.size, g.tier, e.env))
    const notes = ['first pull into an empty coreBOS: list endpoint, creates in coreBOS, company links, corebos_crmid written back']
    checkCounts(m, g.size, 'pull', notes)
    return [toRow('pull full', g.tier, g.size, m, notes)]
  } finally {
    await closeEnv(e)
  }
}

async function microGroup(g: Group, emu: EmulatorHost, log: (s: string) => void): Promise<Row[]> {
  await emu.start()
  const gateway = createHubSpotGateway({baseUrl: emu.url, accessToken: emu.token})
  await ensureSyncProperties(gateway, {propertyName: 'corebos_crmid'})
  gateway.close()
  // Professional: five windows of cbhs's budget after the warm-up (≈ 50 s), so the edges of the
  // windows weigh little; off: enough to be CPU-bound
  const size = g.tier === 'off' ? 50_000 : 5 * 184 * 100
  log(`gateway batch upsert of ${fmtInt(size)} contacts`)
  const m = await measure(emu, g.tier, () => runWorker('gateway-upsert', size, g.tier, {HUBSPOT_ACCESS_TOKEN: emu.token, CBHS_HUBSPOT_URL: emu.url}))
  const warm = Number(m.worker.extra?.warmupRecords ?? 0)
  // the warm-up's requests are in the emulator's log too; the measured phase is the rest
  const calls = m.emu.total - Math.ceil(warm / 100)
  const adjusted: Measured = {...m, emu: {...m.emu, total: calls, writes: calls}}
  const notes = ['issue 3: HubSpotGateway.upsert only (no database), 6 requests in flight']
  if (warm > 0) notes.push(`measured after a warm-up of ${fmtInt(warm)} records that spent the first window's burst, so this is the steady rate`)
  return [toRow('gateway upsert', g.tier, size, adjusted, notes)]
}

// ------------------------------------------------------------------------------------------------
// Output
// ------------------------------------------------------------------------------------------------

function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US')
}
function fmtS(ms: number): string {
  return (ms / 1000).toFixed(ms < 10_000 ? 2 : 1)
}
function fmtRatio(x: number): string {
  return x >= 10 ? fmtInt(x) : x.toFixed(1)
}
function fmtDuration(ms: number): string {
  const s = ms / 1000
  if (s < 120) return `${s.toFixed(0)} s`
  if (s < 7200) return `${(s / 60).toFixed(0)} min`
  return `${(s / 3600).toFixed(1)} h`
}
function fmtNum(x: number | null, digits = 0): string {
  if (x === null) return '—'
  return digits === 0 ? fmtInt(x) : x.toFixed(digits)
}

const TIER_LABEL: Record<Tier, string> = {off: 'off', starter: 'Starter', professional: 'Pro'}

function render(rows: Row[]): string {
  const table = new Table({
    head: ['#', 'scenario', 'limits', 'records', 'wall s', 'rec/s', 'API calls (writes)', 'calls/rec', 'writes/rec', 'bound rec/s', '% bound', '429 (late)', 'RSS MB', 'targets'],
    style: {head: [], border: []},
    colAligns: ['right', 'left', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'left'],
  })
  rows.forEach((r, i) => {
    const targets = r.targets.map((t) => `${t.met === null ? '?' : t.met ? '✓' : '✗'} ${t.name}`).join('\n')
    table.push([
      String(i + 1),
      r.scenario,
      TIER_LABEL[r.tier],
      fmtInt(r.records),
      r.wallMs === null ? 'n/m' : fmtS(r.wallMs),
      fmtNum(r.recordsPerSecond),
      r.apiCalls === null ? '—' : `${fmtInt(r.apiCalls)} (${fmtInt(r.writeCalls ?? 0)})`,
      fmtNum(r.callsPerRecord, 4),
      fmtNum(r.writesPerRecord, 4),
      r.bound === null ? '—' : `${fmtInt(r.bound)}`,
      r.pctOfBound === null ? '—' : `${r.pctOfBound.toFixed(0)} %`,
      r.rateLimited === null || r.tier === 'off' ? '—' : `${r.rateLimited} (${r.rateLimitedLate})`,
      r.peakRssMb === null ? '—' : r.peakRssMb.toFixed(0),
      targets || '',
    ])
  })
  const notes: string[] = []
  rows.forEach((r, i) => {
    const lines = [...r.notes]
    if (r.boundFormula) lines.unshift(`bound: ${r.boundFormula} = ${fmtInt(r.bound ?? 0)} rec/s${r.scenario !== 'naive push' ? " (cbhs keeps 3 % of each window as margin: ≈ 97 % is its ceiling)" : ''}`)
    if (lines.length > 0) notes.push(`${i + 1}. ${lines.join('\n   ')}`)
  })
  return `${table.toString()}\n\nNotes\n${notes.join('\n')}\n`
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

// ------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2))
  withModifiedTimeIndex = options.addIndex
  const started = Date.now()
  const log = (s: string) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${s}\n`)
  mkdirSync(RESULTS, {recursive: true})
  if (options.build) {
    log('building dist/ (npx tsc -p tsconfig.json): the idle pass runs the real binary')
    const r = spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], {cwd: ROOT, stdio: 'inherit'})
    if (r.status !== 0) throw new Error('tsc failed: the idle pass would run a stale dist/ (use --no-build to run anyway)')
  }
  const {groups, skipped} = plan(options)
  const emu = new EmulatorHost()
  const rows: Row[] = []
  try {
    for (const g of groups) {
      const label = `${g.kind} ${g.size ? fmtInt(g.size) : ''} ${TIER_LABEL[g.tier]}`.replace(/\s+/g, ' ')
      const groupLog = (s: string) => log(`${label}: ${s}`)
      const sizeForTargets = g.kind === 'micro' ? 0 : g.size
      const made =
        g.kind === 'pull-full' ? await pullFullGroup(g, emu, groupLog) : g.kind === 'micro' ? await microGroup(g, emu, groupLog) : await pushSideGroup(g, emu, groupLog)
      for (const row of made) {
        evaluate(row, sizeForTargets)
        explain(row)
        rows.push(row)
        log(`${label}: ${row.scenario}: ${row.wallMs === null ? 'not measured' : `${fmtS(row.wallMs)} s, ${fmtNum(row.recordsPerSecond)} rec/s, ${row.apiCalls} calls`}`)
      }
    }
  } finally {
    emu.close()
    await statusConn?.end().catch(() => undefined)
  }
  const totalS = (Date.now() - started) / 1000
  const text = render(rows)
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${Math.round(totalmem() / 2 ** 30)} GB, Node ${process.version}`
  process.stdout.write(`\ncbhs bench (${options.full ? 'full' : 'default'} mode${options.addIndex ? ', modifiedtime index' : ''}) — ${machine} — ${fmtDuration(totalS * 1000)}\n${text}`)
  if (skipped.length > 0) process.stdout.write(`\nSkipped\n${skipped.map((s) => `- ${s}`).join('\n')}\n`)
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  const json = {startedAt: new Date(started).toISOString(), seconds: totalS, mode: options.full ? 'full' : 'default', options, machine, rows, skipped, table: text}
  writeFileSync(`${RESULTS}bench-${stamp}.json`, `${JSON.stringify(json, null, 2)}\n`)
  writeFileSync(`${RESULTS}latest.json`, `${JSON.stringify(json, null, 2)}\n`)
  process.stdout.write(`\nWritten: test/bench/results/bench-${stamp}.json (and test/bench/results/latest.json)\n`)
}

main().catch((error: Error) => {
  process.stderr.write(`bench failed: ${error.stack ?? error.message}\n`)
  process.exit(1)
})
