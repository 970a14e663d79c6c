/** Flag definitions shared by several commands; never copied between command files. */
import {Flags} from '@oclif/core'
import {UsageError} from './errors.js'
import {ACTIVITY_MODULES, type ActivityModule} from './sync/activity-types.js'
import {CRM_MODULES, type CrmModule} from './sync/types.js'

export const commonFlags = {
  config: Flags.string({description: 'JSON config file (default: none; env CBHS_CONFIG)', helpGroup: 'GLOBAL'}),
  'corebos-dir': Flags.string({
    description: "coreBOS install folder: database settings and timezone come from its config.inc.php",
    helpGroup: 'GLOBAL',
  }),
  'hubspot-url': Flags.string({description: 'HubSpot API base URL (env CBHS_HUBSPOT_URL)', helpGroup: 'GLOBAL'}),
  verbose: Flags.boolean({description: 'log every step to stderr', helpGroup: 'GLOBAL'}),
}

/** A coreBOS module name in any case (`--module contacts`), given back as coreBOS spells it. */
export function parseModule(input: string): CrmModule {
  const found = CRM_MODULES.find((m) => m.toLowerCase() === input.trim().toLowerCase())
  if (!found) throw new UsageError(`Expected --module to be one of: ${CRM_MODULES.join(', ')} (any case); got '${input}'.`)
  return found
}

export const moduleFlag = Flags.custom<CrmModule>({
  description: `only this module (repeatable): ${CRM_MODULES.join(', ')}, in any case`,
  multiple: true,
  parse: async (input) => parseModule(input),
})

/** push, pull and sync also take the activity modules (ModComments, cbCalendar) when activity sync is on. */
export const passModuleFlag = Flags.custom<CrmModule | ActivityModule>({
  description: `only this module (repeatable): ${[...CRM_MODULES, ...ACTIVITY_MODULES].join(', ')}, in any case (the last two with sync.activities on)`,
  multiple: true,
  parse: async (input) => {
    const found = [...CRM_MODULES, ...ACTIVITY_MODULES].find((m) => m.toLowerCase() === input.trim().toLowerCase())
    if (!found) throw new UsageError(`Expected --module to be one of: ${[...CRM_MODULES, ...ACTIVITY_MODULES].join(', ')} (any case); got '${input}'.`)
    return found
  },
})

export const mapsDirFlag = {
  'maps-dir': Flags.string({description: 'folder holding the eight Business Map XML files (env CBHS_MAPS_DIR; default: the maps shipped with cbhs)'}),
}

export const passFlags = {
  'dry-run': Flags.boolean({description: 'plan only: print what would change and write nothing on either side'}),
  full: Flags.boolean({description: 'ignore the watermark and read every record (a backfill; resumable)'}),
  limit: Flags.integer({description: 'stop after this many records per module', min: 1}),
  module: passModuleFlag(),
  output: Flags.string({description: 'also write the full result (every planned record and field, every failure) as JSON to this file'}),
  since: Flags.string({description: 'read changes since this date or datetime (ISO, e.g. 2025-01-01) instead of the watermark'}),
  ...mapsDirFlag,
}

export const conflictFlag = {
  'conflict-policy': Flags.string({
    description: 'who wins when a field changed on both sides since the last sync',
    options: ['newest', 'crm', 'hubspot'],
  }),
}
