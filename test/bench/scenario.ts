/**
 * One measured scenario, alone in its own process, so its peak RSS is its own:
 *
 *   node --import tsx test/bench/scenario.ts <name> <size> <tier>
 *
 * name: push | pull | reconcile | naive | gateway-upsert; tier: off | starter | professional.
 * The database and the emulator are prepared by run.ts and named in the environment (CBHS_*,
 * HUBSPOT_ACCESS_TOKEN). The last stdout line is `BENCH_RESULT {json}`.
 */
import {createRequire} from 'node:module'
import {dirname, join} from 'node:path'
import {loadConfig, type CbhsConfig} from '../../src/config.js'
import {createHubSpotGateway} from '../../src/hubspot/gateway.js'
import {runPass} from '../../src/pass.js'
import type {PassReport} from '../../src/sync/engine.js'
import {liftClientLimits, type Tier} from './common.js'

const PACKAGE_ROOT = new URL('../../', import.meta.url).pathname

export interface WorkerResult {
  wallMs: number
  /** records written on the other side (created, updated, linked, archived, marked) */
  moved: number
  /** records read on the source side */
  read: number
  failed: number
  /** API calls as cbhs counted them (the runner also counts them on the emulator) */
  apiCalls: number
  apiCallsByEndpoint: Record<string, number>
  rssStartKb: number
  maxRssKb: number
  /** CPU seconds (user + system) the process used */
  cpuS: number | null
  extra?: Record<string, unknown>
}

/**
 * Counts the statements this process sends to MariaDB and the time at least one is in flight, by
 * wrapping mysql2's connection (the pool cbhs builds uses it). A pass that waits on one round trip
 * after another is bound by their number, not by CPU; this says which.
 */
const dbTally = {statements: 0, busyMs: 0, byKind: new Map<string, number>(), msByKind: new Map<string, number>()}
function countStatements(): void {
  const require = createRequire(import.meta.url)
  // by absolute path: the package's exports map does not list its internals
  const Base = require(join(dirname(require.resolve('mysql2')), 'lib/base/connection.js')) as {prototype: Record<string, (...args: unknown[]) => any>}
  let inFlight = 0
  let since = 0
  for (const method of ['query', 'execute']) {
    const original = Base.prototype[method]
    Base.prototype[method] = function (this: unknown, ...args: unknown[]) {
      const command = original.apply(this, args)
      const sql = typeof args[0] === 'string' ? args[0] : String((args[0] as {sql?: string})?.sql ?? '')
      const kind = statementKind(sql)
      dbTally.statements++
      dbTally.byKind.set(kind, (dbTally.byKind.get(kind) ?? 0) + 1)
      const sent = performance.now()
      if (inFlight++ === 0) since = sent
      command?.once?.('end', () => {
        const now = performance.now()
        dbTally.msByKind.set(kind, (dbTally.msByKind.get(kind) ?? 0) + (now - sent))
        if (--inFlight === 0) dbTally.busyMs += now - since
      })
      return command
    }
  }
}

/** 'UPDATE vtiger_account', 'SELECT vtiger_crmentity', 'COMMIT' … */
function statementKind(sql: string): string {
  const verb = (/^\s*(\w+)/.exec(sql)?.[1] ?? '?').toUpperCase()
  const table =
    verb === 'SELECT'
      ? /\bFROM\s+`?(\w+)/i.exec(sql)?.[1]
      : /^\s*\w+\s+(?:IGNORE\s+|LOW_PRIORITY\s+)?(?:INTO\s+|FROM\s+)?`?(\w+)/i.exec(sql)?.[1]
  return table && !['START', 'COMMIT', 'ROLLBACK', 'SET'].includes(verb) ? `${verb} ${table}` : verb
}

function dbSummary(): Record<string, unknown> {
  const top = [...dbTally.byKind].sort((a, b) => b[1] - a[1]).slice(0, 16)
  // round-trip time by kind (overlapping statements each count their own): which statements the wall time waits on
  const slowest = [...dbTally.msByKind].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([k, ms]) => [k, Math.round(ms)])
  return {dbStatements: dbTally.statements, dbBusyMs: Math.round(dbTally.busyMs), dbTop: Object.fromEntries(top), dbMsByKind: Object.fromEntries(slowest)}
}

