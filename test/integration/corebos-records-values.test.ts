// Pure functions of the record layer (no database): value conventions and number formats.
import {describe, expect, it} from 'vitest'
import {autonumberValue, nextLegacyId} from '../../src/corebos/numbering.js'
import {naiveNow, phpDate, phpSprintfInt, toColumnValue, ValueError, wallClock, type ColumnInfo} from '../../src/corebos/values.js'

const col = (over: Partial<ColumnInfo>): ColumnInfo => ({
  name: 'c', dataType: 'varchar', columnType: 'varchar(10)', maxLength: 10, octetLength: 30, charset: 'utf8mb3',
  nullable: true, hasDefault: true, precision: null, scale: null, ...over,
})

describe('coreBOS value conventions', () => {
  it('stores empty values as coreBOS does', () => {
    expect(toColumnValue('', col({dataType: 'date', columnType: 'date'}), 5)).toBeNull()
    expect(toColumnValue(null, col({dataType: 'int', columnType: 'int(11)'}), 10)).toBe('0')
    expect(toColumnValue(null, col({dataType: 'decimal', columnType: 'decimal(25,6)'}), 71)).toBe('0')
    expect(toColumnValue(undefined, col({}), 56)).toBe('0')
    expect(toColumnValue('', col({}), 1)).toBe('')
  })

  it('normalizes checkboxes, multipicklists and datetimes', () => {
    expect(toColumnValue('on', col({}), 56)).toBe('1')
    expect(toColumnValue('false', col({}), 56)).toBe('0')
    expect(() => toColumnValue('maybe', col({}), 56)).toThrow(ValueError)
    expect(toColumnValue('a|##|b |##|  c', col({maxLength: 100}), 33)).toBe('a |##| b |##| c')
    expect(toColumnValue('2024-02-29T10:11', col({dataType: 'datetime', columnType: 'datetime'}), 70)).toBe('2024-02-29 10:11:00')
    expect(() => toColumnValue('2023-02-29', col({dataType: 'date', columnType: 'date'}), 5)).toThrow(/not a valid date/)
  })

  it('checks numbers against their column', () => {
    expect(toColumnValue('42', col({dataType: 'int', columnType: 'int(11)'}), 7)).toBe('42')
    expect(() => toColumnValue('4.2', col({dataType: 'int', columnType: 'int(11)'}), 7)).toThrow(/not an integer/)
    expect(() => toColumnValue('3000000000', col({dataType: 'int', columnType: 'int(11)'}), 7)).toThrow(/out of range/)
    expect(toColumnValue('3000000000', col({dataType: 'int', columnType: 'int(10) unsigned'}), 7)).toBe('3000000000')
    expect(toColumnValue('1234.5', col({dataType: 'decimal', columnType: 'decimal(7,3)', precision: 7, scale: 3}), 9)).toBe('1234.5')
    expect(() => toColumnValue('12345.5', col({dataType: 'decimal', columnType: 'decimal(7,3)', precision: 7, scale: 3}), 9)).toThrow(/too large/)
    expect(() => toColumnValue('1,5', col({dataType: 'decimal', columnType: 'decimal(7,3)', precision: 7, scale: 3}), 9)).toThrow(/dot/)
  })

  it('counts characters, not UTF-16 units or bytes, and refuses 4-byte characters in utf8mb3', () => {
    expect(toColumnValue('ñññññññññň', col({}), 1)).toBe('ñññññññññň')
    expect(() => toColumnValue('12345678901', col({}), 1)).toThrow(/11 characters long, the column holds 10/)
    expect(() => toColumnValue('ok 😀', col({}), 1)).toThrow(/4-byte character '😀' \(U\+1F600\)/)
    expect(toColumnValue('ok 😀', col({charset: 'utf8mb4'}), 1)).toBe('ok 😀')
    expect(() => toColumnValue('x'.repeat(70_000), col({dataType: 'text', columnType: 'text', maxLength: 65535, octetLength: 65535}), 19)).toThrow(/bytes/)
  })

  it('tells the install clock in its zone', () => {
    const at = new Date(Date.UTC(2024, 6, 1, 22, 30, 5))
    expect(naiveNow('UTC', at)).toBe('2024-07-01 22:30:05')
    expect(naiveNow('Europe/Madrid', at)).toBe('2024-07-02 00:30:05')
    expect(naiveNow('America/New_York', at)).toBe('2024-07-01 18:30:05')
  })
})

describe('entity numbers', () => {
  it('increments legacy cur_id keeping the zero padding', () => {
    expect(nextLegacyId('11')).toBe('12')
    expect(nextLegacyId('0009')).toBe('0010')
    expect(nextLegacyId('9')).toBe('10')
    expect(nextLegacyId('999')).toBe('1000')
  })

  it('formats AutoNumberPrefix values like PrefixEvent', () => {
    const at = new Date(Date.UTC(2025, 2, 9, 12, 0, 0))
    expect(autonumberValue('CON-', '0000', 7, 'UTC', at)).toBe('CON-0007')
    expect(autonumberValue('X', '00', 12345, 'UTC', at)).toBe('X12345')
    expect(autonumberValue('INV', 'Ym-%05\\d', 42, 'UTC', at)).toBe('INV202503-00042')
    // PHP's date() turns an unescaped 's' into seconds, as here
    expect(autonumberValue('', '\\Y\\e\\a\\r y/%\\s', 3, 'UTC', at)).toBe('Year 25/3')
    expect(autonumberValue('', 'y/%s', 3, 'UTC', at)).toBe('25/%00')
  })

  it('implements the PHP date and sprintf pieces used', () => {
    const w = wallClock('UTC', new Date(Date.UTC(2024, 1, 29, 7, 5, 9)))
    expect(phpDate('Y-m-d H:i:s D N z t L y n j G', w)).toBe('2024-02-29 07:05:09 Thu 4 59 29 1 24 2 29 7')
    expect(phpSprintfInt('%05d%%', 42)).toBe('00042%')
    expect(phpSprintfInt('[%-4d]', 42)).toBe('[42  ]')
    expect(phpSprintfInt('N%06d', 42)).toBe('N000042')
    expect(phpSprintfInt('%3d!', 42)).toBe(' 42!')
  })
})
