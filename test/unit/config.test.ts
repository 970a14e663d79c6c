import {chmodSync, mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {applyLegacySettings, loadConfig, parseDatabaseUrl, type ConfigFlags} from '../../src/config.js'
import {readCoreBosConfigPhp} from '../../src/corebos/settings.js'
import {redact} from '../../src/errors.js'

const dir = mkdtempSync(join(tmpdir(), 'cbhs-config-'))
const corebosDir = join(dir, 'corebos')
const phpFile = join(corebosDir, 'config.inc.php')

function setup(): void {
  mkdirSync(corebosDir, {recursive: true})
  writeFileSync(
    phpFile,
    `<?php
// odd but valid PHP: double quotes, spacing, a port with a leading colon
$dbconfig['db_server'] = "php-host";
$dbconfig[ 'db_port' ] = ':3307';
$dbconfig['db_username'] = 'php-user';
$dbconfig['db_password'] = 'php-pass\\'word';
$dbconfig['db_name'] = 'php_db';
$default_timezone = 'Europe/Madrid';
`,
  )
}

const reader = (file: string) => {
  const php = readCoreBosConfigPhp(file)
  return {db: {host: php.db.host, port: php.db.port, user: php.db.user, password: php.db.password, database: php.db.name}, timezone: php.timezone}
}

function load(flags: ConfigFlags, env: Record<string, string> = {}, warn?: (m: string) => void) {
  return loadConfig({flags, env, packageRoot: '/pkg', readCoreBosConfig: reader, warn})
}

describe('configuration precedence: flags > env > config file > config.inc.php > cb_settings > defaults', () => {
  setup()
  const configFile = join(dir, 'cbhs.json')
  writeFileSync(configFile, JSON.stringify({db: {host: 'file-host', user: 'file-user'}, hubspot: {tier: 'professional', baseUrl: 'http://file'}, sync: {conflictPolicy: 'crm'}}))
  chmodSync(configFile, 0o600)

  it('uses the defaults when nothing is set', () => {
    const c = load({})
    expect(c.db).toEqual({host: '127.0.0.1', port: 3306, user: 'root', password: '', database: 'corebos'})
    expect(c.timezone).toBe('UTC')
    expect(c.hubspot.baseUrl).toBe('https://api.hubapi.com')
    expect(c.sync.conflictPolicy).toBe('newest')
    expect(c.maps.dir).toBe('/pkg/maps')
    expect(c.origins['db.host']).toBe('default')
  })

  it('reads database settings and the timezone from config.inc.php', () => {
    const c = load({'corebos-dir': corebosDir})
    expect(c.db).toEqual({host: 'php-host', port: 3307, user: 'php-user', password: "php-pass'word", database: 'php_db'})
    expect(c.timezone).toBe('Europe/Madrid')
  })

  it('lets the config file win over config.inc.php, env over the file, and flags over env', () => {
    const c = load({'corebos-dir': corebosDir, config: configFile})
    expect(c.db.host).toBe('file-host')
    expect(c.db.database).toBe('php_db')
    expect(c.sync.conflictPolicy).toBe('crm')

    const e = load({'corebos-dir': corebosDir, config: configFile}, {CBHS_DB_HOST: 'env-host', CBHS_CONFLICT_POLICY: 'hubspot', CBHS_HUBSPOT_URL: 'http://env'})
    expect(e.db.host).toBe('env-host')
    expect(e.db.user).toBe('file-user')
    expect(e.sync.conflictPolicy).toBe('hubspot')
    expect(e.origins['db.host']).toBe('env')

    const f = load({'corebos-dir': corebosDir, config: configFile, 'hubspot-url': 'http://flag/', 'conflict-policy': 'newest'}, {CBHS_HUBSPOT_URL: 'http://env', CBHS_CONFLICT_POLICY: 'hubspot'})
    expect(f.hubspot.baseUrl).toBe('http://flag')
    expect(f.sync.conflictPolicy).toBe('newest')
  })

  it('takes DATABASE_URL, and CBHS_* variables override its parts', () => {
    const c = load({}, {DATABASE_URL: 'mysql://u%40x:p%3Aw@dbhost:3310/crm', CBHS_DB_NAME: 'other'})
    expect(c.db).toEqual({host: 'dbhost', port: 3310, user: 'u@x', password: 'p:w', database: 'other'})
    expect(() => parseDatabaseUrl('postgres://x@y/z')).toThrow(/mysql:\/\//)
  })

  it('fills only unset keys from the legacy cb_settings', () => {
    const fromDefaults = applyLegacySettings(load({}), {relateDealWith: 'Accounts', portalId: '999'})
    expect(fromDefaults.sync.relateDealWith).toBe('Accounts')
    expect(fromDefaults.hubspot.portalId).toBe('999')
    const fromEnv = applyLegacySettings(load({}, {CBHS_RELATE_DEAL_WITH: 'Contacts', CBHS_PORTAL_ID: '1'}), {relateDealWith: 'Accounts', portalId: '999'})
    expect(fromEnv.sync.relateDealWith).toBe('Contacts')
    expect(fromEnv.hubspot.portalId).toBe('1')
  })

  it('reads secrets from files and never lets them into messages', () => {
    const tokenFile = join(dir, 'token')
    writeFileSync(tokenFile, 'pat-test-0123456789abcdef\n')
    const c = load({}, {CBHS_HUBSPOT_TOKEN_FILE: tokenFile, CBHS_DB_PASSWORD: 'db-secret-pw'})
    expect(c.hubspot.accessToken).toBe('pat-test-0123456789abcdef')
    expect(redact('token pat-test-0123456789abcdef and db-secret-pw')).toBe('token *** and ***')
  })

  it('warns when a config file holding a secret is readable by others', () => {
    const leaky = join(dir, 'leaky.json')
    writeFileSync(leaky, JSON.stringify({db: {password: 'x-secret-1'}}))
    chmodSync(leaky, 0o644)
    const warnings: string[] = []
    load({config: leaky}, {}, (m) => warnings.push(m))
    expect(warnings).toEqual([expect.stringContaining(`chmod 600 ${leaky}`)])
  })

  it('names the file and line of a malformed config file, and the source of a bad value', () => {
    const broken = join(dir, 'broken.json')
    writeFileSync(broken, '{\n  "db": {\n    "host": "x",,\n  }\n}\n')
    expect(() => load({config: broken})).toThrow(new RegExp(`${broken} is not valid JSON at line 3`))
    expect(() => load({}, {CBHS_CONFLICT_POLICY: 'loudest'})).toThrow(/sync.conflictPolicy must be one of newest, crm, hubspot, got 'loudest' \(from env\)/)
    expect(() => load({}, {CBHS_TIMEZONE: 'Mars/Olympus'})).toThrow(/not an IANA time zone/)
  })

  it('refuses a typo in the config file by name: file, key and the nearest valid key, exit 3', () => {
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{db: {databse: 'corebos'}}, 'db.databse', 'db.database'],
      [{sync: {optin: 'default-on'}}, 'sync.optin', 'sync.optIn'],
      [{hubspot: {teir: 'professional'}}, 'hubspot.teir', 'hubspot.tier'],
    ]
    for (const [content, key, near] of cases) {
      const file = join(dir, `typo-${key}.json`)
      writeFileSync(file, JSON.stringify(content))
      let error: (Error & {exitCode?: number; code?: string}) | undefined
      try {
        load({config: file})
      } catch (e) {
        error = e as Error
      }
      expect(error?.message).toBe(`Config file ${file}: unknown key '${key}'; did you mean '${near}'?`)
      expect(error?.exitCode).toBe(3)
      expect(error?.code).toBe('CONFIG_UNKNOWN_KEY')
    }
  })

  it('refuses a section that is not an object, names an unknown opt-in module, and takes module names in any case', () => {
    const flat = join(dir, 'flat.json')
    writeFileSync(flat, JSON.stringify({db: 'corebos'}))
    expect(() => load({config: flat})).toThrow(`Config file ${flat}: 'db' must be an object`)
    const module = join(dir, 'module.json')
    writeFileSync(module, JSON.stringify({sync: {optIn: {Contatcs: 'default-on'}}}))
    expect(() => load({config: module})).toThrow(`sync.optIn names unknown module 'Contatcs' (from config file ${module}); did you mean 'Contacts'?`)
    const lower = join(dir, 'lower.json')
    writeFileSync(lower, JSON.stringify({sync: {optIn: {contacts: 'default-on'}}, hubspot: {apiVersion: '2026-03'}}))
    expect(load({config: lower}).sync.optIn).toMatchObject({Contacts: 'default-on', Accounts: 'explicit'})
  })

  it('warns about a CBHS_* variable it does not read, naming the nearest one', () => {
    const warnings: string[] = []
    load({}, {CBHS_DB_NMAE: 'corebos'}, (m) => warnings.push(m))
    expect(warnings).toEqual(['Environment variable CBHS_DB_NMAE is not one cbhs reads; did you mean CBHS_DB_NAME? It is ignored.'])
  })
})