function configFor(tier: Tier): CbhsConfig {
  const config = loadConfig({flags: {}, env: process.env as Record<string, string>, packageRoot: PACKAGE_ROOT})
  if (tier === 'off') {
    // "limits off" measures cbhs's own cost: its client-side budget must not be the bound either
    liftClientLimits()
    config.hubspot.tier = 'addon'
    config.hubspot.searchPerSecond = 1_000_000
  } else {
    config.hubspot.tier = tier
  }
  return config
}

function sumReports(reports: PassReport[]): Pick<WorkerResult, 'moved' | 'read' | 'failed' | 'apiCalls' | 'apiCallsByEndpoint'> {
  let moved = 0
  let read = 0
  let failed = 0
  const byEndpoint: Record<string, number> = {}
  for (const report of reports) {
    for (const c of Object.values(report.modules)) {
      moved += c.created + c.updated + c.linked + c.archived + c.markedDeleted
      read += c.read
      failed += c.failed
    }
    for (const [k, v] of Object.entries(report.apiCalls)) byEndpoint[k] = (byEndpoint[k] ?? 0) + v
  }
  return {moved, read, failed, apiCalls: Object.values(byEndpoint).reduce((a, b) => a + b, 0), apiCallsByEndpoint: byEndpoint}
}

async function pass(command: 'push' | 'pull', tier: Tier): Promise<Omit<WorkerResult, 'rssStartKb' | 'maxRssKb' | 'cpuS'>> {
  const config = configFor(tier)
  const warnings: string[] = []
  const t0 = performance.now()
  const outcome = await runPass({command, config, flags: {}, renderer: 'silent', warn: (m) => warnings.push(m)})
  const wallMs = performance.now() - t0
  if (outcome.skippedBecauseLocked) throw new Error(`pass skipped: ${outcome.skippedBecauseLocked.holder}`)
  const firstFailures = outcome.reports.flatMap((r) => r.failures).slice(0, 3).map((f) => `${f.module} ${f.crmid ?? f.hubspotId}: ${f.category} ${f.message}`)
  return {wallMs, ...sumReports(outcome.reports), extra: {exitCode: outcome.exitCode, firstFailures, warnings: warnings.slice(0, 3)}}
}

async function reconcile(tier: Tier): Promise<Omit<WorkerResult, 'rssStartKb' | 'maxRssKb' | 'cpuS'>> {
  // reconcile is being written alongside the bench: measure it only where it exists
  const mod = (await import('../../src/pass.js')) as Record<string, unknown>
  const run = mod.runReconcile as undefined | ((input: unknown) => Promise<{report: any; exitCode: number; skippedBecauseLocked?: unknown}>)
  if (typeof run !== 'function') throw new Error('NOT_AVAILABLE: runReconcile is not exported by src/pass.ts')
  const config = configFor(tier)
  const t0 = performance.now()
  const outcome = await run({config, flags: {}, renderer: 'silent', warn: () => undefined})
  const wallMs = performance.now() - t0
  const report = outcome.report
  const byEndpoint = (report?.apiCalls ?? {}) as Record<string, number>
  let inSync = 0
  let different = 0
  for (const c of Object.values((report?.modules ?? {}) as Record<string, Record<string, number>>)) {
    inSync += c.inSync ?? 0
    different += (c.different ?? 0) + (c.onlyCrm ?? 0) + (c.onlyHubSpot ?? 0) + (c.brokenLink ?? 0) + (c.associationDrift ?? 0)
  }
  return {
    wallMs,
    moved: 0,
    read: Math.max(report?.read?.crm ?? 0, report?.read?.hubspot ?? 0),
    failed: report?.failures?.length ?? 0,
    apiCalls: Object.values(byEndpoint).reduce((a, b) => a + b, 0),
    apiCallsByEndpoint: byEndpoint,
    extra: {exitCode: outcome.exitCode, readCrm: report?.read?.crm, readHubSpot: report?.read?.hubspot, inSync, different},
  }
}

