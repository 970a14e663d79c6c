/**
 * One configuration, resolved once per command from layers in this order of precedence:
 * flags > environment (CBHS_*, HUBSPOT_ACCESS_TOKEN, DATABASE_URL) > config file (JSON) >
 * the coreBOS install's config.inc.php (--corebos-dir) > the legacy integration's cb_settings > defaults.
 *
 * The cb_settings layer needs the database, so it is applied afterwards with `applyLegacySettings`,
 * and only to keys that no higher layer set.
 */
import {readFileSync, statSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {ConfigError, registerSecret} from './errors.js'
import type {ConflictPolicy, CrmModule} from './sync/types.js'
import {CRM_MODULES} from './sync/types.js'

export type OptInMode = 'explicit' | 'default-on'
export type HubSpotTier = 'starter' | 'professional' | 'enterprise' | 'addon' | 'unlimited'

export interface CbhsConfig {
  db: {host: string; port: number; user: string; password: string; database: string}
  /** the install's $default_timezone: naive coreBOS DATETIMEs are in this zone */
  timezone: string
  hubspot: {
    baseUrl: string
    /** HubSpot's date-versioned API release the gateway calls, e.g. '2026-03' */
    apiVersion: string
    accessToken: string | undefined
    tier: HubSpotTier
    uniqueProperty: string
    propertyGroup: string
    searchPerSecond: number
    requestTimeoutMs: number
    portalId: string | undefined
  }
  sync: {
    optIn: Record<CrmModule, OptInMode>
    conflictPolicy: ConflictPolicy
    relateDealWith: 'Contacts' | 'Accounts'
    /** HubSpot lifecycle stages that land in Leads when a contact is new to coreBOS */
    leadLifecycleStages: string[]
    /** push re-reads this much before its watermark: coreBOS sets modifiedtime before its transaction commits */
    pushLookbackSeconds: number
    /** pull never reads closer to "now" than this, and re-reads this much before its watermark: search index lag */
    pullLagSeconds: number
    pageSize: number
    /** coreBOS user that owns records created by pull and is recorded as modifier */
    userId: number
    maxAttempts: number
    dealPipeline: string
    stageMapping: {toHubSpot?: Record<string, string>; toCoreBos?: Record<string, string>}
    /** hs_analytics_source → leadsource, over the default correspondence */
    leadSourceMapping: {toCoreBos?: Record<string, string>}
    /** sync comments and calendar activities with HubSpot's notes, calls, meetings, tasks and e-mails (off by default) */
    activities: boolean
  }
  maps: {source: 'files' | 'database'; dir: string}
  health: {cronIntervalMinutes: number; staleAfterIntervals: number; maxFailures: number; lockStaleMinutes: number}
  /** where each value came from, for `status` and error messages (never the value of a secret) */
  origins: Record<string, string>
}

export interface ConfigFlags {
  config?: string
  'corebos-dir'?: string
  'hubspot-url'?: string
  'conflict-policy'?: string
  'maps-dir'?: string
}

type Layer = {name: string; values: Record<string, unknown>}

const DEFAULTS: Record<string, unknown> = {
  'db.host': '127.0.0.1',
  'db.port': 3306,
  'db.user': 'root',
  'db.password': '',
  'db.database': 'corebos',
  timezone: 'UTC',
  'hubspot.baseUrl': 'https://api.hubapi.com',
  'hubspot.apiVersion': '2026-03',
  'hubspot.tier': 'starter',
  'hubspot.uniqueProperty': 'corebos_crmid',
  'hubspot.propertyGroup': 'corebos',
  'hubspot.searchPerSecond': 4,
  'hubspot.requestTimeoutMs': 30_000,
  'sync.optIn': 'explicit',
  'sync.conflictPolicy': 'newest',
  'sync.relateDealWith': 'Contacts',
  'sync.leadLifecycleStages': ['subscriber', 'lead', 'marketingqualifiedlead'],
  'sync.pushLookbackSeconds': 120,
  'sync.pullLagSeconds': 60,
  'sync.pageSize': 2000,
  'sync.userId': 1,
  'sync.maxAttempts': 10,
  'sync.dealPipeline': 'default',
  'sync.stageMapping': {},
  'sync.leadSourceMapping': {},
  'sync.activities': false,
  'maps.source': 'files',
  'health.cronIntervalMinutes': 6,
  'health.staleAfterIntervals': 3,
  'health.maxFailures': 0,
  'health.lockStaleMinutes': 60,
}

/** Environment variables and the config keys they set. */
const ENV_KEYS: Record<string, string> = {
  CBHS_DB_HOST: 'db.host',
  CBHS_DB_PORT: 'db.port',
  CBHS_DB_USER: 'db.user',
  CBHS_DB_PASSWORD: 'db.password',
  CBHS_DB_NAME: 'db.database',
  CBHS_TIMEZONE: 'timezone',
  HUBSPOT_ACCESS_TOKEN: 'hubspot.accessToken',
  CBHS_HUBSPOT_URL: 'hubspot.baseUrl',
  CBHS_HUBSPOT_TIER: 'hubspot.tier',
  CBHS_UNIQUE_PROPERTY: 'hubspot.uniqueProperty',
  CBHS_PORTAL_ID: 'hubspot.portalId',
  CBHS_OPT_IN: 'sync.optIn',
  CBHS_CONFLICT_POLICY: 'sync.conflictPolicy',
  CBHS_RELATE_DEAL_WITH: 'sync.relateDealWith',
  CBHS_MAPS_DIR: 'maps.dir',
  CBHS_MAPS_SOURCE: 'maps.source',
  CBHS_USER_ID: 'sync.userId',
  CBHS_ACTIVITIES: 'sync.activities',
}

const SECRET_KEYS = new Set(['db.password', 'hubspot.accessToken'])

/**
 * Every key a config file may hold (the schema): the defaults' keys plus those without a default.
 * A key not listed here is refused (exit 3) with the nearest one named: a typo must not be ignored.
 */
export const CONFIG_FILE_KEYS: readonly string[] = [
  ...Object.keys(DEFAULTS),
  'db.password',
  'hubspot.accessToken',
  'hubspot.accessTokenFile',
  'hubspot.portalId',
  'maps.dir',
].sort()

/** Variables cbhs reads besides ENV_KEYS; any other CBHS_* variable is probably a typo. */
const OTHER_ENV = ['CBHS_CONFIG', 'CBHS_COREBOS_DIR', 'CBHS_HUBSPOT_TOKEN_FILE', 'CBHS_DB_PASSWORD_FILE', 'CBHS_CONTENT_TYPE', 'CBHS_DAILY_LIMIT']
/** prefixes of variables used by cbhs's own test, demo and bench tooling */
const TOOLING_ENV = /^CBHS_(TEST|DEMO|CHAOS|BENCH)_/

export interface LoadConfigOptions {
  flags: ConfigFlags
  env?: NodeJS.ProcessEnv
  /** the package root, for the default maps directory */
  packageRoot: string
  /** reads a coreBOS config.inc.php; injected so this module stays free of the PHP parser's details */
  readCoreBosConfig?: (file: string) => {db: Partial<CbhsConfig['db']>; timezone?: string}
  warn?: (message: string) => void
}

export function loadConfig(options: LoadConfigOptions): CbhsConfig {
  const env = options.env ?? process.env
  const layers: Layer[] = []

  const flagValues: Record<string, unknown> = {}
  if (options.flags['hubspot-url']) flagValues['hubspot.baseUrl'] = options.flags['hubspot-url']
  if (options.flags['conflict-policy']) flagValues['sync.conflictPolicy'] = options.flags['conflict-policy']
  if (options.flags['maps-dir']) flagValues['maps.dir'] = resolve(options.flags['maps-dir'])
  layers.push({name: 'flag', values: flagValues})

  layers.push({name: 'env', values: envLayer(env)})
  warnUnknownEnv(env, options.warn)

  const configFile = options.flags.config ?? env.CBHS_CONFIG
  if (configFile) layers.push({name: `config file ${configFile}`, values: fileLayer(configFile, options.warn)})

  const corebosDir = options.flags['corebos-dir'] ?? env.CBHS_COREBOS_DIR
  if (corebosDir) {
    if (!options.readCoreBosConfig) throw new Error('readCoreBosConfig is required with --corebos-dir')
    const file = join(corebosDir, 'config.inc.php')
    const php = options.readCoreBosConfig(file)
    const values: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(php.db)) if (value !== undefined && value !== '') values[`db.${key}`] = value
    if (php.timezone) values.timezone = php.timezone
    layers.push({name: file, values})
  }

  layers.push({name: 'default', values: {...DEFAULTS, 'maps.dir': join(options.packageRoot, 'maps')}})
  return buildConfig(layers)
}

