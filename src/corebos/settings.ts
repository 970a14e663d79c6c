/**
 * Settings cbhs takes from an existing coreBOS install:
 * - the legacy HubSpot integration's cb_settings keys (reference corebos.md §4), so users switching
 *   over keep their portal id and deal relation; secrets there are only reported as present or not;
 * - the database settings and timezone of the install's config.inc.php, read without PHP by a small
 *   tokenizer that understands PHP strings and comments and evaluates only literal assignments.
 */
import {readFileSync} from 'node:fs'
import {ConfigError, registerSecret} from '../errors.js'
import type {Pool} from './connection.js'
import {PhpConfigRunner, phpString, type PhpConfigState} from './php-config.js'

// ---------------------------------------------------------------------------------------------
// cb_settings
// ---------------------------------------------------------------------------------------------

export interface LegacySettings {
  /** false when the database has no cb_settings table or no hubspot_* key at all */
  found: boolean
  relateDealWith?: 'Contacts' | 'Accounts'
  /** hubspot_clientid: the portal (hub) id, used for app.hubspot.com record URLs */
  portalId?: string
  pollFrequencySeconds?: number
  /** hubspot_secret is set (the legacy integration used it as hapikey without OAuth tokens) */
  hasLegacyApiKey: boolean
  /** hubspot_isactive: true for '1', false for '0', absent otherwise */
  isActive?: boolean
  /** an OAuth access or refresh token is stored */
  hasOAuthTokens: boolean
  /** when the legacy poller last started (hubspot_polllastsync), ISO; a recent one means it still runs */
  lastPollAt?: string
  /** hubspot_pollsyncing: a crmid or 'creating'; a leftover value blocks the legacy outbound capture */
  pollSyncing?: string
  /** values that were present but not understood */
  warnings: string[]
}

/**
 * Reads the legacy integration's settings. Keys are matched case-insensitively (the column's
 * collation is, and installs differ in case). Secret values are never returned.
 */
export async function readLegacySettings(pool: Pool): Promise<LegacySettings> {
  const out: LegacySettings = {found: false, hasLegacyApiKey: false, hasOAuthTokens: false, warnings: []}
  let rows: Array<{setting_key: string; setting_value: string | null}>
  try {
    const [result] = await pool.query("SELECT setting_key, setting_value FROM cb_settings WHERE setting_key LIKE 'hubspot\\_%'")
    rows = result as typeof rows
  } catch (error) {
    if ((error as {code?: string}).code === 'ER_NO_SUCH_TABLE') return out
    throw error
  }
  const values = new Map<string, string>()
  for (const row of rows) values.set(row.setting_key.toLowerCase(), (row.setting_value ?? '').trim())
  out.found = values.size > 0
  const get = (key: string) => values.get(key.toLowerCase()) ?? ''

  const relate = get('hubspot_relateDealWith')
  if (/^contacts$/i.test(relate)) out.relateDealWith = 'Contacts'
  else if (/^accounts$/i.test(relate)) out.relateDealWith = 'Accounts'
  else if (relate !== '') out.warnings.push(`cb_settings hubspot_relateDealWith has an unknown value '${relate}'; expected Contacts or Accounts.`)

  const portal = get('hubspot_clientid')
  if (/^\d+$/.test(portal)) out.portalId = portal
  else if (portal !== '') out.warnings.push(`cb_settings hubspot_clientid '${portal}' is not a numeric portal id; ignored.`)

  const poll = get('hubspot_pollfrequency')
  if (/^\d+$/.test(poll) && Number(poll) > 0) out.pollFrequencySeconds = Number(poll)
  else if (poll !== '') out.warnings.push(`cb_settings hubspot_pollfrequency '${poll}' is not a number of seconds; ignored.`)

  const active = get('hubspot_isactive')
  if (active === '1') out.isActive = true
  else if (active === '0') out.isActive = false

  out.hasLegacyApiKey = get('hubspot_secret') !== ''
  out.hasOAuthTokens = get('hubspot_accessToken') !== '' || get('hubspot_refreshToken') !== ''

  const lastPoll = get('hubspot_polllastsync')
  if (/^\d+$/.test(lastPoll) && Number(lastPoll) > 0) out.lastPollAt = new Date(Number(lastPoll) * 1000).toISOString()

  const syncing = get('hubspot_pollsyncing')
  if (syncing !== '') out.pollSyncing = syncing
  return out
}

