import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {ConfigError, redact} from '../../src/errors.js'
import {parseCoreBosConfigPhp, readCoreBosConfigPhp, readLegacySettings} from '../../src/corebos/settings.js'
import {createTestDatabase, type TestDatabase} from '../support/db.js'

describe('readLegacySettings', () => {
  let db: TestDatabase
  beforeAll(async () => {
    db = await createTestDatabase()
  })
  afterAll(async () => db?.drop())

  it('reports nothing found on an install that never used the integration', async () => {
    expect(await readLegacySettings(db.pool)).toEqual({found: false, hasLegacyApiKey: false, hasOAuthTokens: false, warnings: []})
  })

  it('reads the keys case-insensitively and never returns secret values', async () => {
    await db.query(
      `INSERT INTO cb_settings (setting_key, setting_value) VALUES
        ('hubspot_isactive', '1'), ('HUBSPOT_CLIENTID', ' 4242 '), ('hubspot_relatedealwith', 'accounts'),
        ('hubspot_pollfrequency', '600'), ('hubspot_secret', 'legacy-secret-abc'), ('hubspot_accesstoken', 'token-xyz-123'),
        ('hubspot_refreshToken', 'refresh-xyz-123'), ('hubspot_polllastsync', '1700000000'), ('hubspot_pollsyncing', 'creating'),
        ('other_key', 'x')`,
    )
    const settings = await readLegacySettings(db.pool)
    expect(settings).toEqual({
      found: true,
      isActive: true,
      portalId: '4242',
      relateDealWith: 'Accounts',
      pollFrequencySeconds: 600,
      hasLegacyApiKey: true,
      hasOAuthTokens: true,
      lastPollAt: '2023-11-14T22:13:20.000Z',
      pollSyncing: 'creating',
      warnings: [],
    })
    const text = JSON.stringify(settings)
    for (const secret of ['legacy-secret-abc', 'token-xyz-123', 'refresh-xyz-123']) expect(text).not.toContain(secret)
  })

  it('warns about values it does not understand and leaves them out', async () => {
    await db.query("UPDATE cb_settings SET setting_value = 'Deals' WHERE setting_key = 'hubspot_relateDealWith'")
    await db.query("UPDATE cb_settings SET setting_value = 'abc' WHERE setting_key = 'hubspot_pollfrequency'")
    await db.query("UPDATE cb_settings SET setting_value = '' WHERE setting_key IN ('hubspot_secret', 'hubspot_accessToken', 'hubspot_refreshToken')")
    await db.query("UPDATE cb_settings SET setting_value = '0' WHERE setting_key = 'hubspot_isactive'")
    const settings = await readLegacySettings(db.pool)
    expect(settings.relateDealWith).toBeUndefined()
    expect(settings.pollFrequencySeconds).toBeUndefined()
    expect(settings.isActive).toBe(false)
    expect(settings.hasLegacyApiKey).toBe(false)
    expect(settings.hasOAuthTokens).toBe(false)
    expect(settings.warnings).toHaveLength(2)
    expect(settings.warnings[0]).toContain("'Deals'")
  })
})

