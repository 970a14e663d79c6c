import {Flags} from '@oclif/core'
import {CbhsCommand} from '../base-command.js'
import {CbhsError, EXIT, registerSecret} from '../errors.js'
import type {Emulator, LimitsOptions} from '../emulator/index.js'

/** The emulator's default token: public demo data, so it may be printed (any other token is not). */
export const DEFAULT_EMULATOR_TOKEN = 'emulator-token'

/** HubSpot's published limits per tier (reference/hubspot-api.md §3.1); 'off' = no limits. */
const TIERS: Record<string, LimitsOptions | false> = {
  off: false,
  starter: {tenSecondly: 100, daily: 250_000},
  professional: {tenSecondly: 190, daily: 625_000},
  enterprise: {tenSecondly: 190, daily: 1_000_000},
  addon: {tenSecondly: 250, daily: 1_000_000},
}

export interface EmulatorStarted {
  url: string
  port: number
}

export default class EmulatorCommand extends CbhsCommand<typeof EmulatorCommand> {
  static override description = `run the local HubSpot emulator, for demos and rehearsals

A HubSpot CRM API (contacts, companies, deals, associations, search, properties, pipelines) on 127.0.0.1, with an empty portal. It prints its URL and the line that points cbhs at it, then runs until Ctrl+C or SIGTERM. It reads no configuration and touches no database. Its control routes under /_emulator/ (seed, faults, limits, requests) need no token: it only listens on 127.0.0.1.`

  static override examples = [
    {description: 'Start on a free port and print how to use it', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'A fixed port with Starter rate limits and a 2 s search index lag', command: '<%= config.bin %> <%= command.id %> --port 8089 --tier starter --search-lag-ms 2000'},
    {description: 'For scripts: one JSON line with the URL and port', command: '<%= config.bin %> <%= command.id %> --json'},
  ]

  // the emulator has nothing to do with cbhs's configuration, database or HubSpot URL (the cast only
  // satisfies the base class's static type; the parser sees no shared flags)
  static override baseFlags = {} as typeof CbhsCommand.baseFlags

  static override flags = {
    port: Flags.integer({description: 'port on 127.0.0.1 (0: a free one, printed)', default: 0, min: 0, max: 65_535}),
    token: Flags.string({description: `bearer token the API requires (default ${DEFAULT_EMULATOR_TOKEN}); a token given here is never printed`}),
    'search-lag-ms': Flags.integer({description: 'objects created or changed within this many ms are not yet found by search, as in HubSpot', default: 0, min: 0}),
    tier: Flags.string({description: 'rate limits of this HubSpot tier (off: none)', options: Object.keys(TIERS), default: 'off'}),
    'portal-id': Flags.integer({description: 'the portal (hub) id the emulator reports', default: 12_345_678, min: 1}),
  }

  async run(): Promise<void> {
    const {port, tier} = this.flags
    const token = this.flags.token ?? DEFAULT_EMULATOR_TOKEN
    const ownToken = token !== DEFAULT_EMULATOR_TOKEN
    if (ownToken) registerSecret(token)

    // loaded here, not with the module: oclif imports every command to find one, and a cron job's
    // `cbhs sync` would pay for the emulator it never starts
    const {startEmulator} = await import('../emulator/index.js')
    let emu: Emulator
    try {
      emu = await startEmulator({
        port,
        token,
        portalId: this.flags['portal-id'],
        searchLagMs: this.flags['search-lag-ms'],
        limits: TIERS[tier]!,
      })
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'EADDRINUSE' || code === 'EACCES') {
        throw new CbhsError('PORT_UNAVAILABLE', `Cannot listen on 127.0.0.1:${port}: ${code === 'EADDRINUSE' ? 'the port is in use' : 'permission denied'}.`, {
          exitCode: EXIT.USAGE,
          suggestion: 'Choose another --port, or --port 0 for a free one.',
        })
      }
      throw error
    }

    // listening for the stop signal before the URL goes out: a script may send it as soon as it reads the URL
    const stopped = new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop)
        process.off('SIGTERM', stop)
        resolve()
      }
      process.on('SIGINT', stop)
      process.on('SIGTERM', stop)
    })
    const started: EmulatorStarted = {url: emu.url, port: emu.port}
    if (this.jsonEnabled()) {
      // one line now, not an envelope at exit: scripts read the URL while the emulator runs
      process.stdout.write(JSON.stringify(started) + '\n')
    } else {
      const shownToken = ownToken ? '<your --token>' : token
      this.print(`HubSpot emulator on ${emu.url} (portal ${this.flags['portal-id']}, ${tier === 'off' ? 'no rate limits' : `${tier} rate limits`}): CBHS_HUBSPOT_URL=${emu.url} HUBSPOT_ACCESS_TOKEN=${shownToken} cbhs push`, {wrap: false})
      process.stderr.write(`Control routes: ${emu.url}/_emulator/ (no token needed). Stop with Ctrl+C.\n`)
    }

    await stopped
    await emu.close()
    if (!this.jsonEnabled()) process.stderr.write('HubSpot emulator stopped.\n')
  }
}
