/**
 * config.inc.php as coreBOS's installer writes it (config.template.php with its placeholders filled
 * in): environment overrides through getenv() with a fallback, an `if (getenv(...))` block, the
 * time zone set by date_default_timezone_set, and the optional config-dev.inc.php include. Read
 * as PHP would read it, with the variables set and unset.
 */
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {ConfigError} from '../../src/errors.js'
import {readCoreBosConfigPhp} from '../../src/corebos/settings.js'

/** The installer's layout, written for this test: same statements, our own values and comments. */
const INSTALLED = `<?php
/* coreBOS configuration, written by the web installer */
include 'vtigerversion.php';

ini_set('memory_limit', '1024M');
error_reporting(E_ERROR);

$dbconfig['db_server'] = 'db.internal';
$dbconfig['db_port'] = ':3306';
$dbconfig['db_username'] = 'crm_app';
$dbconfig['db_password'] = 'file-secret-1';
$dbconfig['db_name'] = 'crm_live';
$dbconfig['db_type'] = 'mysqli';
$dbconfig['db_status'] = 'true';
$dbconfig['persistent'] = false;
$dbconfig['db_hostname'] = $dbconfig['db_server'].$dbconfig['db_port'];
$host_name = $dbconfig['db_hostname'];
$dbconfig['log_sql'] = false;

$site_URL = 'https://crm.example.com';
$root_directory = '/var/www/crm/';
$upload_badext = array('php', 'php3', 'exe');
$includeDirectory = $root_directory.'include/';
$default_charset = 'UTF-8';
$default_charset = strtoupper($default_charset);
$application_unique_key = 'a1b2c3';

$default_timezone = 'Europe/Madrid';

/* only when a zone is configured */
if (!empty($default_timezone) && function_exists('date_default_timezone_set')) {
	@date_default_timezone_set($default_timezone);
}

// containers pass the database through the environment
$dbconfig['db_username'] = getenv('COREBOS_DBUSER') ? getenv('COREBOS_DBUSER') : $dbconfig['db_username'];
$dbconfig['db_password'] = getenv('COREBOS_DBPASS') ? getenv('COREBOS_DBPASS') : $dbconfig['db_password'];
$dbconfig['db_name'] = getenv('COREBOS_DBNAME') ? getenv('COREBOS_DBNAME') : $dbconfig['db_name'];
$site_URL = getenv('COREBOS_SITEURL') ? getenv('COREBOS_SITEURL') : $site_URL;
if (getenv('COREBOS_DBSERVER')) {
	$dbconfig['db_server'] = getenv('COREBOS_DBSERVER');
	$dbconfig['db_hostname'] = $dbconfig['db_server'].$dbconfig['db_port'];
	$host_name = $dbconfig['db_hostname'];
}

// a developer's local overrides
if (file_exists('config-dev.inc.php')) {
	include 'config-dev.inc.php';
}
?>
`