// ---------------------------------------------------------------------------------------------
// config.inc.php
// ---------------------------------------------------------------------------------------------

export interface CoreBosPhpConfig {
  db: {
    host: string
    port: number
    user: string
    password: string
    name: string
    /** when db_server is 'localhost:/path/to/mysqld.sock' */
    socketPath?: string
  }
  /** $default_timezone, absent when the file does not set it (PHP then uses php.ini's) */
  timezone?: string
}

export type Token =
  | {type: 'string'; value: string; line: number; literal: boolean}
  | {type: 'number'; value: string; line: number}
  | {type: 'var'; value: string; line: number}
  | {type: 'ident'; value: string; line: number}
  | {type: 'punct'; value: string; line: number}

const OPERATORS = [
  '===', '!==', '**=', '??=', '<=>', '...', '<<=', '>>=',
  '==', '!=', '<>', '<=', '>=', '=>', '->', '::', '++', '--', '+=', '-=', '*=', '/=', '.=', '%=', '&=', '|=', '^=',
  '&&', '||', '??', '<<', '>>', '**',
]

class PhpSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message)
  }
}

/** PHP tokens of the code parts of a file (inline HTML outside <?php … ?> is skipped). */
export function tokenizePhp(source: string): Token[] {
  const tokens: Token[] = []
  let i = 0
  let line = 1
  const n = source.length
  const advance = (count: number) => {
    for (let k = 0; k < count && i < n; k++, i++) if (source[i] === '\n') line++
  }
  while (i < n) {
    // HTML mode: up to the next open tag
    const open = source.indexOf('<?', i)
    if (open < 0) break
    advance(open - i)
    if (source.slice(i, i + 5).toLowerCase() === '<?php') advance(5)
    else advance(source[i + 2] === '=' ? 3 : 2)
    // PHP mode
    code: while (i < n) {
      const c = source[i]
      if (c === '\n' || c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
        advance(1)
        continue
      }
      if (source.startsWith('?>', i)) {
        // a closing tag ends the statement like a semicolon
        tokens.push({type: 'punct', value: ';', line})
        advance(2)
        break code
      }
      if (c === '#' || source.startsWith('//', i)) {
        while (i < n && source[i] !== '\n' && !source.startsWith('?>', i)) advance(1)
        continue
      }
      if (source.startsWith('/*', i)) {
        const end = source.indexOf('*/', i + 2)
        if (end < 0) throw new PhpSyntaxError('unterminated /* comment', line)
        advance(end + 2 - i)
        continue
      }
      if (c === "'") {
        const start = line
        advance(1)
        let value = ''
        for (;;) {
          if (i >= n) throw new PhpSyntaxError("unterminated single-quoted string", start)
          const ch = source[i]
          if (ch === '\\' && (source[i + 1] === "'" || source[i + 1] === '\\')) {
            value += source[i + 1]
            advance(2)
          } else if (ch === "'") {
            advance(1)
            break
          } else {
            value += ch
            advance(1)
          }
        }
        tokens.push({type: 'string', value, line: start, literal: true})
        continue
      }
      if (c === '"') {
        const start = line
        advance(1)
        const {value, literal} = readDoubleQuoted(source, i, '"', start)
        advance(value.consumed)
        tokens.push({type: 'string', value: value.text, line: start, literal})
        continue
      }
      if (source.startsWith('<<<', i)) {
        const start = line
        const m = /^<<<[ \t]*(["']?)([A-Za-z_][A-Za-z0-9_]*)\1\r?\n/.exec(source.slice(i))
        if (!m) throw new PhpSyntaxError('malformed heredoc', start)
        advance(m[0].length)
        const endRe = new RegExp(`^[ \\t]*${m[2]}\\b`, 'm')
        const rest = source.slice(i)
        const end = endRe.exec(rest)
        if (!end) throw new PhpSyntaxError(`unterminated heredoc ${m[2]}`, start)
        let body = rest.slice(0, end.index).replace(/\r?\n$/, '')
        const indent = /^[ \t]*/.exec(end[0])![0]
        if (indent) body = body.split('\n').map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l)).join('\n')
        advance(end.index + end[0].length)
        if (m[1] === "'") {
          tokens.push({type: 'string', value: body, line: start, literal: true})
        } else {
          const parsed = readDoubleQuoted(body + '\u0000', 0, '\u0000', start)
          tokens.push({type: 'string', value: parsed.value.text, line: start, literal: parsed.literal})
        }
        continue
      }
      if (c === '$' && /[A-Za-z_\x80-\uffff]/.test(source[i + 1] ?? '')) {
        const m = /^\$[A-Za-z_\x80-\uffff][A-Za-z0-9_\x80-\uffff]*/.exec(source.slice(i, i + 256))!
        tokens.push({type: 'var', value: m[0], line})
        advance(m[0].length)
        continue
      }
      const num = /^(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|(?:\d[\d_]*)?\.?\d[\d_]*(?:[eE][+-]?\d+)?)/.exec(source.slice(i, i + 64))
      if (/[0-9]/.test(c) && num) {
        tokens.push({type: 'number', value: num[0].replace(/_/g, ''), line})
        advance(num[0].length)
        continue
      }
      if (/[A-Za-z_\\\x80-\uffff]/.test(c)) {
        const m = /^[A-Za-z_\\\x80-\uffff][A-Za-z0-9_\\\x80-\uffff]*/.exec(source.slice(i, i + 256))!
        tokens.push({type: 'ident', value: m[0], line})
        advance(m[0].length)
        continue
      }
      const op = OPERATORS.find((o) => source.startsWith(o, i))
      tokens.push({type: 'punct', value: op ?? c, line})
      advance(op ? op.length : 1)
    }
  }
  return tokens
}

