/**
 * Root help that lists every command, `map:validate` included: oclif's default shows nested
 * commands only behind their topic, and a new operator never finds them.
 */
import {Help} from '@oclif/core'

export default class CbhsHelp extends Help {
  protected override async showRootHelp(): Promise<void> {
    this.log(this.formatRoot())
    this.log('')
    const commands = this.sortedCommands.filter((c) => c.id && !c.hidden)
    if (commands.length > 0) {
      this.log(this.formatCommands(commands))
      this.log('')
    }
  }
}
