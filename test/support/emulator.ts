/**
 * Starting and stopping a HubSpot emulator in tests, plus a client wired to it and a clock tests can
 * move by hand.
 */
import {Client} from '@hubspot/api-client'
import {afterAll, beforeAll} from 'vitest'
import {startEmulator, type Emulator, type EmulatorOptions, type HostileSpec} from '../../src/emulator/index.js'

export class ManualClock {
  constructor(public ms = Date.UTC(2024, 0, 15, 12)) {}

  nowMs(): number {
    return this.ms
  }

  advance(ms: number): void {
    this.ms += ms
  }
}

/** The official client with its own retry off, as cbhs uses it. */
export function clientFor(emu: Emulator): Client {
  return new Client({accessToken: emu.token, basePath: emu.url, numberOfApiCallRetries: 0})
}

/** Runs `fn` against a fresh emulator and always closes it. */
export async function withEmulator<T>(options: EmulatorOptions, fn: (emu: Emulator, client: Client) => Promise<T>): Promise<T> {
  const emu = await startEmulator(options)
  try {
    return await fn(emu, clientFor(emu))
  } finally {
    await emu.close()
  }
}

/** One emulator for a whole test file: started in beforeAll, closed in afterAll. */
export function useEmulator(options: EmulatorOptions = {}): {readonly emu: Emulator; readonly client: Client} {
  let emu: Emulator | undefined
  let client: Client | undefined
  beforeAll(async () => {
    emu = await startEmulator(options)
    client = clientFor(emu)
  })
  afterAll(async () => {
    await emu?.close()
  })
  return {
    get emu() {
      if (!emu) throw new Error('emulator not started yet (use inside a test)')
      return emu
    },
    get client() {
      if (!client) throw new Error('emulator not started yet (use inside a test)')
      return client
    },
  }
}

/** Raw HTTP against the emulator, for what the client cannot express (bad tokens, edge statuses, headers). */
export async function raw(emu: Emulator, method: string, path: string, body?: unknown, token: string | null = emu.token) {
  const headers: Record<string, string> = {}
  if (token !== null) headers.Authorization = `Bearer ${token}`
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  const res = await fetch(`${emu.url}${path}`, {method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)})
  const text = await res.text()
  let json: any
  try {
    json = text ? JSON.parse(text) : undefined
  } catch {
    json = undefined
  }
  return {status: res.status, headers: res.headers, text, json}
}

/**
 * Hostile answers for a chaos round (src/emulator/hostile.ts has the kinds). Each entry makes one
 * reader of a pass lie; switch it on with `emu.control.hostile(spec)` in-process, or over HTTP with
 * `POST /_emulator/hostile {kind, match: "<regexp source>", method?, count?, location?}` and end it with
 * `DELETE /_emulator/hostile` (or `emu.control.clearHostile()`).
 *
 * What a pass must do under each (DESIGN §5.15, test/integration/hubspot-hostile.test.ts): exit 4
 * naming the endpoint within seconds, write nothing from the lie into coreBOS, leave the stream's
 * watermark where it was, release the lock; after `clearHostile()` the next pass syncs what was pending.
 * `redirect` needs `location`: an origin such as `http://127.0.0.1:<a port nobody should be sent to>`.
 */
export const HOSTILE_ANSWERS: ReadonlyArray<{name: string; command: 'push' | 'pull'; full?: boolean; spec: HostileSpec}> = [
  {name: 'HTML page from list', command: 'pull', full: true, spec: {kind: 'html', method: 'GET', match: /^\/crm\/objects\/[^/]+\/contacts$/}},
  {name: 'list without results', command: 'pull', full: true, spec: {kind: 'wrongShape', method: 'GET', match: /^\/crm\/objects\/[^/]+\/contacts$/}},
  {name: 'empty 200 from search', command: 'pull', spec: {kind: 'emptyBody', match: /\/contacts\/search$/}},
  {name: 'HTML page from search', command: 'pull', spec: {kind: 'html', match: /\/contacts\/search$/}},
  {name: 'one id twice in a list page', command: 'pull', full: true, spec: {kind: 'duplicateIds', method: 'GET', match: /^\/crm\/objects\/[^/]+\/contacts$/}},
  {name: 'id that is not digits', command: 'pull', full: true, spec: {kind: 'nonDigitIds', method: 'GET', match: /^\/crm\/objects\/[^/]+\/contacts$/}},
  {name: 'list cursor that repeats', command: 'pull', full: true, spec: {kind: 'repeatCursor', method: 'GET', match: /^\/crm\/objects\/[^/]+\/contacts$/}},
  {name: 'association cursor that repeats', command: 'pull', spec: {kind: 'repeatCursor', match: /\/associations\/.*\/batch\/read$/}},
  {name: 'search total smaller than its page', command: 'pull', spec: {kind: 'badTotal', match: /\/search$/}},
  {name: 'upsert answering a non-digit id', command: 'push', spec: {kind: 'nonDigitIds', match: /\/batch\/upsert$/}},
  {name: 'upsert answering without results', command: 'push', spec: {kind: 'wrongShape', match: /\/batch\/upsert$/}},
]