/**
 * A double-quoted (or heredoc) string body from `start` to the closing `quote`. `literal` is false
 * when it interpolates variables, which cbhs cannot evaluate.
 */
function readDoubleQuoted(source: string, start: number, quote: string, line: number): {value: {text: string; consumed: number}; literal: boolean} {
  let i = start
  let text = ''
  let literal = true
  const simple: Record<string, string> = {n: '\n', t: '\t', r: '\r', v: '\v', e: '\x1b', f: '\f', '\\': '\\', $: '$', '"': '"'}
  for (;;) {
    if (i >= source.length) throw new PhpSyntaxError('unterminated double-quoted string', line)
    const ch = source[i]
    if (ch === quote) {
      i++
      break
    }
    if (ch === '\\') {
      const next = source[i + 1] ?? ''
      if (next in simple) {
        text += simple[next]
        i += 2
        continue
      }
      const oct = /^[0-7]{1,3}/.exec(source.slice(i + 1, i + 4))
      if (oct) {
        text += String.fromCharCode(parseInt(oct[0], 8) & 0xff)
        i += 1 + oct[0].length
        continue
      }
      const hex = /^x([0-9a-fA-F]{1,2})/.exec(source.slice(i + 1, i + 4))
      if (hex) {
        text += String.fromCharCode(parseInt(hex[1], 16))
        i += 1 + hex[0].length
        continue
      }
      const uni = /^u\{([0-9a-fA-F]+)\}/.exec(source.slice(i + 1, i + 12))
      if (uni) {
        text += String.fromCodePoint(parseInt(uni[1], 16))
        i += 1 + uni[0].length
        continue
      }
      // unknown escapes stay as written, backslash included
      text += ch
      i++
      continue
    }
    if (ch === '$' && /[A-Za-z_\x80-\uffff]/.test(source[i + 1] ?? '')) literal = false
    if (ch === '{' && source[i + 1] === '$') literal = false
    text += ch
    i++
  }
  return {value: {text, consumed: i - start}, literal}
}

const DB_KEYS = ['db_server', 'db_port', 'db_username', 'db_password', 'db_name'] as const

/**
 * Reads `$dbconfig['db_server' | 'db_port' | 'db_username' | 'db_password' | 'db_name']` and the time
 * zone from a coreBOS config.inc.php, running the forms its installer template uses (php-config.ts)
 * with `env` as getenv() sees it. Errors are ConfigErrors naming the file and line; the password
 * never appears in them.
 */
export function readCoreBosConfigPhp(path: string, env: Record<string, string | undefined> = process.env): CoreBosPhpConfig {
  let source: string
  try {
    source = readFileSync(path, 'utf8')
  } catch (error) {
    const code = (error as {code?: string}).code
    throw new ConfigError('COREBOS_CONFIG_UNREADABLE', `Cannot read the coreBOS configuration ${path} (${code ?? 'error'}).`, {
      suggestion: 'Give --corebos-dir the coreBOS install folder (the one holding config.inc.php), readable by this user.',
      cause: error,
    })
  }
  return parseCoreBosConfigPhp(source, path, env)
}