/**
 * The hand-written script cbhs replaces: read the records, one basicApi.create per record (the
 * contact's company association in the same call), write the id back, one at a time. With
 * limits on it uses the client's own limiter with the settings its README shows, and its retry.
 */
async function naive(size: number, tier: Tier): Promise<Omit<WorkerResult, 'rssStartKb' | 'maxRssKb' | 'cpuS'>> {
  const {Client} = await import('@hubspot/api-client')
  const mysql = (await import('mysql2/promise')).default
  const limiter = tier !== 'off'
  const client = new Client({
    accessToken: process.env.HUBSPOT_ACCESS_TOKEN,
    basePath: process.env.CBHS_HUBSPOT_URL,
    ...(limiter ? {limiterOptions: {minTime: 1000 / 9, maxConcurrent: 6, id: 'hubspot-client-limiter'}, numberOfApiCallRetries: 3} : {}),
  })
  const db = await mysql.createConnection({
    host: process.env.CBHS_DB_HOST,
    port: Number(process.env.CBHS_DB_PORT),
    user: process.env.CBHS_DB_USER,
    password: process.env.CBHS_DB_PASSWORD,
    database: process.env.CBHS_DB_NAME,
  })
  await db.query('CREATE TABLE IF NOT EXISTS bench_naive_ids (crmid INT PRIMARY KEY, hubspotid VARCHAR(25))')
  const t0 = performance.now()
  const [accounts] = (await db.query(
    `SELECT a.accountid AS id, a.accountname, a.phone, a.website FROM vtiger_account a
     JOIN vtiger_crmentity e ON e.crmid = a.accountid WHERE e.deleted = 0 ORDER BY a.accountid LIMIT ?`,
    [size],
  )) as unknown as [Array<{id: number; accountname: string; phone: string; website: string}>]
  const companyIds = new Map<number, string>()
  let calls = 0
  let failed = 0
  for (const a of accounts) {
    try {
      const made = await client.crm.companies.basicApi.create({properties: {name: a.accountname, phone: a.phone ?? '', website: a.website ?? ''}, associations: []})
      calls++
      companyIds.set(a.id, made.id)
      await db.query('INSERT INTO bench_naive_ids VALUES (?, ?)', [a.id, made.id])
    } catch {
      calls++
      failed++
    }
  }
  const [contacts] = (await db.query(
    `SELECT c.contactid AS id, c.firstname, c.lastname, c.email, c.phone, c.accountid FROM vtiger_contactdetails c
     JOIN vtiger_crmentity e ON e.crmid = c.contactid WHERE e.deleted = 0 ORDER BY c.contactid LIMIT ?`,
    [Math.max(0, size - accounts.length)],
  )) as unknown as [Array<{id: number; firstname: string; lastname: string; email: string; phone: string; accountid: number}>]
  for (const c of contacts) {
    const company = companyIds.get(c.accountid)
    try {
      const made = await client.crm.contacts.basicApi.create({
        properties: {firstname: c.firstname ?? '', lastname: c.lastname, email: c.email ?? '', phone: c.phone ?? ''},
        associations: company
          ? [{to: {id: company}, types: [{associationCategory: 'HUBSPOT_DEFINED' as any, associationTypeId: 279}]}]
          : [],
      })
      calls++
      await db.query('INSERT INTO bench_naive_ids VALUES (?, ?)', [c.id, made.id])
    } catch {
      calls++
      failed++
    }
  }
  const wallMs = performance.now() - t0
  await db.end()
  const moved = accounts.length + contacts.length - failed
  return {wallMs, moved, read: accounts.length + contacts.length, failed, apiCalls: calls, apiCallsByEndpoint: {'basicApi.create': calls}, extra: {limiter}}
}

