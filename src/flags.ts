/** Flag definitions shared by several commands; never copied between command files. */
import {Flags} from '@oclif/core'
import {CRM_MODULES} from './sync/types.js'

export const commonFlags = {
  config: Flags.string({description: 'JSON config file (default: none; env CBHS_CONFIG)', helpGroup: 'GLOBAL'}),
  'corebos-dir': Flags.string({
    description: "coreBOS install folder: database settings and timezone come from its config.inc.php",
    helpGroup: 'GLOBAL',
  }),
  'hubspot-url': Flags.string({description: 'HubSpot API base URL (env CBHS_HUBSPOT_URL)', helpGroup: 'GLOBAL'}),
  verbose: Flags.boolean({description: 'log every step to stderr', helpGroup: 'GLOBAL'}),
}

export const passFlags = {
  'dry-run': Flags.boolean({description: 'plan only: print what would change and write nothing on either side'}),
  full: Flags.boolean({description: 'ignore the watermark and read every record (a backfill; resumable)'}),
  limit: Flags.integer({description: 'stop after this many records per module', min: 1}),
  module: Flags.string({
    description: 'only this module (repeatable)',
    multiple: true,
    options: [...CRM_MODULES],
  }),
  since: Flags.string({description: 'read changes since this date or datetime (ISO, e.g. 2025-01-01) instead of the watermark'}),
}

export const conflictFlag = {
  'conflict-policy': Flags.string({
    description: 'who wins when a field changed on both sides since the last sync',
    options: ['newest', 'crm', 'hubspot'],
  }),
}