/** The parser behind readCoreBosConfigPhp; `path` names the file in errors and locates config-dev.inc.php. */
export function parseCoreBosConfigPhp(source: string, path: string, env: Record<string, string | undefined> = process.env): CoreBosPhpConfig {
  const invalidIn = (file: string, line: number, message: string) =>
    new ConfigError('COREBOS_CONFIG_INVALID', `${file}:${line}: ${message}`, {
      suggestion: 'Fix config.inc.php, or give the database settings with CBHS_DB_* variables instead of --corebos-dir.',
    })
  const invalid = (line: number, message: string) => invalidIn(path, line, message)
  const tokenize = (text: string, file: string): Token[] => {
    try {
      return tokenizePhp(text)
    } catch (error) {
      if (error instanceof PhpSyntaxError) throw invalidIn(file, error.line, error.message)
      throw error
    }
  }
  const state: PhpConfigState = {vars: new Map(), dbconfig: new Map()}
  new PhpConfigRunner(tokenize(source, path), path, state, {env, tokenize}).run()
  const db = state.dbconfig
  // PHP's zone is what date_default_timezone_set() set; a config that never calls it still names
  // the install's zone in $default_timezone, which coreBOS passes to it at bootstrap
  const timezone = state.timezoneSet ?? state.vars.get('$default_timezone')

  const value = (key: (typeof DB_KEYS)[number], required: boolean): string | undefined => {
    const rhs = db.get(key)
    if (!rhs) {
      if (required) throw invalid(1, `$dbconfig['${key}'] is not set.`)
      return undefined
    }
    if (!rhs.ok) throw invalidIn(rhs.file, rhs.line, `$dbconfig['${key}'] ${rhs.reason}.`)
    return phpString(rhs.value)
  }
  let server = (value('db_server', true) ?? '').trim()
  const portText = (value('db_port', false) ?? '').trim()
  const user = value('db_username', true) ?? ''
  const password = value('db_password', false) ?? ''
  const name = (value('db_name', true) ?? '').trim()
  registerSecret(password)

  for (const [key, v] of [['db_server', server], ['db_username', user], ['db_name', name]] as const) {
    if (/^_DB[A-Z_]*_$/.test(v)) throw invalidIn(db.get(key)!.file, db.get(key)!.line, `$dbconfig['${key}'] still holds the installer placeholder ${v}; the install was never configured.`)
  }
  if (server === '') throw invalidIn(db.get('db_server')!.file, db.get('db_server')!.line, "$dbconfig['db_server'] is empty.")
  if (name === '') throw invalidIn(db.get('db_name')!.file, db.get('db_name')!.line, "$dbconfig['db_name'] is empty.")

  let port = 3306
  let socketPath: string | undefined
  const portMatch = /^:?(\d+)$/.exec(portText)
  if (portMatch) port = Number(portMatch[1])
  else if (portText !== '' && portText !== ':') throw invalidIn(db.get('db_port')!.file, db.get('db_port')!.line, `$dbconfig['db_port'] '${portText}' is not a port number.`)
  // coreBOS joins server and port into one host string, so 'host:3307' and 'localhost:/run/mysqld.sock' occur
  const hostPort = /^(.*):(\d+)$/.exec(server)
  const hostSocket = /^(.*):(\/.+)$/.exec(server)
  if (hostSocket) {
    server = hostSocket[1] || 'localhost'
    socketPath = hostSocket[2]
  } else if (hostPort && !/:.*:/.test(server)) {
    server = hostPort[1]
    if (!portMatch) port = Number(hostPort[2])
  }
  if (port < 1 || port > 65535) throw invalidIn(db.get('db_port')?.file ?? path, db.get('db_port')?.line ?? 1, `port ${port} is out of range.`)

  let tz: string | undefined
  if (timezone) {
    if (!timezone.ok) throw invalidIn(timezone.file, timezone.line, `$default_timezone ${timezone.reason}.`)
    tz = phpString(timezone.value).trim()
    if (tz === '') {
      tz = undefined
    } else {
      try {
        new Intl.DateTimeFormat('en-US', {timeZone: tz})
      } catch {
        throw invalidIn(timezone.file, timezone.line, `$default_timezone '${tz}' is not a known IANA time zone.`)
      }
    }
  }
  return {db: {host: server, port, user, password, name, ...(socketPath ? {socketPath} : {})}, ...(tz ? {timezone: tz} : {})}
}
