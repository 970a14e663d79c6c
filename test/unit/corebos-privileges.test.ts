/**
 * The one mapping of MySQL/MariaDB privilege errors (src/corebos/connection.ts), over the message
 * shapes both servers use; the real errors are covered by test/integration/db-privileges.test.ts.
 */
import {describe, expect, it} from 'vitest'
import {classifyDbError, missingPrivilege, stopsThePass} from '../../src/corebos/connection.js'
import {EXIT} from '../../src/errors.js'

const serverError = (errno: number, code: string, sqlMessage: string) => Object.assign(new Error(sqlMessage), {errno, code, sqlMessage, sqlState: '42000'})
const settings = {host: 'db', port: 3306, user: 'sync', database: 'crm'}

describe('missing privileges', () => {
  it.each([
    ['MariaDB 1142', serverError(1142, 'ER_TABLEACCESS_DENIED_ERROR', "UPDATE command denied to user 'sync'@'10.0.0.7' for table `crm`.`cbhs_run`"), 'UPDATE', '`crm`.`cbhs_run`'],
    ['MySQL 5.7 1142', serverError(1142, 'ER_TABLEACCESS_DENIED_ERROR', "INSERT command denied to user 'sync'@'localhost' for table 'vtiger_crmentity'"), 'INSERT', '`crm`.`vtiger_crmentity`'],
    ['1143 (a column)', serverError(1143, 'ER_COLUMNACCESS_DENIED_ERROR', "SELECT command denied to user 'sync'@'h' for column 'hubspotid' in table 'vtiger_account'"), 'SELECT', '`crm`.`vtiger_account`.`hubspotid`'],
    ['1044 (the database)', serverError(1044, 'ER_DBACCESS_DENIED_ERROR', "Access denied for user 'sync'@'%' to database 'crm'"), null, '`crm`'],
    ['1227 (a global privilege)', serverError(1227, 'ER_SPECIFIC_ACCESS_DENIED_ERROR', 'Access denied; you need (at least one of) the SUPER privilege(s) for this operation'), 'SUPER', null],
  ])('%s: names the privilege and the object', (_name, error, privilege, object) => {
    expect(missingPrivilege(error, 'crm')).toMatchObject({privilege, object})
    expect(stopsThePass(error)).toBe(true)
  })

  it('a wrong password (1045) is not a missing privilege', () => {
    const error = serverError(1045, 'ER_ACCESS_DENIED_ERROR', "Access denied for user 'sync'@'h' (using password: YES)")
    expect(missingPrivilege(error)).toBeNull()
    expect(classifyDbError(error, settings)).toMatchObject({code: 'DB_AUTH_REFUSED', exitCode: EXIT.UNAVAILABLE})
  })

  it('a row-level error is neither a privilege error nor stops the pass', () => {
    const error = Object.assign(serverError(1406, 'ER_DATA_TOO_LONG', "Data too long for column 'lastname' at row 1"), {sqlState: '22001'})
    expect(missingPrivilege(error)).toBeNull()
    expect(stopsThePass(error)).toBe(false)
  })

  it('setup gets exit 3 and the GRANT of what setup needs; a pass exit 4 and the GRANT of what a pass needs; a global privilege ON *.*', () => {
    const denied = serverError(1142, 'ER_TABLEACCESS_DENIED_ERROR', "CREATE command denied to user 'sync'@'10.0.0.7' for table `crm`.`cbhs_meta`")
    const setup = classifyDbError(denied, settings, {command: 'setup', purpose: 'setup', account: "'sync'@'10.%'"}) as {exitCode: number; message: string; suggestion: string}
    expect(setup.exitCode).toBe(EXIT.CONFIG)
    expect(setup.message).toBe("The database user 'sync'@'10.%' lacks the CREATE privilege on `crm`.`cbhs_meta`, which cbhs setup needs (SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX).")
    expect(setup.suggestion).toContain("GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX ON `crm`.* TO 'sync'@'10.%';")
    const pass = classifyDbError(denied, settings, {command: 'push', account: "'sync'@'%'"}) as {exitCode: number; suggestion: string}
    expect(pass.exitCode).toBe(EXIT.UNAVAILABLE)
    // what a pass needs, plus the privilege the server named
    expect(pass.suggestion).toContain("GRANT SELECT, INSERT, UPDATE, DELETE, CREATE ON `crm`.* TO 'sync'@'%';")
    const global = classifyDbError(serverError(1227, 'ER_SPECIFIC_ACCESS_DENIED_ERROR', 'Access denied; you need (at least one of) the SUPER privilege(s) for this operation'), settings, {account: "'sync'@'%'"}) as {suggestion: string}
    expect(global.suggestion).toContain("GRANT SUPER ON *.* TO 'sync'@'%';")
  })
})
