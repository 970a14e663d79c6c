/**
 * The one place that picks how progress is drawn: live listr2 tasks on a terminal, timestamped
 * plain lines without one (cron logs), nothing under --json. Progress always goes to stderr.
 */
import {Listr, PRESET_TIMESTAMP, type ListrTask} from 'listr2'
import {redact} from '../errors.js'
import type {Reporter} from '../sync/ports.js'

export type RendererMode = 'live' | 'lines' | 'silent'

export function chooseRenderer(options: {json: boolean; isTTY: boolean; term?: string}): RendererMode {
  if (options.json) return 'silent'
  if (!options.isTTY || options.term === 'dumb') return 'lines'
  return 'live'
}

export interface TaskSpec<C> {
  title: string
  run: (context: C, reporter: Reporter) => Promise<string | void>
}

/** Runs tasks one after the other; a task's returned string becomes its final title suffix. */
export async function runTasks<C>(tasks: TaskSpec<C>[], context: C, mode: RendererMode, warn: (message: string) => void): Promise<C> {
  const listrTasks: ListrTask<C>[] = tasks.map((spec) => ({
    title: spec.title,
    task: async (ctx, task) => {
      let lastLine = 0
      const reporter: Reporter = {
        progress(label, done, total) {
          const now = Date.now()
          // redraws are cheap on a terminal; in cron logs one line every few seconds is plenty
          if (mode === 'lines' && now - lastLine < 5000 && (total === undefined || done < total)) return
          lastLine = now
          task.output = redact(total === undefined ? `${label}: ${done}` : `${label}: ${done}/${total}`)
        },
        info(message) {
          task.output = redact(message)
        },
        warn(message) {
          warn(message)
        },
      }
      const suffix = await spec.run(ctx, reporter)
      if (suffix) task.title = `${spec.title}: ${redact(suffix)}`
    },
  }))
  const lines = {timestamp: PRESET_TIMESTAMP, logTitleChange: true}
  const list = new Listr<C, 'default', 'verbose'>(listrTasks, {
    concurrent: false,
    exitOnError: true,
    registerSignalListeners: false,
    renderer: mode === 'silent' ? 'silent' : mode === 'live' ? 'default' : 'verbose',
    fallbackRenderer: 'verbose',
    rendererOptions: mode === 'live' ? {outputBar: 1, persistentOutput: false, collapseErrors: false} : lines,
    fallbackRendererOptions: lines,
  } as never)
  return list.run(context)
}
