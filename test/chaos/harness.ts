/**
 * Chaos helpers shared by the long run (test/chaos) and its fast subset (test/integration/
 * reliability-*.test.ts): the real binary killed with SIGKILL at a random instant, seeded data on
 * both sides, and invariant checks that look at both sides directly (emulator state, SQL), never
 * through cbhs's own view.
 */
import {spawn, type ChildProcessByStdio} from 'node:child_process'
import type {Readable} from 'node:stream'
import mysql from 'mysql2/promise'
import {appendFileSync} from 'node:fs'
import {prng} from '../../src/emulator/faults.js'
import type {Emulator} from '../../src/emulator/index.js'
import {epochMsToNaive as naiveOf, pushWatermarkMs, recordTimeMs} from '../../src/sync/time.js'
import type {CrmModule} from '../../src/sync/types.js'
import {BIN, ROOT, runCli, type CliResult} from '../support/cli.js'
import {BASE_TABLE} from '../support/corebos-fixtures.js'
import {databaseNowMs} from '../support/clock-skew.js'
import {testServer} from '../support/db.js'
import {SECRET_DB_USER} from '../support/secrets.js'
import type {SyncEnv} from '../support/sync-env.js'

export {prng}

/** A seeded random source with a few conveniences; the seed is printed with every trial. */
export class Rng {
  private readonly next: () => number
  constructor(readonly seed: number) {
    this.next = prng(seed)
  }
  float(): number {
    return this.next()
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1))
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!
  }
  sample<T>(items: readonly T[], n: number): T[] {
    const copy = [...items]
    const out: T[] = []
    while (out.length < n && copy.length > 0) out.push(copy.splice(Math.floor(this.next() * copy.length), 1)[0]!)
    return out
  }
}

export interface KillOutcome {
  /** true when SIGKILL landed before the process ended by itself */
  killed: boolean
  code: number | null
  /** emulator requests seen before the kill */
  requestsAtKill: number
  stdout: string
  stderr: string
}

/**
 * Runs `cbhs <args>` and SIGKILLs it once the emulator has received `afterRequests` requests from
 * it, plus `extraMs` (so kills land inside HubSpot calls and inside the database work between
 * them). A process that finishes first is simply reported as not killed.
 */
/** The real binary with the test's environment on top of this process's, without colours. */
function spawnCbhs(args: string[], env: Record<string, string>): ChildProcessByStdio<null, Readable, Readable> {
  const childEnv: Record<string, string> = {}
  for (const [k, v] of Object.entries({...process.env, ...env})) if (v !== undefined) childEnv[k] = v
  childEnv.NO_COLOR = '1'
  return spawn(process.execPath, [BIN, ...args], {cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe']})
}

export function runAndKill(args: string[], env: Record<string, string>, emu: Emulator, trigger: {afterRequests: number; extraMs: number}): Promise<KillOutcome> {
  return new Promise((resolve, reject) => {
    const base = emu.control.requests().length
    const child = spawnCbhs(args, env)
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    let killed = false
    let requestsAtKill = 0
    let armed = false
    const poll = setInterval(() => {
      if (armed) return
      const seen = emu.control.requests().length - base
      if (seen < trigger.afterRequests) return
      armed = true
      clearInterval(poll)
      setTimeout(() => {
        if (child.exitCode !== null || child.signalCode !== null) return
        requestsAtKill = emu.control.requests().length - base
        killed = child.kill('SIGKILL')
      }, trigger.extraMs)
    }, 2)
    // a run that never reaches the trigger is stopped anyway after a minute
    const guard = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearInterval(poll)
      clearTimeout(guard)
      const file = process.env.CBHS_TEST_CAPTURE
      if (file) appendFileSync(file, `\n### cbhs ${args.join(' ')} (kill trial)\n${stdout}\n${stderr}`)
      resolve({killed, code, requestsAtKill, stdout, stderr})
    })
  })
}

/**
 * Runs `cbhs <args>` and SIGKILLs it as soon as `ready()` (polled while it runs) says so: for a
 * kill at a chosen state rather than a random instant. A process that finishes first is reported
 * as not killed.
 */
