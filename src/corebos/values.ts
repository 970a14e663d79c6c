/**
 * coreBOS value conventions: the install's clock, and turning an input value into what
 * CRMEntity::insertIntoEntityTable would store for a column, or a reason why it cannot be stored.
 */
import {hostNowMs} from '../host-clock.js'
import {ConfigError} from '../errors.js'
import {isValidTimezone, wallClock as instantWallClock, type WallClock as BaseWallClock} from '../maps/time.js'

/** A column as information_schema describes it; only what validation and conventions need. */
export interface ColumnInfo {
  name: string
  /** DATA_TYPE, lower case: varchar, int, decimal, date, datetime, text … */
  dataType: string
  /** COLUMN_TYPE, e.g. 'int(11) unsigned', 'decimal(25,6)' */
  columnType: string
  /** CHARACTER_MAXIMUM_LENGTH for char/varchar (characters) */
  maxLength: number | null
  /** CHARACTER_OCTET_LENGTH for text/blob types (bytes) */
  octetLength: number | null
  charset: string | null
  nullable: boolean
  /** COLUMN_DEFAULT is not NULL, or the column is nullable (NULL is then the default) */
  hasDefault: boolean
  precision: number | null
  scale: number | null
}

// ---------------------------------------------------------------------------------------------
// time
// ---------------------------------------------------------------------------------------------

/** Throws a ConfigError when the zone is unknown, so a bad setting fails before any write. */
export function checkTimezone(timezone: string): void {
  if (!isValidTimezone(timezone)) {
    throw new ConfigError('BAD_TIMEZONE', `'${timezone}' is not a known IANA time zone.`, {
      suggestion: "Set the install's $default_timezone (e.g. 'UTC' or 'Europe/Madrid') in the cbhs configuration.",
    })
  }
}

export interface WallClock extends BaseWallClock {
  /** 0 = Sunday */
  weekday: number
}

