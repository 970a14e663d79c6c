import {PassCommand} from '../pass-command.js'
import {conflictFlag, passFlags} from '../flags.js'

export default class Sync extends PassCommand<typeof Sync> {
  static override description = `pull, then push, in one pass under one lock (the cron job)

Pulling first lets the three-way merge see HubSpot's edits before coreBOS's are sent.`

  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --dry-run --json']
  static override flags = {...passFlags, ...conflictFlag}
  protected readonly direction = 'sync' as const
}
