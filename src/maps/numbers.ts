/**
 * Numbers as exact decimal strings. coreBOS decimal(25,6) values have more digits than a double
 * holds, so nothing here goes through floating point.
 */

export interface Decimal {
  negative: boolean
  /** integer digits without leading zeros ('' for zero) */
  int: string
  /** fraction digits without trailing zeros */
  frac: string
}

const NUMBER = /^([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d{1,4}))?$/

/** Parses '1500.00', '-0.5', '+3', '.5', '1.5E7'; null for anything else ('1,5', '', 'abc', 'NaN'). */
export function parseDecimal(text: string): Decimal | null {
  const m = NUMBER.exec(text.trim())
  if (!m) return null
  let int = m[2] ?? ''
  let frac = m[3] ?? ''
  if (int === '' && frac === '') return null
  const exp = Number(m[4] ?? 0)
  if (exp > 0) {
    frac = frac.padEnd(exp, '0')
    int += frac.slice(0, exp)
    frac = frac.slice(exp)
  } else if (exp < 0) {
    int = int.padStart(-exp, '0')
    frac = int.slice(int.length + exp) + frac
    int = int.slice(0, int.length + exp)
  }
  int = int.replace(/^0+/, '')
  frac = frac.replace(/0+$/, '')
  const negative = m[1] === '-' && (int !== '' || frac !== '')
  return {negative, int, frac}
}

export function formatDecimal(d: Decimal): string {
  return `${d.negative ? '-' : ''}${d.int || '0'}${d.frac ? `.${d.frac}` : ''}`
}

/** Canonical form: no '+', no leading or trailing zeros, no exponent; '-0' is '0'. Null if not a number. */
export function normalizeDecimal(text: string): string | null {
  const d = parseDecimal(text)
  return d ? formatDecimal(d) : null
}

/** Rounds half away from zero to `scale` fraction digits (MySQL's rounding for DECIMAL). */
export function roundDecimal(d: Decimal, scale: number): Decimal {
  if (d.frac.length <= scale) return d
  const keep = d.int + d.frac.slice(0, scale)
  const up = d.frac.charCodeAt(scale) >= 53 // '5'
  let digits = keep === '' ? '0' : keep
  if (up) digits = (BigInt(digits) + 1n).toString().padStart(digits.length, '0')
  const int = digits.slice(0, digits.length - scale).replace(/^0+/, '')
  const frac = digits.slice(digits.length - scale).replace(/0+$/, '')
  return {negative: d.negative && (int !== '' || frac !== ''), int, frac}
}

export type NumericColumn =
  | {kind: 'integer'; min: bigint; max: bigint}
  | {kind: 'decimal'; precision: number; scale: number}
  | {kind: 'free'}

// the installer's decimal columns behind coreBOS number fields, for when sqlType carries no (p,s)
const KNOWN_DECIMALS: Record<string, [number, number]> = {
  'vtiger_potential.amount': [18, 6],
  'vtiger_potential.probability': [7, 3],
  'vtiger_potential.forecast_amount': [27, 6],
  'vtiger_account.annualrevenue': [25, 6],
  'vtiger_leaddetails.annualrevenue': [25, 6],
}

const INT_BITS: Record<string, number> = {tinyint: 8, smallint: 16, mediumint: 24, int: 32, integer: 32, bigint: 64}

/**
 * The numeric range of a column from its SQL type ('int', 'int(11) unsigned', 'decimal',
 * 'decimal(25,6)'). A bare 'decimal' of an unknown column is taken as decimal(25,6), coreBOS's usual
 * currency column.
 */
export function numericColumn(sqlType: string, table?: string, column?: string): NumericColumn {
  const t = sqlType.toLowerCase().trim()
  const base = /^[a-z]+/.exec(t)?.[0] ?? ''
  if (base in INT_BITS) {
    const bits = BigInt(INT_BITS[base])
    if (/unsigned/.test(t)) return {kind: 'integer', min: 0n, max: (1n << bits) - 1n}
    return {kind: 'integer', min: -(1n << (bits - 1n)), max: (1n << (bits - 1n)) - 1n}
  }
  if (base === 'decimal' || base === 'numeric') {
    const ps = /\((\d+)\s*(?:,\s*(\d+))?\)/.exec(t)
    if (ps) return {kind: 'decimal', precision: Number(ps[1]), scale: Number(ps[2] ?? 0)}
    const known = KNOWN_DECIMALS[`${table ?? ''}.${column ?? ''}`]
    return {kind: 'decimal', precision: known?.[0] ?? 25, scale: known?.[1] ?? 6}
  }
  return {kind: 'free'}
}

/** Fits a number to a column: {value} (possibly rounded, with a note) or {error}. */
export function fitNumber(d: Decimal, col: NumericColumn): {value: string; rounded?: string} | {error: string} {
  if (col.kind === 'integer') {
    if (d.frac !== '') return {error: 'is not a whole number (the column holds integers)'}
    const n = BigInt(formatDecimal(d))
    if (n < col.min || n > col.max) return {error: `is out of the column's range ${col.min}…${col.max}`}
    return {value: formatDecimal(d)}
  }
  if (col.kind === 'decimal') {
    const r = roundDecimal(d, col.scale)
    if (r.int.length > col.precision - col.scale) {
      return {error: `is too large for the column decimal(${col.precision},${col.scale}) (at most ${col.precision - col.scale} integer digits)`}
    }
    const value = formatDecimal(r)
    return r.frac === d.frac && r.int === d.int ? {value} : {value, rounded: `rounded to ${col.scale} decimals`}
  }
  return {value: formatDecimal(d)}
}