/** Fills keys no higher layer set from the legacy integration's cb_settings (read by the caller). */
export function applyLegacySettings(
  config: CbhsConfig,
  legacy: {relateDealWith?: 'Contacts' | 'Accounts'; portalId?: string},
): CbhsConfig {
  const next = structuredClone(config)
  if (legacy.relateDealWith && next.origins['sync.relateDealWith'] === 'default') {
    next.sync.relateDealWith = legacy.relateDealWith
    next.origins['sync.relateDealWith'] = 'cb_settings hubspot_relateDealWith'
  }
  if (legacy.portalId && !next.hubspot.portalId) {
    next.hubspot.portalId = legacy.portalId
    next.origins['hubspot.portalId'] = 'cb_settings hubspot_clientid'
  }
  return next
}

function warnUnknownEnv(env: NodeJS.ProcessEnv, warn?: (message: string) => void): void {
  const known = [...Object.keys(ENV_KEYS), ...OTHER_ENV]
  for (const name of Object.keys(env)) {
    if (!name.startsWith('CBHS_') || known.includes(name) || TOOLING_ENV.test(name)) continue
    const near = nearest(name, known)
    warn?.(`Environment variable ${name} is not one cbhs reads${near ? `; did you mean ${near}?` : ''} It is ignored.`)
  }
}