export function runAndKillWhen(args: string[], env: Record<string, string>, ready: () => Promise<boolean>): Promise<KillOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawnCbhs(args, env)
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    let killed = false
    let done = false
    const poll = async () => {
      while (!done && child.exitCode === null && child.signalCode === null) {
        if (await ready().catch(() => false)) {
          killed = child.kill('SIGKILL')
          return
        }
        await new Promise((r) => setTimeout(r, 5))
      }
    }
    const guard = setTimeout(() => child.kill('SIGKILL'), 60_000)
    void poll()
    child.on('error', reject)
    child.on('close', (code) => {
      done = true
      clearTimeout(guard)
      resolve({killed, code, requestsAtKill: 0, stdout, stderr})
    })
  })
}

/** A normal run of the binary against the env; throws with its output when the exit code is not allowed. */
export async function runToEnd(args: string[], env: Record<string, string>, allowed: number[] = [0], timeoutMs = 300_000): Promise<CliResult> {
  const r = await runCli(args, {env, timeoutMs})
  if (!allowed.includes(r.code ?? -1)) {
    throw new Error(`cbhs ${args.join(' ')} exited ${r.code} (${r.signal ?? 'no signal'}):\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`)
  }
  return r
}

/** Creates `count` opted-in coreBOS records in chunks (the env's create writes one batch per call). */
export async function createMany(env: SyncEnv, module: CrmModule, count: number, make: (i: number) => Record<string, string | null>): Promise<number[]> {
  const ids: number[] = []
  for (let i = 0; i < count; i += 500) {
    const rows = Array.from({length: Math.min(500, count - i)}, (_, k) => make(i + k))
    ids.push(...(await env.create(module, rows)))
  }
  return ids
}

/** What a broken invariant looks like in the summary. */
export interface Violation {
  invariant: string
  detail: string
}

const HS_TYPE: Record<CrmModule, 'contacts' | 'companies' | 'deals'> = {Contacts: 'contacts', Leads: 'contacts', Accounts: 'companies', Potentials: 'deals'}
const KEY: Record<CrmModule, string> = {Contacts: 'contactid', Leads: 'leadid', Accounts: 'accountid', Potentials: 'potentialid'}

/**
 * After a complete push: every live opted-in record of `modules` is in HubSpot exactly once (by
 * corebos_crmid), linked to that object, with `fields` (coreBOS field → HubSpot property) equal on
 * both sides; no HubSpot object carries a crmid twice; no open ledger entry, no open run, no
 * resumable cursor left.
 */
