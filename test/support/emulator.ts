/**
 * Starting and stopping a HubSpot emulator in tests, plus a client wired to it and a clock tests can
 * move by hand.
 */
import {Client} from '@hubspot/api-client'
import {afterAll, beforeAll} from 'vitest'
import {startEmulator, type Emulator, type EmulatorOptions} from '../../src/emulator/index.js'

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
