/**
 * The base of every cbhs command: shared flags, the configuration, the --json envelope, the
 * renderer choice, and one error handler that turns errors into the documented exit codes.
 */
import {fileURLToPath} from 'node:url'
import {Command, Errors, type Interfaces} from '@oclif/core'
import {loadConfig, type CbhsConfig} from './config.js'
import {readCoreBosConfigPhp} from './corebos/settings.js'
import {CbhsError, EXIT, redact} from './errors.js'
import {commonFlags} from './flags.js'
import {outputWidth, wrapText} from './output/table.js'
import {chooseRenderer, stamp, type RendererMode} from './output/tasks.js'

export type CommandFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof CbhsCommand)['baseFlags'] & T['flags']>
export type CommandArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>

export const PACKAGE_ROOT = fileURLToPath(new URL('../', import.meta.url))

export interface JsonEnvelope<R> {
  status: number
  result?: R
  error?: {name: string; code: string; message: string; suggestion?: string; data?: Record<string, unknown>}
  warnings: string[]
}

export abstract class CbhsCommand<T extends typeof Command> extends Command {
  static override baseFlags = commonFlags
  static override enableJsonFlag = true

  protected flags!: CommandFlags<T>
  protected args!: CommandArgs<T>
  protected readonly warnings: string[] = []

  override async init(): Promise<void> {
    await super.init()
    const {args, flags} = await this.parse({
      args: this.ctor.args,
      baseFlags: (super.ctor as typeof CbhsCommand).baseFlags,
      enableJsonFlag: this.ctor.enableJsonFlag,
      flags: this.ctor.flags,
      strict: this.ctor.strict,
    })
    this.flags = flags as CommandFlags<T>
    this.args = args as CommandArgs<T>
  }

  /** A warning: stderr for people, `warnings[]` in the JSON envelope. */
  protected note(message: string): void {
    const text = redact(message)
    this.warnings.push(text)
    // at a terminal, as wide as it is (a warning names records and values, and runs long); in a log,
    // one line per warning, so that it can be grepped
    const line = `Warning: ${text}`
    if (!this.jsonEnabled()) process.stderr.write(`${process.stderr.isTTY ? wrapText(line, outputWidth(process.stderr)) : line}\n`)
  }

  /** Diagnostics only shown with --verbose; always stderr. */
  protected debugLine(message: string): void {
    const flags = this.flags as {verbose?: boolean}
    if (flags.verbose && !this.jsonEnabled()) process.stderr.write(`${new Date().toISOString()} ${redact(message)}\n`)
  }

  /** A log line on stderr, timestamped without a terminal (cron logs); nothing under --json. */
  protected logLine(message: string): void {
    if (this.jsonEnabled()) return
    // a cron log keeps one line per event for grep; a terminal gets it wrapped to its width
    const text = this.renderer === 'lines' ? `${stamp(Date.now())} ${redact(message)}` : wrapText(redact(message), outputWidth(process.stderr))
    process.stderr.write(`${text}\n`)
  }

  /**
   * The result for people, on stdout (silent under --json, where the envelope carries it). Prose is
   * wrapped to a terminal's width; `wrap: false` for lines that must stay whole (compiler-style
   * issues, a command line to copy), and nothing is wrapped in a pipe or file, where grep reads lines.
   */
  protected print(text: string, options: {wrap?: boolean} = {}): void {
    if (this.jsonEnabled()) return
    const shown = options.wrap !== false && process.stdout.isTTY ? wrapText(redact(text)) : redact(text)
    process.stdout.write(shown + (text.endsWith('\n') ? '' : '\n'))
  }

  protected loadConfig(): CbhsConfig {
    const flags = this.flags as Record<string, unknown>
    return loadConfig({
      flags: {
        config: flags.config as string | undefined,
        'corebos-dir': flags['corebos-dir'] as string | undefined,
        'hubspot-url': flags['hubspot-url'] as string | undefined,
        'conflict-policy': flags['conflict-policy'] as string | undefined,
        'maps-dir': flags['maps-dir'] as string | undefined,
      },
      packageRoot: PACKAGE_ROOT,
      readCoreBosConfig: (file) => {
        const php = readCoreBosConfigPhp(file)
        return {
          db: {host: php.db.host, port: php.db.port, user: php.db.user, password: php.db.password, database: php.db.name},
          timezone: php.timezone,
        }
      },
      warn: (message) => this.note(message),
    })
  }

  protected get renderer(): RendererMode {
    return chooseRenderer({json: this.jsonEnabled(), isTTY: Boolean(process.stderr.isTTY), term: process.env.TERM})
  }

  protected override logJson(json: unknown): void {
    process.stdout.write(redact(JSON.stringify(json, null, 2)) + '\n')
  }

  protected override toSuccessJson(result: unknown): JsonEnvelope<unknown> {
    return {status: Number(process.exitCode ?? 0), result, warnings: this.warnings}
  }

  protected override toErrorJson(err: unknown): JsonEnvelope<never> {
    const {exitCode, error} = describeError(err)
    return {status: exitCode, error, warnings: this.warnings}
  }

  protected override async catch(err: Error & {exitCode?: number}): Promise<void> {
    // this.exit() and oclif's own exits carry their code already
    if (err instanceof Errors.ExitError) throw err
    const {exitCode, error} = describeError(err)
    process.exitCode = exitCode
    if (this.jsonEnabled()) {
      this.logJson(this.toErrorJson(err))
      return
    }
    let text = `Error: ${error.message}\n`
    if (error.suggestion) text += `Try: ${error.suggestion}\n`
    if (exitCode === EXIT.BUG) {
      text += 'This is a bug in cbhs. Run again with DEBUG=cbhs to see the stack trace, and report it.\n'
      if (process.env.DEBUG) text += `${err.stack}\n`
    }
    process.stderr.write(redact(text))
  }
}

export function describeError(err: unknown): {exitCode: number; error: NonNullable<JsonEnvelope<never>['error']>} {
  if (err instanceof CbhsError) {
    return {
      exitCode: err.exitCode,
      error: {name: err.name, code: err.code, message: redact(err.message), suggestion: err.suggestion && redact(err.suggestion), data: err.data},
    }
  }
  const oclifExit = (err as {oclif?: {exit?: number}})?.oclif?.exit
  if (oclifExit !== undefined && oclifExit !== 0) {
    // flag and argument parsing errors
    return {exitCode: EXIT.USAGE, error: {name: 'UsageError', code: 'USAGE', message: redact((err as Error).message), suggestion: 'See `cbhs --help`.'}}
  }
  const message = err instanceof Error ? err.message : String(err)
  return {exitCode: EXIT.BUG, error: {name: 'BugError', code: 'BUG', message: redact(message)}}
}