export async function checkPushed(
  env: SyncEnv,
  modules: CrmModule[],
  fields: Partial<Record<CrmModule, Record<string, string>>> = {},
  options: {watermarks?: boolean} = {},
): Promise<Violation[]> {
  const out: Violation[] = []
  const bad = (invariant: string, detail: string) => out.push({invariant, detail})
  const byType = new Map<string, Map<string, string[]>>()
  for (const type of new Set(modules.map((m) => HS_TYPE[m]))) {
    const crmids = new Map<string, string[]>()
    for (const o of env.emu.control.all(type)) {
      const c = o.properties.corebos_crmid
      if (c) crmids.set(c, [...(crmids.get(c) ?? []), o.id])
    }
    for (const [c, ids] of crmids) if (ids.length > 1) bad('no duplicates (HubSpot)', `${type} with corebos_crmid ${c}: ${ids.join(', ')}`)
    byType.set(type, crmids)
  }
  for (const module of modules) {
    const table = BASE_TABLE[module]
    const key = KEY[module]
    const cols = Object.keys(fields[module] ?? {})
    const rows = await env.testDb.query<Record<string, string | number | null>>(
      `SELECT b.${key} AS crmid, b.hubspotid${cols.map((c) => `, b.\`${c}\``).join('')} FROM ${table} b JOIN vtiger_crmentity e ON e.crmid = b.${key}
        WHERE e.deleted = 0 AND b.hubspotsyncwith = '1'${module === 'Leads' ? ' AND b.converted = 0' : ''}`,
    )
    const links = new Map(
      (await env.testDb.query<{crmid: number; hubspot_id: string; archived: number}>('SELECT crmid, hubspot_id, archived FROM cbhs_link WHERE module = ?', [module])).map((l) => [
        Number(l.crmid),
        l,
      ]),
    )
    const type = HS_TYPE[module]
    for (const row of rows) {
      const crmid = Number(row.crmid)
      const ids = byType.get(type)?.get(String(crmid)) ?? []
      if (ids.length === 0) {
        bad('nothing lost (push)', `${module} ${crmid} is not in HubSpot`)
        continue
      }
      const link = links.get(crmid)
      if (!link || Number(link.archived) === 1) bad('links consistent', `${module} ${crmid} has no live link`)
      else if (!ids.includes(String(link.hubspot_id))) bad('links consistent', `${module} ${crmid} linked to ${link.hubspot_id}, HubSpot has ${ids.join(', ')}`)
      if (link && String(row.hubspotid ?? '') !== String(link.hubspot_id)) {
        bad('links consistent', `${module} ${crmid} hubspotid ${row.hubspotid ?? 'empty'} ≠ link ${link.hubspot_id}`)
      }
      const object = env.emu.control.get(type, ids[0]!)
      for (const [field, property] of Object.entries(fields[module] ?? {})) {
        const crm = row[field] === null ? '' : String(row[field])
        const hs = object?.properties[property] ?? ''
        if (crm !== hs) bad('nothing lost (push)', `${module} ${crmid} ${field}='${crm}' but HubSpot ${property}='${hs}'`)
      }
    }
    const crmCount = rows.length
    const hsCount = [...(byType.get(type)?.keys() ?? [])].filter((c) => rows.some((r) => String(r.crmid) === c)).length
    if (crmCount !== hsCount) bad('count = records', `${module}: ${crmCount} records, ${hsCount} in HubSpot`)
  }
  out.push(...(await checkState(env, modules, 'push', {watermarks: options.watermarks})))
  return out
}

/** No open ledger entries, no open run, no cursor left half-way, for a direction. */
export async function checkState(
  env: SyncEnv,
  modules: CrmModule[],
  direction: 'push' | 'pull',
  options: {allowFailures?: boolean; watermarks?: boolean} = {},
): Promise<Violation[]> {
  const out: Violation[] = []
  if (!options.allowFailures) {
    const open = await env.testDb.query<{module: string; crmid: number | null; hubspot_id: string | null; message: string}>(
      'SELECT module, crmid, hubspot_id, message FROM cbhs_failure WHERE open_flag = 1 AND direction = ? AND module IN (?)',
      [direction, modules],
    )
    for (const f of open) out.push({invariant: 'ledger consistent', detail: `open ${direction} failure ${f.module} ${f.crmid ?? f.hubspot_id}: ${f.message}`})
  }
  const runs = await env.testDb.query<{id: number; command: string}>('SELECT id, command FROM cbhs_run WHERE finished_at IS NULL')
  for (const r of runs) out.push({invariant: 'runs closed', detail: `run ${r.id} (${r.command}) still open after a complete pass`})
  const wms = await env.testDb.query<{module: string; value: string | null; cursor_value: string | null}>(
    'SELECT module, value, cursor_value FROM cbhs_watermark WHERE direction = ? AND module IN (?)',
    [direction, modules],
  )
  for (const w of wms) {
    if (w.cursor_value !== null) out.push({invariant: 'watermarks consistent', detail: `${direction} ${w.module} still has a resume cursor ${w.cursor_value}`})
  }
  if (direction === 'push' && options.watermarks !== false) {
    // the push watermark (an instant; older rows a naive datetime) covers every record it read: never
    // behind the newest opted-in change it synced, and never past the database's clock (records dated
    // in the future are sent but move no watermark)
    const zone = env.config.timezone
    const nowMs = await databaseNowMs(env.testDb)
    for (const module of modules) {
      const w = wms.find((x) => x.module === module)
      const wMs = pushWatermarkMs(w?.value ?? null, zone)
      const [max] = await env.testDb.query<{mt: string | null}>(
        `SELECT MAX(e.modifiedtime) AS mt FROM ${BASE_TABLE[module]} b JOIN vtiger_crmentity e ON e.crmid = b.${KEY[module]}
          WHERE b.hubspotsyncwith = '1' AND e.modifiedtime <= ?`,
        [naiveOf(nowMs, zone)],
      )
      if (max?.mt && (wMs === null || wMs < recordTimeMs(max.mt, zone))) out.push({invariant: 'watermarks consistent', detail: `push ${module} watermark ${w?.value ?? 'none'} < newest record ${max.mt}`})
      if (wMs !== null && wMs > nowMs + 1000) out.push({invariant: 'watermark ≤ database clock', detail: `push ${module} watermark ${w?.value} is past the database's clock ${new Date(nowMs).toISOString()}`})
    }
  }
  return out
}

/**
 * After a complete pull: every live HubSpot contact/company/deal in `types` has exactly one live
 * coreBOS record carrying its id (no duplicate on the coreBOS side), linked, with `fields` (HubSpot
 * property → coreBOS field) equal.
 */