describe('readCoreBosConfigPhp on the installer-written config.inc.php', () => {
  let dir: string
  let path: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cbhs-installer-'))
    path = join(dir, 'config.inc.php')
    writeFileSync(path, INSTALLED)
  })
  afterAll(() => rmSync(dir, {recursive: true, force: true}))

  it('without COREBOS_* variables: the values the installer wrote, and the zone it sets', () => {
    expect(readCoreBosConfigPhp(path, {})).toEqual({
      db: {host: 'db.internal', port: 3306, user: 'crm_app', password: 'file-secret-1', name: 'crm_live'},
      timezone: 'Europe/Madrid',
    })
  })

  it('with COREBOS_DBNAME (and user, password) set: the environment wins, as getenv() ? getenv() : … does', () => {
    expect(readCoreBosConfigPhp(path, {COREBOS_DBNAME: 'crm_staging'}).db).toEqual({host: 'db.internal', port: 3306, user: 'crm_app', password: 'file-secret-1', name: 'crm_staging'})
    expect(readCoreBosConfigPhp(path, {COREBOS_DBNAME: 'n2', COREBOS_DBUSER: 'u2', COREBOS_DBPASS: 'env-secret-2'}).db).toMatchObject({user: 'u2', password: 'env-secret-2', name: 'n2'})
  })

  it("a variable set to '' or '0' is false to PHP: the file's value stays", () => {
    expect(readCoreBosConfigPhp(path, {COREBOS_DBNAME: ''}).db.name).toBe('crm_live')
    expect(readCoreBosConfigPhp(path, {COREBOS_DBNAME: '0'}).db.name).toBe('crm_live')
  })

  it('COREBOS_DBSERVER runs the if block: the server changes, the port stays', () => {
    expect(readCoreBosConfigPhp(path, {COREBOS_DBSERVER: 'mariadb'}).db).toMatchObject({host: 'mariadb', port: 3306})
    expect(readCoreBosConfigPhp(path, {COREBOS_DBSERVER: 'mariadb:3307'}).db).toMatchObject({host: 'mariadb', port: 3306})
  })

  it('includes config-dev.inc.php from the install folder when it exists, after everything else', () => {
    const dev = join(dir, 'config-dev.inc.php')
    writeFileSync(dev, `<?php\n$dbconfig['db_name'] = 'crm_dev';\n$default_timezone = 'UTC';\ndate_default_timezone_set($default_timezone);\n`)
    try {
      expect(readCoreBosConfigPhp(path, {COREBOS_DBNAME: 'from_env'})).toMatchObject({db: {name: 'crm_dev'}, timezone: 'UTC'})
    } finally {
      rmSync(dev)
    }
    expect(readCoreBosConfigPhp(path, {}).db.name).toBe('crm_live')
  })

  it('names the included file and line of what it cannot read there', () => {
    const dev = join(dir, 'config-dev.inc.php')
    writeFileSync(dev, `<?php\n\n$dbconfig['db_password'] = base64_decode('c2VjcmV0');\n`)
    try {
      expect(() => readCoreBosConfigPhp(path, {})).toThrow(/config-dev\.inc\.php:3: \$dbconfig\['db_password'\] calls base64_decode\(\), which cbhs does not evaluate/)
    } finally {
      rmSync(dev)
    }
  })
})

describe('readCoreBosConfigPhp: branches run as PHP runs them, the rest is named by line', () => {
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cbhs-branches-'))
  })
  afterAll(() => rmSync(dir, {recursive: true, force: true}))
  const read = (text: string, env: Record<string, string> = {}) => {
    const path = join(dir, 'config.inc.php')
    writeFileSync(path, `<?php\n$dbconfig['db_server'] = 'h';\n$dbconfig['db_username'] = 'u';\n$dbconfig['db_name'] = 'base';\n${text}\n`)
    return readCoreBosConfigPhp(path, env)
  }
  const failure = (text: string): ConfigError => {
    try {
      read(text)
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError)
      return error as ConfigError
    }
    throw new Error('expected a ConfigError')
  }

  it('takes only the branch whose condition holds (if / elseif / else)', () => {
    const text = `if (getenv('A')) { $dbconfig['db_name'] = 'a'; } elseif (getenv('B')) { $dbconfig['db_name'] = 'b'; } else { $dbconfig['db_name'] = 'c'; }`
    expect(read(text, {A: '1'}).db.name).toBe('a')
    expect(read(text, {B: '1'}).db.name).toBe('b')
    expect(read(text).db.name).toBe('c')
    expect(read(`if (getenv('NOPE')) $dbconfig['db_name'] = 'never';`).db.name).toBe('base')
  })

  it('concatenates known variables and reads the short ternary and ??', () => {
    expect(read(`$prefix = 'crm';\n$dbconfig['db_name'] = $prefix . '_' . (getenv('STAGE') ?: 'prod');`, {STAGE: 'qa'}).db.name).toBe('crm_qa')
    expect(read(`$dbconfig['db_name'] = $missing ?? 'fallback';`).db.name).toBe('fallback')
  })

  it('a condition it cannot evaluate makes what the block sets unknown, naming the condition line', () => {
    const err = failure(`\nif (gethostname() === 'prod') {\n  $dbconfig['db_name'] = 'p';\n}`)
    expect(err.message).toMatch(/config\.inc\.php:7: \$dbconfig\['db_name'\] depends on a condition cbhs cannot evaluate \(line 6: calls gethostname\(\)/)
    // values the block does not touch are still read
    expect(read(`if (gethostname() === 'prod') { $site_URL = 'x'; }`).db.name).toBe('base')
  })

  it('values set inside loops are unknown; unsupported lines that set nothing cbhs needs are ignored', () => {
    expect(failure(`foreach (array('x') as $n) {\n  $dbconfig['db_name'] = $n;\n}`).message).toMatch(/config\.inc\.php:6: .*inside a `foreach` block/)
    expect(read(`$x = $obj->prop;\nfunction helper() { $dbconfig['db_name'] = 'local'; }\n$list = [1, 2];`).db.name).toBe('base')
  })
})
