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
import {CRM_MODULES, isCrmModule} from './sync/types.js'

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
}

const SECRET_KEYS = new Set(['db.password', 'hubspot.accessToken'])

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
  if (values['hubspot.accessToken'] !== undefined || values['db.password'] !== undefined) warnIfReadableByOthers(file, warn)
  if (typeof values['hubspot.accessTokenFile'] === 'string' && values['hubspot.accessToken'] === undefined) {
    values['hubspot.accessToken'] = readSecretFile(values['hubspot.accessTokenFile'] as string, `${file} hubspot.accessTokenFile`)
  }
  delete values['hubspot.accessTokenFile']
  return values
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
    if (value && typeof value === 'object' && !Array.isArray(value) && !['sync.optIn', 'sync.stageMapping'].includes(path)) {
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
  for (const [module, mode] of Object.entries((value ?? {}) as Record<string, unknown>)) {
    if (!isCrmModule(module)) throw new ConfigError('CONFIG_INVALID', `sync.optIn names unknown module '${module}' (from ${origin}).`)
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