export async function checkPulled(
  env: SyncEnv,
  types: Array<'contacts' | 'companies'>,
  fields: Partial<Record<'contacts' | 'companies', Record<string, string>>> = {},
): Promise<Violation[]> {
  const out: Violation[] = []
  const bad = (invariant: string, detail: string) => out.push({invariant, detail})
  const modulesOf = {contacts: ['Contacts', 'Leads'] as CrmModule[], companies: ['Accounts'] as CrmModule[]}
  for (const type of types) {
    const rows: Array<Record<string, string | number | null> & {module: CrmModule}> = []
    for (const module of modulesOf[type]) {
      const cols = Object.values(fields[type] ?? {}).filter((c) => module !== 'Leads' || c !== 'title')
      const found = await env.testDb.query<Record<string, string | number | null>>(
        `SELECT b.${KEY[module]} AS crmid, b.hubspotid${cols.map((c) => `, b.\`${c}\``).join('')} FROM ${BASE_TABLE[module]} b JOIN vtiger_crmentity e ON e.crmid = b.${KEY[module]}
          WHERE e.deleted = 0 AND b.hubspotid IS NOT NULL AND b.hubspotid <> ''`,
      )
      rows.push(...found.map((r) => ({...r, module})))
    }
    const byHs = new Map<string, typeof rows>()
    for (const r of rows) byHs.set(String(r.hubspotid), [...(byHs.get(String(r.hubspotid)) ?? []), r])
    for (const [id, list] of byHs) if (list.length > 1) bad('no duplicates (coreBOS)', `HubSpot ${type} ${id} is in coreBOS ${list.length} times: ${list.map((r) => `${r.module} ${r.crmid}`).join(', ')}`)
    const links = await env.testDb.query<{module: CrmModule; crmid: number; hubspot_id: string}>('SELECT module, crmid, hubspot_id FROM cbhs_link WHERE object_type = ? AND archived = 0', [type])
    const linkById = new Map(links.map((l) => [String(l.hubspot_id), l]))
    for (const o of env.emu.control.all(type)) {
      const list = byHs.get(o.id) ?? []
      if (list.length === 0) {
        bad('nothing lost (pull)', `HubSpot ${type} ${o.id} is not in coreBOS`)
        continue
      }
      const link = linkById.get(o.id)
      if (!link || Number(link.crmid) !== Number(list[0]!.crmid)) bad('links consistent', `HubSpot ${type} ${o.id}: link ${link ? `${link.module} ${link.crmid}` : 'missing'}, record ${list[0]!.module} ${list[0]!.crmid}`)
      if (o.properties.corebos_crmid && Number(o.properties.corebos_crmid) !== Number(list[0]!.crmid)) {
        bad('links consistent', `HubSpot ${type} ${o.id} corebos_crmid ${o.properties.corebos_crmid} ≠ record ${list[0]!.crmid}`)
      }
      for (const [property, field] of Object.entries(fields[type] ?? {})) {
        if (list[0]!.module === 'Leads' && field === 'title') continue
        const hs = o.properties[property] ?? ''
        const crm = list[0]![field] === null || list[0]![field] === undefined ? '' : String(list[0]![field])
        if (hs !== crm) bad('nothing lost (pull)', `HubSpot ${type} ${o.id} ${property}='${hs}' but ${list[0]!.module} ${list[0]!.crmid} ${field}='${crm}'`)
      }
    }
  }
  return out
}

/** A printable line for a trial. */
export function trialLine(kind: string, n: number, seed: number, outcome: KillOutcome, violations: Violation[] | null): string {
  const what = outcome.killed ? `killed after ${outcome.requestsAtKill} requests` : `finished first (exit ${outcome.code})`
  const verdict =
    violations === null
      ? 'checked after the final pass'
      : violations.length === 0
        ? 'invariants held'
        : `BROKEN: ${violations.map((v) => `${v.invariant}: ${v.detail}`).slice(0, 5).join(' | ')}`
  return `${kind} trial ${n} seed ${seed}: ${what}; ${verdict}`
}

/** Kills every connection cbhs (the secret user) has open on `database`, as an admin would with KILL. */
export async function killCbhsConnections(database: string): Promise<number> {
  const admin = await mysql.createConnection(testServer())
  try {
    const [rows] = await admin.query('SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ? AND DB = ?', [SECRET_DB_USER, database])
    let n = 0
    for (const {ID} of rows as Array<{ID: number}>) {
      await admin.query(`KILL ${Number(ID)}`).then(() => n++, () => undefined)
    }
    return n
  } finally {
    await admin.end()
  }
}
