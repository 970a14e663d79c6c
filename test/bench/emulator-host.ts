/**
 * The HubSpot emulator in its own process, driven over IPC by the bench runner. It lives apart so
 * that neither its CPU nor its store (100,000 objects and more) count against the process being
 * measured, and so scenarios do not share a heap.
 *
 * Requests: {id, op, args}; replies: {id, ok, result} or {id, ok: false, error}.
 */
import {startEmulator, type Emulator} from '../../src/emulator/index.js'
import type {LimitsOptions} from '../../src/emulator/limits.js'

export type HostOp =
  | {op: 'start'}
  | {op: 'setLimits'; limits: LimitsOptions | false}
  | {op: 'setClockOffset'; ms: number}
  | {op: 'resetLog'}
  | {op: 'stats'}
  | {op: 'seedCompaniesContacts'; companies: number; contacts: number; tag: string}
  | {op: 'touchAll'; types: string[]; limit?: number}
  | {op: 'countObjects'; type: string}
  | {op: 'seedArchivedContacts'; count: number; tag: string}

export interface EmulatorStats {
  total: number
  writes: number
  byEndpoint: Record<string, number>
  rateLimited: number
  /** 429s later than 10 s after the first request of the measured phase */
  rateLimitedLate: number
  firstAtMs: number | null
  lastAtMs: number | null
  /** requests per second since the first one: where a run stalled */
  perSecond: number[]
}

// reads never change HubSpot: GET, search, and the batch reads (objects and associations)
const READ = /(\/search|\/batch\/read)$/

let emu: Emulator | undefined
// HubSpot's clock can run behind: a back-fill done "an hour ago" leaves nothing inside the pull's search-lag window
let offsetMs = 0
const clock = {nowMs: () => Date.now() + offsetMs}

async function handle(msg: HostOp): Promise<unknown> {
  switch (msg.op) {
    case 'start': {
      // a fresh portal each time: the previous store is dropped with the old server
      if (emu) await emu.close()
      offsetMs = 0
      emu = await startEmulator({shuffleBatchResults: true, clock})
      return {url: emu.url, token: emu.token}
    }
    case 'setLimits':
      // also clears the emulator's windows, so a phase starts with HubSpot's full burst as a fresh process would
      need().control.setLimits(msg.limits)
      return null
    case 'setClockOffset':
      offsetMs = msg.ms
      return null
    case 'resetLog':
      need().control.resetLog()
      return null
    case 'stats':
      return stats()
    case 'seedCompaniesContacts':
      return seedCompaniesContacts(msg.companies, msg.contacts, msg.tag)
    case 'touchAll':
      return touchAll(msg.types, msg.limit)
    case 'countObjects':
      return need().control.all(msg.type).length
    case 'seedArchivedContacts':
      return seedArchivedContacts(msg.count, msg.tag)
  }
}

function need(): Emulator {
  if (!emu) throw new Error('emulator not started')
  return emu
}

function stats(): EmulatorStats {
  const control = need().control
  const log = control.requests()
  const byEndpoint = control.counts()
  const total = Object.values(byEndpoint).reduce((a, b) => a + b, 0)
  let writes = 0
  for (const [endpoint, n] of Object.entries(byEndpoint)) {
    if (!endpoint.startsWith('GET ') && !READ.test(endpoint) && endpoint !== 'UNKNOWN') writes += n
  }
  const firstAtMs = log.length > 0 ? log[0].atMs : null
  let rateLimited = 0
  let rateLimitedLate = 0
  for (const entry of log) {
    if (entry.status !== 429) continue
    rateLimited++
    if (firstAtMs !== null && entry.atMs > firstAtMs + 10_000) rateLimitedLate++
  }
  const perSecond: number[] = []
  for (const entry of log) {
    const second = Math.floor((entry.atMs - (firstAtMs ?? 0)) / 1000)
    perSecond[second] = (perSecond[second] ?? 0) + 1
  }
  return {total, writes, byEndpoint, rateLimited, rateLimitedLate, firstAtMs, lastAtMs: log.length > 0 ? log[log.length - 1].atMs : null, perSecond: Array.from(perSecond, (n) => n ?? 0)}
}

/** A portal as a HubSpot-first company would have it: companies, and contacts each associated with one. */
function seedCompaniesContacts(companies: number, contacts: number, tag: string): {companies: number; contacts: number} {
  const control = need().control
  const made: string[] = []
  for (let start = 0; start < companies; start += 5000) {
    const batch = []
    for (let i = start; i < Math.min(companies, start + 5000); i++) {
      batch.push({name: `HS Company ${i}`, domain: `co${i}.${tag}.example`, phone: `+1 555 ${String(i).padStart(7, '0')}`})
    }
    for (const o of control.seed('companies', batch)) made.push(o.id)
  }
  for (let start = 0; start < contacts; start += 5000) {
    const batch = []
    for (let i = start; i < Math.min(contacts, start + 5000); i++) {
      batch.push({firstname: `First${i}`, lastname: `Last${i}`, email: `c${i}@${tag}.example`, lifecyclestage: 'customer', phone: `+1 556 ${String(i).padStart(7, '0')}`})
    }
    const seeded = control.seed('contacts', batch)
    seeded.forEach((o, k) => {
      if (made.length > 0) control.associate('contacts', o.id, 'companies', made[(start + k) % made.length], 279)
    })
  }
  return {companies, contacts}
}

/** A portal's history: contacts coreBOS never had, archived since (old imports, clean-ups). */
function seedArchivedContacts(count: number, tag: string): number {
  const control = need().control
  for (let start = 0; start < count; start += 5000) {
    const batch = []
    for (let i = start; i < Math.min(count, start + 5000); i++) batch.push({firstname: `Gone${i}`, lastname: `Archived${i}`, email: `gone${i}@${tag}.example`})
    for (const o of control.seed('contacts', batch)) control.archive('contacts', o.id)
  }
  return count
}

/** A user edit on every object (or the first `limit`): a new phone number and a fresh modified date. */
function touchAll(types: string[], limit?: number): number {
  const control = need().control
  let n = 0
  for (const type of types) {
    for (const o of control.all(type)) {
      if (limit !== undefined && n >= limit) return n
      control.update(type, o.id, {phone: `+1 557 ${String(n).padStart(7, '0')}`})
      n++
    }
  }
  return n
}

process.on('message', (raw) => {
  const {id, ...msg} = raw as HostOp & {id: number}
  handle(msg as HostOp).then(
    (result) => process.send!({id, ok: true, result}),
    (error: Error) => process.send!({id, ok: false, error: error.stack ?? error.message}),
  )
})
process.on('disconnect', () => {
  void (emu?.close() ?? Promise.resolve()).finally(() => process.exit(0))
})
process.send!({ready: true})