function envLayer(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const values: Record<string, unknown> = {}
  if (env.DATABASE_URL) Object.assign(values, parseDatabaseUrl(env.DATABASE_URL))
  for (const [name, key] of Object.entries(ENV_KEYS)) {
    const value = env[name]
    if (value !== undefined && value !== '') values[key] = value
  }
  const tokenFile = env.CBHS_HUBSPOT_TOKEN_FILE
  if (tokenFile && values['hubspot.accessToken'] === undefined) values['hubspot.accessToken'] = readSecretFile(tokenFile, 'CBHS_HUBSPOT_TOKEN_FILE')
  const passwordFile = env.CBHS_DB_PASSWORD_FILE
  if (passwordFile && values['db.password'] === undefined) values['db.password'] = readSecretFile(passwordFile, 'CBHS_DB_PASSWORD_FILE')
  return values
}

export function parseDatabaseUrl(url: string): Record<string, unknown> {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new ConfigError('BAD_DATABASE_URL', 'DATABASE_URL is not a URL (expected mysql://user:password@host:3306/database).')
  }
  if (!/^(mysql|mariadb):$/.test(parsed.protocol)) {
    throw new ConfigError('BAD_DATABASE_URL', `DATABASE_URL has scheme '${parsed.protocol}'; cbhs needs mysql:// or mariadb://.`)
  }
  const values: Record<string, unknown> = {'db.host': parsed.hostname}
  if (parsed.port) values['db.port'] = parsed.port
  if (parsed.username) values['db.user'] = decodeURIComponent(parsed.username)
  if (parsed.password) values['db.password'] = decodeURIComponent(parsed.password)
  const database = parsed.pathname.replace(/^\//, '')
  if (database) values['db.database'] = decodeURIComponent(database)
  return values
}

