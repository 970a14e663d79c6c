import {PassCommand} from '../pass-command.js'
import {conflictFlag, passFlags} from '../flags.js'

export default class Push extends PassCommand<typeof Push> {
  static override description = `send coreBOS changes to HubSpot

Reads the records of Accounts, Contacts, Leads and Potentials changed since the last push (or all of them with --full), maps them through the <Module>2HubSpot maps and writes them to HubSpot in batches of 100: new ones by upsert on the corebos_crmid property, changed ones with only their changed properties. Trashed records are archived in HubSpot. Failing records go to the ledger and are retried on the next pass; the exit code is then 5.`

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --dry-run',
    '<%= config.bin %> <%= command.id %> --full --module Contacts',
    '<%= config.bin %> <%= command.id %> --since 2025-01-01 --json',
  ]

  static override flags = {...passFlags, ...conflictFlag}
  protected readonly direction = 'push' as const
}
