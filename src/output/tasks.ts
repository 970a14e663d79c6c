/**
 * The one place that picks how progress is drawn: live listr2 tasks on a terminal, one timestamped
 * line per step without one (cron logs), nothing under --json. Progress always goes to stderr, so
 * stdout carries the result alone, whatever it is piped to.
 */
import {Listr, ListrLogger, ProcessOutput, type ListrTask} from 'listr2'
import {redact} from '../errors.js'
import type {Reporter} from '../sync/ports.js'
import {formatDuration, formatProgress, progressMeter} from './progress.js'

export type RendererMode = 'live' | 'lines' | 'silent'

export function chooseRenderer(options: {json: boolean; isTTY: boolean; term?: string}): RendererMode {
  if (options.json) return 'silent'
  if (!options.isTTY || options.term === 'dumb') return 'lines'
  return 'live'
}

/**
 * What a task may hand back besides its summary: how many records it handled and how many of them
 * failed, for the failed-records marker (a module with failures must not look like a clean ✔).
 */
export interface TaskOutcome {
  summary: string
  processed?: number
  failed?: number
  /** a dry run: the failures are predicted, nothing was sent */
  predicted?: boolean
}

export interface TaskSpec<C> {
  title: string
  run: (context: C, reporter: Reporter) => Promise<string | TaskOutcome | void>
}

/** ' — ✖ 69 of 300 failed (23 %)' when records failed ('would fail' in a dry run), else ''. */
export function failedMarker(outcome: TaskOutcome): string {
  if (!outcome.failed) return ''
  const pct = outcome.processed ? ` (${Math.round((outcome.failed / outcome.processed) * 100)} %)` : ''
  return ` — ✖ ${outcome.failed}${outcome.processed ? ` of ${outcome.processed}` : ''} ${outcome.predicted ? 'would fail' : 'failed'}${pct}`
}

function asOutcome(value: string | TaskOutcome | void): TaskOutcome | null {
  if (!value) return null
  return typeof value === 'string' ? {summary: value} : value
}

/** `2026-12-02T01:02:03Z` — UTC, second precision: cron logs from several hosts line up. */
export function stamp(nowMs: number): string {
  return new Date(nowMs).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/** How often a long step writes a progress line into a cron log. */
const LINE_PROGRESS_EVERY_MS = 10_000

/** Runs tasks one after the other; a task's returned summary becomes its final title suffix. */
export async function runTasks<C>(tasks: TaskSpec<C>[], context: C, mode: RendererMode, warn: (message: string) => void): Promise<C> {
  if (mode !== 'live') return runPlain(tasks, context, mode, warn)
  const logger = new ListrLogger({processOutput: new ProcessOutput(process.stderr, process.stderr)})
  const listrTasks: ListrTask<C>[] = tasks.map((spec) => ({
    title: spec.title,
    task: async (ctx, task) => {
      const meter = progressMeter(Date.now)
      const reporter: Reporter = {
        progress(label, done, total) {
          task.output = redact(formatProgress(label, meter(done, total)))
        },
        info(message) {
          task.output = redact(message)
        },
        warn,
      }
      const outcome = asOutcome(await spec.run(ctx, reporter))
      if (outcome) task.title = `${spec.title}: ${redact(outcome.summary)}${failedMarker(outcome)}`
    },
  }))
  const list = new Listr<C, 'default', 'simple'>(listrTasks, {
    concurrent: false,
    exitOnError: true,
    registerSignalListeners: false,
    renderer: 'default',
    // listr2 would fall back to line output whenever stdout is no terminal (`cbhs push > plan.txt`);
    // progress is drawn on stderr, so stderr being a terminal is what counts, and chooseRenderer judged it
    fallbackRendererCondition: false,
    rendererOptions: {outputBar: 1, persistentOutput: false, collapseErrors: false, logger},
  } as never)
  return list.run(context)
}

/**
 * Without a terminal: one timestamped line per finished step (cron logs are read later, by grep),
 * a progress line every few seconds only for a long step, nothing at all when silent.
 */
async function runPlain<C>(tasks: TaskSpec<C>[], context: C, mode: RendererMode, warn: (message: string) => void): Promise<C> {
  const line = (text: string) => {
    if (mode === 'lines') process.stderr.write(`${stamp(Date.now())} ${redact(text)}\n`)
  }
  for (const spec of tasks) {
    const started = Date.now()
    const meter = progressMeter(Date.now)
    let lastLine = started
    const reporter: Reporter = {
      progress(_label, done, total) {
        const progress = meter(done, total)
        const now = Date.now()
        if (now - lastLine < LINE_PROGRESS_EVERY_MS) return
        lastLine = now
        // the step's title names what is counted: 'push Contacts: 1,200/10,000 (12 %), 410/s, ETA 21 s'
        line(formatProgress(spec.title, progress))
      },
      info(message) {
        const now = Date.now()
        if (now - lastLine < LINE_PROGRESS_EVERY_MS) return
        lastLine = now
        line(`${spec.title}: ${message}`)
      },
      warn,
    }
    try {
      const outcome = asOutcome(await spec.run(context, reporter))
      line(`${spec.title}${outcome ? `: ${outcome.summary}${failedMarker(outcome)}` : ''} (${formatDuration(Date.now() - started)})`)
    } catch (error) {
      line(`${spec.title}: stopped after ${formatDuration(Date.now() - started)}`)
      throw error
    }
  }
  return context
}