function readSecretFile(file: string, origin: string): string {
  try {
    return readFileSync(file, 'utf8').trim()
  } catch (error) {
    throw new ConfigError('SECRET_FILE_UNREADABLE', `Cannot read ${origin} file ${file}: ${(error as Error).message}`)
  }
}

/** Config file keys are the nested JSON form of the dotted keys (e.g. {"db": {"host": …}}). */
function fileLayer(file: string, warn?: (message: string) => void): Record<string, unknown> {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new ConfigError('CONFIG_UNREADABLE', `Cannot read config file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, {
      suggestion: 'Check the path given with --config or CBHS_CONFIG.',
    })
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    const message = (error as Error).message
    const position = /position (\d+)/.exec(message)
    const where = position ? ` at line ${lineOf(text, Number(position[1]))}` : ''
    throw new ConfigError('CONFIG_MALFORMED', `Config file ${file} is not valid JSON${where}: ${message}`, {
      suggestion: 'Fix the file, then run `cbhs status` to check the configuration.',
    })
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError('CONFIG_MALFORMED', `Config file ${file} must hold a JSON object.`)
  }
  const values = flatten(parsed as Record<string, unknown>)
  validateFileKeys(file, parsed as Record<string, unknown>, values)
  if (values['hubspot.accessToken'] !== undefined || values['db.password'] !== undefined) warnIfReadableByOthers(file, warn)
  if (typeof values['hubspot.accessTokenFile'] === 'string' && values['hubspot.accessToken'] === undefined) {
    values['hubspot.accessToken'] = readSecretFile(values['hubspot.accessTokenFile'] as string, `${file} hubspot.accessTokenFile`)
  }
  delete values['hubspot.accessTokenFile']
  return values
}

function validateFileKeys(file: string, parsed: Record<string, unknown>, values: Record<string, unknown>): void {
  const sections = new Set(CONFIG_FILE_KEYS.filter((k) => k.includes('.')).map((k) => k.split('.')[0]!))
  for (const [section, value] of Object.entries(parsed)) {
    if (sections.has(section) && (value === null || typeof value !== 'object' || Array.isArray(value))) {
      const keys = CONFIG_FILE_KEYS.filter((k) => k.startsWith(`${section}.`)).map((k) => k.slice(section.length + 1))
      throw new ConfigError('CONFIG_INVALID', `Config file ${file}: '${section}' must be an object with keys such as ${keys.slice(0, 5).join(', ')}, got ${JSON.stringify(value)}.`)
    }
  }
  for (const key of Object.keys(values)) {
    if (CONFIG_FILE_KEYS.includes(key)) continue
    const near = nearest(key, CONFIG_FILE_KEYS)
    throw new ConfigError('CONFIG_UNKNOWN_KEY', `Config file ${file}: unknown key '${key}'${near ? `; did you mean '${near}'?` : ''}`, {
      suggestion: `The keys a config file may hold are listed in the README (Configuration): ${CONFIG_FILE_KEYS.join(', ')}.`,
      data: {file, key, nearest: near},
    })
  }
}

/** The candidate closest to `word` by edit distance (case-insensitive), if it is close enough to be a typo. */
export function nearest(word: string, candidates: readonly string[]): string | null {
  let best: {candidate: string; distance: number} | null = null
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase())
    if (!best || distance < best.distance) best = {candidate, distance}
  }
  // the last segment carries the typo ('db.databse'); allow about a third of it to differ
  const last = word.split('.').pop() ?? word
  return best && best.distance <= Math.max(2, Math.ceil(last.length / 3)) ? best.candidate : null
}

/** Edit distance counting a swap of two neighbours as one edit ('teir' → 'tier'). */
function editDistance(a: string, b: string): number {
  const d = Array.from({length: a.length + 1}, (_, i) => Array.from({length: b.length + 1}, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1)
    }
  }
  return d[a.length]![b.length]!
}

function warnIfReadableByOthers(file: string, warn?: (message: string) => void): void {
  try {
    const mode = statSync(file).mode
    if (mode & 0o044) warn?.(`Config file ${file} holds a secret and is readable by other users; run: chmod 600 ${file}`)
  } catch {
    // already read successfully; a stat failure here changes nothing
  }
}

function lineOf(text: string, offset: number): number {
  return text.slice(0, offset).split('\n').length
}

function flatten(object: Record<string, unknown>, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(object)) {
    const path = prefix ? `${prefix}.${key}` : key
    // these keys hold objects as values
    if (value && typeof value === 'object' && !Array.isArray(value) && !['sync.optIn', 'sync.stageMapping', 'sync.leadSourceMapping'].includes(path)) {
      Object.assign(out, flatten(value as Record<string, unknown>, path))
    } else {
      out[path] = value
    }
  }
  return out
}

function buildConfig(layers: Layer[]): CbhsConfig {
  const origins: Record<string, string> = {}
  const pick = (key: string): unknown => {
    for (const layer of layers) {
      if (layer.values[key] !== undefined) {
        origins[key] = layer.name
        return layer.values[key]
      }
    }
    return undefined
  }
  const str = (key: string): string => String(pick(key) ?? '')
  const optStr = (key: string): string | undefined => {
    const value = pick(key)
    return value === undefined || value === null || value === '' ? undefined : String(value)
  }
  const int = (key: string, min = 0): number => {
    const raw = pick(key)
    const value = Number(raw)
    if (!Number.isInteger(value) || value < min) {
      throw new ConfigError('CONFIG_INVALID', `${key} must be a whole number ≥ ${min}, got '${String(raw)}' (from ${origins[key]}).`)
    }
    return value
  }
  const oneOf = <T extends string>(key: string, allowed: readonly T[]): T => {
    const value = str(key)
    if (!(allowed as readonly string[]).includes(value)) {
      throw new ConfigError('CONFIG_INVALID', `${key} must be one of ${allowed.join(', ')}, got '${value}' (from ${origins[key]}).`)
    }
    return value as T
  }

  const config: CbhsConfig = {
    db: {host: str('db.host'), port: int('db.port', 1), user: str('db.user'), password: str('db.password'), database: str('db.database')},
    timezone: validTimezone(str('timezone'), origins),
    hubspot: {
      baseUrl: str('hubspot.baseUrl').replace(/\/+$/, ''),
      apiVersion: str('hubspot.apiVersion'),
      accessToken: optStr('hubspot.accessToken'),
      tier: oneOf('hubspot.tier', ['starter', 'professional', 'enterprise', 'addon', 'unlimited'] as const),
      uniqueProperty: str('hubspot.uniqueProperty'),
      propertyGroup: str('hubspot.propertyGroup'),
      searchPerSecond: int('hubspot.searchPerSecond', 1),
      requestTimeoutMs: int('hubspot.requestTimeoutMs', 1000),
      portalId: optStr('hubspot.portalId'),
    },
    sync: {
      optIn: optInByModule(pick('sync.optIn'), origins['sync.optIn'] ?? 'default'),
      conflictPolicy: oneOf('sync.conflictPolicy', ['newest', 'crm', 'hubspot'] as const),
      relateDealWith: oneOf('sync.relateDealWith', ['Contacts', 'Accounts'] as const),
      leadLifecycleStages: stringList(pick('sync.leadLifecycleStages')),
      pushLookbackSeconds: int('sync.pushLookbackSeconds'),
      pullLagSeconds: int('sync.pullLagSeconds'),
      pageSize: int('sync.pageSize', 1),
      userId: int('sync.userId', 1),
      maxAttempts: int('sync.maxAttempts', 1),
      dealPipeline: str('sync.dealPipeline'),
      stageMapping: (pick('sync.stageMapping') ?? {}) as CbhsConfig['sync']['stageMapping'],
      leadSourceMapping: (pick('sync.leadSourceMapping') ?? {}) as CbhsConfig['sync']['leadSourceMapping'],
      activities: flag('sync.activities', pick('sync.activities'), origins['sync.activities'] ?? 'default'),
    },
    maps: {source: oneOf('maps.source', ['files', 'database'] as const), dir: str('maps.dir')},
    health: {
      cronIntervalMinutes: int('health.cronIntervalMinutes', 1),
      staleAfterIntervals: int('health.staleAfterIntervals', 1),
      maxFailures: int('health.maxFailures'),
      lockStaleMinutes: int('health.lockStaleMinutes', 1),
    },
    origins,
  }
  if (!/^[A-Za-z0-9_]+$/.test(config.hubspot.uniqueProperty)) {
    throw new ConfigError('CONFIG_INVALID', `hubspot.uniqueProperty '${config.hubspot.uniqueProperty}' (from ${origins['hubspot.uniqueProperty']}) is not a valid HubSpot property name.`)
  }
  for (const key of SECRET_KEYS) registerSecret(key === 'db.password' ? config.db.password : config.hubspot.accessToken)
  return config
}

function flag(key: string, value: unknown, origin: string): boolean {
  if (value === true || value === 'true' || value === '1') return true
  if (value === false || value === 'false' || value === '0' || value === undefined) return false
  throw new ConfigError('CONFIG_INVALID', `${key} must be true or false, got '${String(value)}' (from ${origin}).`)
}

function validTimezone(zone: string, origins: Record<string, string>): string {
  try {
    new Intl.DateTimeFormat('en-US', {timeZone: zone})
    return zone
  } catch {
    throw new ConfigError('CONFIG_INVALID', `timezone '${zone}' (from ${origins.timezone}) is not an IANA time zone such as 'UTC' or 'Europe/Madrid'.`)
  }
}

function optInByModule(value: unknown, origin: string): Record<CrmModule, OptInMode> {
  const parse = (raw: unknown, where: string): OptInMode => {
    if (raw === 'explicit' || raw === 'default-on') return raw
    throw new ConfigError('CONFIG_INVALID', `sync.optIn${where} must be 'explicit' or 'default-on', got '${String(raw)}' (from ${origin}).`)
  }
  if (typeof value === 'string') {
    const mode = parse(value, '')
    return Object.fromEntries(CRM_MODULES.map((m) => [m, mode])) as Record<CrmModule, OptInMode>
  }
  const out = Object.fromEntries(CRM_MODULES.map((m) => [m, 'explicit'])) as Record<CrmModule, OptInMode>
  for (const [name, mode] of Object.entries((value ?? {}) as Record<string, unknown>)) {
    const module = CRM_MODULES.find((m) => m.toLowerCase() === name.toLowerCase())
    if (!module) {
      const near = nearest(name, CRM_MODULES)
      throw new ConfigError('CONFIG_INVALID', `sync.optIn names unknown module '${name}' (from ${origin})${near ? `; did you mean '${near}'?` : `; the modules are ${CRM_MODULES.join(', ')}`}.`)
    }
    out[module] = parse(mode, `.${module}`)
  }
  return out
}

function stringList(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String)
  if (typeof value === 'string') return value.split(',').map((s) => s.trim()).filter(Boolean)
  return []
}

/** A copy safe to print: secrets replaced by whether they are set. */
export function describeConfig(config: CbhsConfig): Record<string, unknown> {
  return {
    ...config,
    db: {...config.db, password: config.db.password ? '(set)' : '(empty)'},
    hubspot: {...config.hubspot, accessToken: config.hubspot.accessToken ? '(set)' : '(not set)'},
  }
}