describe('readCoreBosConfigPhp', () => {
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cbhs-config-'))
  })
  afterAll(() => rmSync(dir, {recursive: true, force: true}))

  const write = (name: string, text: string) => {
    const path = join(dir, name)
    writeFileSync(path, text)
    return path
  }

  it('reads a config in the shape the coreBOS installer writes', () => {
    const path = write(
      'installer.php',
      `<?php
/*********************************************************************************
 * config.inc.php of a coreBOS install
 ********************************************************************************/
include 'vtigerversion.php';

// more than 8MB memory needed for graphics
ini_set('memory_limit', '512M');

/* database configuration
      db_server
      db_port
      db_hostname
      db_username
      db_password
      db_name
*/
$dbconfig['db_server'] = 'localhost';
$dbconfig['db_port'] = ':3306';
$dbconfig['db_username'] = 'corebos';
$dbconfig['db_password'] = 'S3cret!';
$dbconfig['db_name'] = 'corebos_prod';
$dbconfig['db_type'] = 'mysqli';
$dbconfig['db_status'] = 'true';

// TODO: test if port is empty
// TODO: set db_hostname dependending on db_type
$dbconfig['db_hostname'] = $dbconfig['db_server'].$dbconfig['db_port'];

$host_name = $dbconfig['db_hostname'];
$site_URL = 'http://localhost/corebos';

// default timezone
$default_timezone = 'Europe/Madrid';

// Override default timezone
if (isset($default_timezone) && function_exists('date_default_timezone_set')) {
  @date_default_timezone_set($default_timezone);
}
?>
`,
    )
    expect(readCoreBosConfigPhp(path)).toEqual({
      db: {host: 'localhost', port: 3306, user: 'corebos', password: 'S3cret!', name: 'corebos_prod'},
      timezone: 'Europe/Madrid',
    })
    // the password is registered as a secret as soon as it is read
    expect(redact('connecting with S3cret!')).toBe('connecting with ***')
  })

  it('handles odd quoting, escapes, comments and whitespace', () => {
    const path = write(
      'odd.php',
      [
        '<?php',
        "# $dbconfig['db_name'] = 'commented_out';",
        "// $dbconfig['db_server'] = 'wrong';",
        "/* $dbconfig['db_username'] = 'wrong'; */",
        '$dbconfig [ "db_server" ]="db.example.com" ;',
        "$dbconfig['db_port']   =   '3307'  ; // custom port",
        "$dbconfig['db_username'] = \"o'brien\";",
        "$dbconfig['db_password'] = 'it\\'s a \\\\ \"quoted\" $ecret # not a comment // nor this';",
        '$dbconfig["db_name"] =',
        "   'crm_' . \"main\"",
        ';',
        "$default_timezone = \"America/New_York\";",
      ].join('\n'),
    )
    expect(readCoreBosConfigPhp(path)).toEqual({
      db: {host: 'db.example.com', port: 3307, user: "o'brien", password: 'it\'s a \\ "quoted" $ecret # not a comment // nor this', name: 'crm_main'},
      timezone: 'America/New_York',
    })
  })

  it('decodes double-quoted escapes and takes the last assignment', () => {
    const config = parseCoreBosConfigPhp(
      `<?php
$dbconfig['db_server'] = 'first';
$dbconfig['db_server'] = "second";
$dbconfig['db_port'] = 3308;
$dbconfig['db_username'] = "tab\\there";
$dbconfig['db_password'] = "dollar\\$sign \\"q\\" \\x41\\101";
$dbconfig['db_name'] = 'n';`,
      'inline.php',
    )
    expect(config.db).toEqual({host: 'second', port: 3308, user: 'tab\there', password: 'dollar$sign "q" AA', name: 'n'})
    expect(config.timezone).toBeUndefined()
  })

  it('reads the array form, host:port and socket servers, and an empty port', () => {
    expect(
      parseCoreBosConfigPhp(
        `<?php $dbconfig = array('db_server' => 'h:3310', 'db_port' => '', 'db_username' => 'u', 'db_password' => '', 'db_name' => 'n');`,
        'a.php',
      ).db,
    ).toEqual({host: 'h', port: 3310, user: 'u', password: '', name: 'n'})
    expect(
      parseCoreBosConfigPhp(
        `<?php $dbconfig = ['db_server' => 'localhost:/run/mysqld/mysqld.sock', 'db_username' => 'u', 'db_name' => 'n'];`,
        'b.php',
      ).db,
    ).toEqual({host: 'localhost', port: 3306, user: 'u', password: '', name: 'n', socketPath: '/run/mysqld/mysqld.sock'})
  })

  it('ignores inline HTML outside PHP tags', () => {
    const config = parseCoreBosConfigPhp(
      `<html>$dbconfig['db_name'] = 'html';</html><?php $dbconfig['db_server']='s'; $dbconfig['db_username']='u'; $dbconfig['db_name']='php' ?>
$dbconfig['db_name'] = 'after close tag';`,
      'c.php',
    )
    expect(config.db.name).toBe('php')
  })

  const failure = (source: string): ConfigError => {
    try {
      parseCoreBosConfigPhp(source, '/srv/corebos/config.inc.php')
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError)
      return error as ConfigError
    }
    throw new Error('expected a ConfigError')
  }

  it('names file and line when a value cannot be evaluated', () => {
    const err = failure(`<?php
$dbconfig['db_server'] = 'localhost';
$dbconfig['db_username'] = 'u';
$dbconfig['db_password'] = trim(file_get_contents('/run/secrets/db'));
$dbconfig['db_name'] = 'n';`)
    expect(err.code).toBe('COREBOS_CONFIG_INVALID')
    expect(err.message).toMatch(/^\/srv\/corebos\/config\.inc\.php:4: \$dbconfig\['db_password'\] calls trim\(\), which cbhs does not evaluate/)
    expect(err.exitCode).toBe(3)
    const interp = failure(`<?php\n$dbconfig['db_server'] = 'h';\n$dbconfig['db_username'] = "user_$suffix";\n$dbconfig['db_name'] = 'n';`)
    expect(interp.message).toMatch(/config\.inc\.php:3: .*interpolation/)
  })

  it('names file and line of syntax errors, missing keys, placeholders and bad time zones', () => {
    expect(failure(`<?php\n\n$dbconfig['db_server'] = 'unterminated;\n`).message).toMatch(/config\.inc\.php:3: unterminated single-quoted string/)
    expect(failure(`<?php $dbconfig['db_server'] = 'h'; $dbconfig['db_username'] = 'u';`).message).toMatch(/\$dbconfig\['db_name'\] is not set/)
    expect(failure(`<?php $dbconfig['db_server'] = '_DBC_SERVER_'; $dbconfig['db_username'] = 'u'; $dbconfig['db_name'] = 'n';`).message).toMatch(
      /installer placeholder/,
    )
    expect(
      failure(`<?php $dbconfig['db_server'] = 'h'; $dbconfig['db_username'] = 'u'; $dbconfig['db_name'] = 'n';\n\n$default_timezone = 'Mars/Olympus';`)
        .message,
    ).toMatch(/config\.inc\.php:3: \$default_timezone 'Mars\/Olympus' is not a known IANA time zone/)
  })

  it('never puts the password in an error', () => {
    const err = failure(`<?php $dbconfig['db_server'] = 'h'; $dbconfig['db_password'] = 'hunter2-long'; $dbconfig['db_username'] = 'u'; $dbconfig['db_port'] = 'hunter';`)
    expect(err.message).not.toContain('hunter2-long')
  })

  it('says which file it cannot read', () => {
    const path = join(dir, 'missing', 'config.inc.php')
    expect(() => readCoreBosConfigPhp(path)).toThrow(expect.objectContaining({code: 'COREBOS_CONFIG_UNREADABLE', message: expect.stringContaining(path)}))
  })
})
