/**
 * Errors a user can act on. Each carries a stable code, an exit code (README "Exit codes") and a
 * suggestion naming the next command. Anything that is not a CbhsError is a bug (exit 1).
 */

export const EXIT = {
  OK: 0,
  BUG: 1,
  USAGE: 2,
  CONFIG: 3,
  UNAVAILABLE: 4,
  PARTIAL: 5,
} as const
export type ExitCode = (typeof EXIT)[keyof typeof EXIT]

export class CbhsError extends Error {
  readonly code: string
  readonly exitCode: ExitCode
  readonly suggestion?: string
  readonly data?: Record<string, unknown>

  constructor(
    code: string,
    message: string,
    options: {exitCode: ExitCode; suggestion?: string; data?: Record<string, unknown>; cause?: unknown},
  ) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.name = new.target.name
    this.code = code
    this.exitCode = options.exitCode
    this.suggestion = options.suggestion
    this.data = options.data
  }
}

/** Bad or missing configuration, a coreBOS database that is not set up, an invalid map: exit 3. */
export class ConfigError extends CbhsError {
  constructor(code: string, message: string, options: {suggestion?: string; data?: Record<string, unknown>; cause?: unknown} = {}) {
    super(code, message, {...options, exitCode: EXIT.CONFIG})
  }
}

/** A map that does not validate: exit 3. */
export class MapError extends ConfigError {}

/** The database or HubSpot cannot be reached, refuses our credentials, or the daily API limit is spent: exit 4. */
export class UnavailableError extends CbhsError {
  constructor(code: string, message: string, options: {suggestion?: string; data?: Record<string, unknown>; cause?: unknown} = {}) {
    super(code, message, {...options, exitCode: EXIT.UNAVAILABLE})
  }
}

export class DatabaseUnavailableError extends UnavailableError {}
export class HubSpotUnavailableError extends UnavailableError {}

/** Flag combinations that make no sense: exit 2. */
export class UsageError extends CbhsError {
  constructor(message: string, suggestion?: string) {
    super('USAGE', message, {exitCode: EXIT.USAGE, suggestion})
  }
}

// redaction lives in one module; re-exported here because every error path needs it
export {redact, registerSecret} from './redaction.js'
