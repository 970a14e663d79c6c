/**
 * A local HubSpot CRM emulator, strict where HubSpot is strict, for tests, benchmarks and the demo.
 * Talk to it with `new Client({accessToken: emulator.token, basePath: emulator.url})`.
 */
import type {AddressInfo} from 'node:net'
import type {EmulatorControl} from './control.js'
import type {LimitsOptions} from './limits.js'
import {createEmulatorServer} from './server.js'
import type {MergeMode} from './store.js'

export interface EmulatorOptions {
  /** 0 (default) = a random free port; always bound to 127.0.0.1 */
  port?: number
  /** bearer token required on every API call, default 'emulator-token' */
  token?: string
  /** default 12345678 (GET /account-info/2026-03/details) */
  portalId?: number
  /** objects created/modified within the last N ms are invisible to search (default 0) */
  searchLagMs?: number
  /** default false: no limits */
  limits?: false | LimitsOptions
  /** default Date.now; lets tests drive lag and limits deterministically */
  clock?: {nowMs(): number}
  /** default 'new-id' (HubSpot's current behaviour for contacts and companies; deals always keep the primary) */
  mergeMode?: MergeMode
  /** default true: batch results come back in an order other than the inputs', as HubSpot does not promise it */
  shuffleBatchResults?: boolean
}

export interface Emulator {
  /** 'http://127.0.0.1:PORT', no trailing slash */
  url: string
  token: string
  port: number
  close(): Promise<void>
  control: EmulatorControl
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const emu = createEmulatorServer(options)
  await new Promise<void>((resolve, reject) => {
    emu.server.once('error', reject)
    emu.server.listen(options.port ?? 0, '127.0.0.1', () => {
      emu.server.off('error', reject)
      resolve()
    })
  })
  const port = (emu.server.address() as AddressInfo).port
  let closing: Promise<void> | undefined
  return {
    url: `http://127.0.0.1:${port}`,
    token: emu.token,
    port,
    control: emu.control,
    close() {
      closing ??= new Promise<void>((resolve) => {
        emu.server.close(() => resolve())
        // hung requests and idle keep-alive sockets would otherwise hold close() open forever
        emu.destroySockets()
        emu.server.closeAllConnections()
      })
      return closing
    },
  }
}

export {createEmulatorServer}
export type {EmulatorServer, EmulatorServerOptions} from './server.js'
export type {
  AssociationView,
  EmulatorControl,
  EmulatorObject,
  Instant,
  ObjectTypeRef,
  RequestLogEntry,
  SeedOptions,
} from './control.js'
export type {FaultKind, FaultSpec} from './faults.js'
export {HOSTILE_ID, HOSTILE_KINDS, type HostileKind, type HostileSpec} from './hostile.js'
export type {LimitsOptions} from './limits.js'
export type {MergeMode} from './store.js'
export {ASSOCIATION_TYPES, DEFAULT_DEAL_STAGES, TYPE_ID, type ObjectTypeName} from './schema.js'
