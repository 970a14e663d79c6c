/**
 * `command_not_found` hook: names the nearest command when nobody can answer a prompt (a script,
 * cron, a pipe). On a terminal @oclif/plugin-not-found asks "Did you mean …?" and runs it; without
 * one it only says the command does not exist.
 */
import type {Hook} from '@oclif/core'
import {nearest} from '../config.js'

const hook: Hook<'command_not_found'> = async function (options) {
  if (process.stdin.isTTY) return
  const ids = options.config.commands.filter((c) => !c.hidden).flatMap((c) => [c.id, ...c.aliases])
  const match = nearest(options.id, ids)
  if (match) process.stderr.write(`Did you mean \`${options.config.bin} ${match.replaceAll(':', options.config.topicSeparator)}\`?\n`)
}

export default hook
