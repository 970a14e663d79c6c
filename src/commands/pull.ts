import {PassCommand} from '../pass-command.js'
import {conflictFlag, passFlags} from '../flags.js'

export default class Pull extends PassCommand<typeof Pull> {
  static override description = `bring HubSpot changes into coreBOS

Searches companies, contacts and deals modified since the last pull (the list endpoint with --full or on a first pass), maps them through the HubSpot2<Module> maps and writes them to coreBOS: new objects as new records (hubspotcreated = 1), changes field by field against the last synced state. A field changed on both sides is settled by the conflict policy (newest by default). Objects archived or merged away in HubSpot mark their coreBOS records; the records stay.`

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --dry-run',
    '<%= config.bin %> <%= command.id %> --full',
    '<%= config.bin %> <%= command.id %> --module Potentials --conflict-policy crm',
  ]

  static override flags = {...passFlags, ...conflictFlag}
  protected readonly direction = 'pull' as const
}