/**
 * Issue 3's micro-benchmark: batch upsert through the gateway alone (no database). With limits on,
 * the first window's burst is spent before the clock starts, so the figure is the steady rate
 * a long backfill sees rather than the one-off burst.
 */
async function gatewayUpsert(size: number, tier: Tier): Promise<Omit<WorkerResult, 'rssStartKb' | 'maxRssKb' | 'cpuS'>> {
  if (tier === 'off') liftClientLimits()
  const gateway = createHubSpotGateway({
    baseUrl: process.env.CBHS_HUBSPOT_URL,
    accessToken: process.env.HUBSPOT_ACCESS_TOKEN!,
    tier: tier === 'off' ? 'addon' : tier,
  })
  const tag = `u${process.pid}`
  const make = (from: number, n: number) =>
    Array.from({length: n}, (_, k) => {
      const i = from + k
      return {key: `${900_000_000 + i}`, properties: {firstname: `F${i}`, lastname: `L${i}`, email: `${tag}.${i}@bench.example`, phone: `+1 558 ${i}`}}
    })
  let warmup = 0
  if (tier !== 'off') {
    warmup = gateway.limiter.currentBudget() * 100
    await gateway.upsert('contacts', make(0, warmup))
  }
  const inputs = make(warmup, size)
  const before = gateway.totalCalls()
  const t0 = performance.now()
  // one call: the gateway chunks by 100 and keeps its 6 requests in flight, so a freed slot of the window is never idle
  const {errors} = await gateway.upsert('contacts', inputs)
  const failed = errors.length
  const wallMs = performance.now() - t0
  gateway.close()
  const calls = gateway.totalCalls() - before
  return {wallMs, moved: size - failed, read: size, failed, apiCalls: calls, apiCallsByEndpoint: {'batch/upsert contacts': calls}, extra: {warmupRecords: warmup}}
}

/**
 * Where the peak resident memory is: the process's memory split (V8 heap in use and reserved,
 * buffers outside it) at the highest RSS seen, sampled every 50 ms, so a peak made of a large
 * live heap reads differently from one of garbage the collector has not returned yet.
 */
const memoryAtPeak = {rssMb: 0, heapUsedMb: 0, heapTotalMb: 0, externalMb: 0, arrayBuffersMb: 0}
function sampleMemory(): NodeJS.Timeout {
  const mb = (n: number) => Math.round(n / 1048576)
  const timer = setInterval(() => {
    const m = process.memoryUsage()
    if (mb(m.rss) > memoryAtPeak.rssMb) Object.assign(memoryAtPeak, {rssMb: mb(m.rss), heapUsedMb: mb(m.heapUsed), heapTotalMb: mb(m.heapTotal), externalMb: mb(m.external), arrayBuffersMb: mb(m.arrayBuffers)})
  }, 50)
  timer.unref()
  return timer
}

async function main(): Promise<void> {
  const [name, sizeArg, tierArg] = process.argv.slice(2)
  const size = Number(sizeArg)
  const tier = (tierArg ?? 'off') as Tier
  const rssStartKb = process.resourceUsage().maxRSS
  countStatements()
  const sampler = sampleMemory()
  let result: Omit<WorkerResult, 'rssStartKb' | 'maxRssKb' | 'cpuS'>
  if (name === 'push' || name === 'pull') result = await pass(name, tier)
  else if (name === 'reconcile') result = await reconcile(tier)
  else if (name === 'naive') result = await naive(size, tier)
  else if (name === 'gateway-upsert') result = await gatewayUpsert(size, tier)
  else throw new Error(`unknown scenario ${name}`)
  const cpu = process.cpuUsage()
  clearInterval(sampler)
  result.extra = {...result.extra, ...dbSummary(), memoryAtPeak}
  const full: WorkerResult = {...result, rssStartKb, maxRssKb: process.resourceUsage().maxRSS, cpuS: (cpu.user + cpu.system) / 1e6}
  process.stdout.write(`\nBENCH_RESULT ${JSON.stringify(full)}\n`)
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    process.stderr.write(`${error.stack ?? error.message}\n`)
    process.exit(1)
  },
)