/** The wall-clock time of an instant in a zone: what PHP's date() prints with that default zone. */
export function wallClock(timezone: string, at: Date = new Date(hostNowMs())): WallClock {
  checkTimezone(timezone)
  const w = instantWallClock(at.getTime(), timezone)
  const weekday = new Date(Date.UTC(w.year, w.month - 1, w.day)).getUTCDay()
  return {...w, weekday}
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0')

/** 'YYYY-MM-DD HH:MM:SS' in the zone: the form of createdtime/modifiedtime (corebos.md §6.9). */
export function naiveNow(timezone: string, at: Date = new Date(hostNowMs())): string {
  const w = wallClock(timezone, at)
  return `${w.year}-${pad(w.month)}-${pad(w.day)} ${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}`
}

// ---------------------------------------------------------------------------------------------
// PHP formatting used by AutoNumberPrefix: date($format) then sprintf(…, $current)
// ---------------------------------------------------------------------------------------------

const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday']
const MONTH_NAMES = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December']

/**
 * PHP date() for the format characters an autonumber format plausibly uses. Other letters pass
 * through unchanged (PHP would replace a few more, e.g. 'c', 'U'; those make no sense in a number).
 */
export function phpDate(format: string, w: WallClock): string {
  let out = ''
  for (let i = 0; i < format.length; i++) {
    const ch = format[i]
    if (ch === '\\' && i + 1 < format.length) {
      out += format[++i]
      continue
    }
    const leap = (w.year % 4 === 0 && w.year % 100 !== 0) || w.year % 400 === 0
    const h12 = w.hour % 12 === 0 ? 12 : w.hour % 12
    switch (ch) {
      case 'd': out += pad(w.day); break
      case 'j': out += String(w.day); break
      case 'D': out += DAY_NAMES[w.weekday].slice(0, 3); break
      case 'l': out += DAY_NAMES[w.weekday]; break
      case 'N': out += String(w.weekday === 0 ? 7 : w.weekday); break
      case 'w': out += String(w.weekday); break
      case 'z': out += String(Math.round((Date.UTC(w.year, w.month - 1, w.day) - Date.UTC(w.year, 0, 1)) / 86_400_000)); break
      case 'F': out += MONTH_NAMES[w.month - 1]; break
      case 'M': out += MONTH_NAMES[w.month - 1].slice(0, 3); break
      case 'm': out += pad(w.month); break
      case 'n': out += String(w.month); break
      case 't': out += String(new Date(Date.UTC(w.year, w.month, 0)).getUTCDate()); break
      case 'L': out += leap ? '1' : '0'; break
      case 'Y': out += String(w.year); break
      case 'y': out += pad(w.year % 100); break
      case 'a': out += w.hour < 12 ? 'am' : 'pm'; break
      case 'A': out += w.hour < 12 ? 'AM' : 'PM'; break
      case 'g': out += String(h12); break
      case 'h': out += pad(h12); break
      case 'G': out += String(w.hour); break
      case 'H': out += pad(w.hour); break
      case 'i': out += pad(w.minute); break
      case 's': out += pad(w.second); break
      default: out += ch
    }
  }
  return out
}

/** PHP sprintf with one integer argument: %d, %Nd, %0Nd, %-Nd, %s, %u and %% (what number formats use). */
export function phpSprintfInt(format: string, value: number): string {
  let argUsed = false
  return format.replace(/%(%|(-)?(0)?(\d+)?([dsu]))/g, (whole, _all, minus, zero, width, conv) => {
    if (whole === '%%') return '%'
    // PHP consumes one argument per conversion; a second conversion has no argument (PHP errors, we print '')
    const text = argUsed ? '' : String(conv === 'u' ? Math.abs(value) : value)
    argUsed = true
    const w = width ? Number(width) : 0
    if (text.length >= w) return text
    if (minus) return text.padEnd(w, ' ')
    if (zero && conv !== 's') return text.startsWith('-') ? '-' + text.slice(1).padStart(w - 1, '0') : text.padStart(w, '0')
    return text.padStart(w, zero ? '0' : ' ')
  })
}

/** PHP is_numeric for the strings found in autonumber formats. */
export function isPhpNumeric(value: string): boolean {
  return /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(value)
}

/** html_entity_decode for what coreBOS stores encoded in settings-like columns (prefixes, formats). */
export function decodeHtml(value: string): string {
  return value.replace(/&(amp|lt|gt|quot|apos|#0*39|#x0*27|nbsp);/gi, (_m, name: string) => {
    const n = name.toLowerCase()
    if (n === 'amp') return '&'
    if (n === 'lt') return '<'
    if (n === 'gt') return '>'
    if (n === 'quot') return '"'
    if (n === 'nbsp') return '\u00a0'
    return "'"
  })
}

// ---------------------------------------------------------------------------------------------
// column values
// ---------------------------------------------------------------------------------------------

const INT_RANGES: Record<string, [bigint, bigint]> = {
  tinyint: [-128n, 127n],
  smallint: [-32768n, 32767n],
  mediumint: [-8388608n, 8388607n],
  int: [-2147483648n, 2147483647n],
  integer: [-2147483648n, 2147483647n],
  bigint: [-9223372036854775808n, 9223372036854775807n],
}
const DECIMAL_TYPES = new Set(['decimal', 'numeric'])
const FLOAT_TYPES = new Set(['float', 'double', 'real'])
const DATE_TYPES = new Set(['date', 'datetime', 'timestamp', 'time', 'year'])
const TEXT_TYPES = new Set(['tinytext', 'text', 'mediumtext', 'longtext', 'tinyblob', 'blob', 'mediumblob', 'longblob'])
const CHAR_TYPES = new Set(['char', 'varchar'])

export function isNumericSqlType(dataType: string): boolean {
  return dataType in INT_RANGES || DECIMAL_TYPES.has(dataType) || FLOAT_TYPES.has(dataType)
}

export function isDateSqlType(dataType: string): boolean {
  return DATE_TYPES.has(dataType)
}

/** Characters outside the Basic Multilingual Plane: 4 bytes in UTF-8, not storable in utf8mb3. */
const ASTRAL = /[\u{10000}-\u{10FFFF}]/u

function isUtf8mb3(charset: string | null): boolean {
  return charset === 'utf8' || charset === 'utf8mb3'
}

export class ValueError extends Error {}

/** What coreBOS stores for an empty value (get_column_value): NULL dates, 0 numbers and references, '' text. */
export function emptyValue(column: ColumnInfo, uitype: number): string | null {
  if (uitype === 56) return '0'
  if (isDateSqlType(column.dataType)) return null
  if (isNumericSqlType(column.dataType) || uitype === 10) return '0'
  return ''
}

function validDate(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false
  return d <= new Date(Date.UTC(y, m, 0)).getUTCDate()
}

/**
 * The storage form of `value` for a column, or a ValueError saying why it cannot be stored.
 * Empty input (null or '') becomes the coreBOS empty value for the column.
 */
export function toColumnValue(value: string | null | undefined, column: ColumnInfo, uitype: number): string | null {
  if (value === null || value === undefined || value === '') return emptyValue(column, uitype)
  if (typeof value !== 'string') value = String(value)
  const t = column.dataType

  if (uitype === 56) {
    const v = value.trim().toLowerCase()
    if (['1', 'on', 'true', 'yes'].includes(v)) return '1'
    if (['0', 'off', 'false', 'no'].includes(v)) return '0'
    throw new ValueError(`'${value}' is not a checkbox value (use '1' or '0')`)
  }
  if (uitype === 33 || uitype === 3313 || uitype === 3314) {
    // coreBOS splits on '|##|', trims each value and joins with ' |##| '
    value = value
      .split('|##|')
      .map((v) => v.trim())
      .filter((v) => v !== '')
      .join(' |##| ')
    if (value === '') return emptyValue(column, uitype)
  }

  if (t in INT_RANGES) {
    const v = value.trim()
    if (!/^[+-]?\d+$/.test(v)) throw new ValueError(`'${value}' is not an integer`)
    let [min, max] = INT_RANGES[t]
    if (/unsigned/i.test(column.columnType)) {
      max = max * 2n + 1n
      min = 0n
    }
    const n = BigInt(v)
    if (n < min || n > max) throw new ValueError(`${v} is out of range for a ${column.columnType} column`)
    return n.toString()
  }
  if (DECIMAL_TYPES.has(t)) {
    const v = value.trim()
    const m = /^([+-])?(\d*)(?:\.(\d*))?$/.exec(v)
    if (!m || (m[2] === '' && (m[3] ?? '') === '')) throw new ValueError(`'${value}' is not a number (use a dot for decimals)`)
    const intDigits = m[2].replace(/^0+(?=\d)/, '')
    if (column.precision !== null && column.scale !== null && intDigits.length > column.precision - column.scale) {
      throw new ValueError(`${v} is too large for a ${column.columnType} column`)
    }
    return v
  }
  if (FLOAT_TYPES.has(t)) {
    const v = value.trim()
    if (v === '' || !Number.isFinite(Number(v))) throw new ValueError(`'${value}' is not a number`)
    return v
  }
  if (t === 'date') {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value.trim())
    if (!m || !validDate(Number(m[1]), Number(m[2]), Number(m[3]))) throw new ValueError(`'${value}' is not a valid date (YYYY-MM-DD)`)
    return m[0]
  }
  if (t === 'datetime' || t === 'timestamp') {
    const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(value.trim())
    const ok =
      m &&
      validDate(Number(m[1]), Number(m[2]), Number(m[3])) &&
      Number(m[4] ?? 0) < 24 &&
      Number(m[5] ?? 0) < 60 &&
      Number(m[6] ?? 0) < 60
    if (!m || !ok) throw new ValueError(`'${value}' is not a valid date and time (YYYY-MM-DD HH:MM:SS)`)
    return `${m[1]}-${m[2]}-${m[3]} ${m[4] ?? '00'}:${m[5] ?? '00'}:${m[6] ?? '00'}`
  }
  if (t === 'time') {
    const m = /^(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value.trim())
    if (!m || Number(m[2]) > 59 || Number(m[3] ?? 0) > 59) throw new ValueError(`'${value}' is not a valid time (HH:MM:SS)`)
    return `${m[1]}:${m[2]}:${m[3] ?? '00'}`
  }

  if (isUtf8mb3(column.charset) && ASTRAL.test(value)) {
    const ch = ASTRAL.exec(value)![0]
    throw new ValueError(`contains the 4-byte character '${ch}' (U+${ch.codePointAt(0)!.toString(16).toUpperCase()}), which the utf8mb3 column cannot store`)
  }
  if (CHAR_TYPES.has(t) && column.maxLength !== null) {
    const length = [...value].length
    if (length > column.maxLength) throw new ValueError(`is ${length} characters long, the column holds ${column.maxLength}`)
  } else if (TEXT_TYPES.has(t) && column.octetLength !== null) {
    const bytes = Buffer.byteLength(value, 'utf8')
    if (bytes > column.octetLength) throw new ValueError(`is ${bytes} bytes long, the column holds ${column.octetLength}`)
  }
  return value
}
