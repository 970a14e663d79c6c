/**
 * cli-table3 for humans: compact (no borders, no rule between rows), as wide as the terminal and
 * no wider, colourless when stdout is not a terminal or NO_COLOR is set.
 */
import Table from 'cli-table3'

/**
 * How a column gives way when the table is too wide: `wrap` onto more lines (the default), `cut`
 * with '…' (only for values shown in full one command away, e.g. a failure message by
 * `cbhs status --failure ID`), `keep` never (ids, counts, short codes).
 */
export type Fit = 'wrap' | 'cut' | 'keep'

export interface Column {
  head: string
  fit?: Fit
  align?: 'left' | 'right'
}

type Cell = string | number

const GAP = 2
/** narrower than this a column is not worth having: it wraps into a ribbon */
const MIN_WIDTH = 6

/**
 * The width output is laid out for: the terminal's columns when stdout is one, else COLUMNS, else
 * 80 (a pipe, a file, cron mail).
 */
export function outputWidth(stream: NodeJS.WriteStream = process.stdout, env: NodeJS.ProcessEnv = process.env): number {
  if (stream.isTTY && stream.columns > 0) return stream.columns
  const fromEnv = Number(env.COLUMNS)
  return Number.isInteger(fromEnv) && fromEnv >= 20 ? fromEnv : 80
}

function cellWidth(text: string): number {
  return Math.max(0, ...text.split('\n').map((line) => [...line].length))
}

/** '…' at the end of a value cut to `width` characters (newlines flattened first). */
export function cut(text: string, width: number): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  const chars = [...flat]
  return chars.length > width ? `${chars.slice(0, Math.max(1, width - 1)).join('')}…` : flat
}

/**
 * Column widths that fit `width`: every column gets its natural width if they all fit; otherwise
 * `keep` columns keep theirs and the others share what is left in proportion to their natural
 * widths, never below MIN_WIDTH (the table may then still be too wide, and then only by the
 * minimum widths: a 30-column table on a 20-column terminal).
 */
export function fitWidths(natural: number[], fits: Fit[], width: number): number[] {
  const available = width - GAP * (natural.length - 1)
  const total = natural.reduce((a, b) => a + b, 0)
  if (total <= available) return natural
  const fixed = natural.reduce((sum, w, i) => sum + (fits[i] === 'keep' ? w : 0), 0)
  const flexible = natural.map((w, i) => (fits[i] === 'keep' ? 0 : w))
  const flexTotal = flexible.reduce((a, b) => a + b, 0)
  let room = Math.max(0, available - fixed)
  const widths = natural.map((w, i) => (fits[i] === 'keep' ? w : 0))
  // columns already narrower than their share keep their natural width; the rest share the remainder
  let open = flexible.map((w, i) => (w > 0 ? i : -1)).filter((i) => i >= 0)
  let openTotal = flexTotal
  for (let changed = true; changed; ) {
    changed = false
    for (const i of open) {
      if (natural[i]! <= Math.floor((room * natural[i]!) / openTotal)) {
        widths[i] = natural[i]!
        room -= natural[i]!
        openTotal -= natural[i]!
        open = open.filter((j) => j !== i)
        changed = true
      }
    }
  }
  for (const i of open) widths[i] = Math.min(natural[i]!, Math.max(MIN_WIDTH, Math.floor((room * natural[i]!) / Math.max(1, openTotal))))
  return widths
}

export function renderTable(head: Array<string | Column>, rows: Cell[][], options: {width?: number} = {}): string {
  const columns: Column[] = head.map((h) => (typeof h === 'string' ? {head: h} : h))
  const fits = columns.map((c) => c.fit ?? 'wrap')
  const text = rows.map((row) => columns.map((_, i) => String(row[i] ?? '')))
  const natural = columns.map((c, i) => Math.max(cellWidth(c.head), ...text.map((row) => cellWidth(row[i]!)), 1))
  const widths = fitWidths(natural, fits, options.width ?? outputWidth())
  const body = text.map((row) => row.map((cell, i) => (fits[i] === 'cut' && cellWidth(cell) > widths[i]! ? cut(cell, widths[i]!) : cell)))
  const plain = !process.stdout.isTTY || process.env.NO_COLOR !== undefined
  const table = new Table({
    head: columns.map((c) => c.head),
    colWidths: widths,
    colAligns: columns.map((c) => c.align ?? 'left'),
    wordWrap: true,
    wrapOnWordBoundary: true,
    style: {head: plain ? [] : ['cyan'], border: [], 'padding-left': 0, 'padding-right': 0, compact: true},
    chars: {
      top: '', 'top-mid': '', 'top-left': '', 'top-right': '',
      bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
      left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '',
      middle: ' '.repeat(GAP),
    },
  })
  table.push(widths.map((w) => '─'.repeat(w)))
  for (const row of body) table.push(row)
  // cli-table3 pads the last column too: trailing blanks only make lines look wider than they are
  return table
    .toString()
    .split('\n')
    .map((line) => line.replace(/\s+$/, ''))
    .join('\n')
}

/**
 * Prose lines wrapped at spaces to `width`, continuations indented under the line's own indent
 * plus two; a word longer than the width (a URL, a path) stays whole rather than being broken.
 */
export function wrapText(text: string, width: number = outputWidth()): string {
  return text
    .split('\n')
    .flatMap((line) => {
      if ([...line].length <= width) return [line]
      const indent = /^\s*/.exec(line)![0]
      const next = `${indent}  `
      const out: string[] = []
      let current = indent
      for (const word of line.slice(indent.length).split(/ +/)) {
        const start = current === indent || current === next
        if (!start && [...current].length + 1 + [...word].length > width) {
          out.push(current)
          current = next + word
        } else current += (start ? '' : ' ') + word
      }
      out.push(current)
      return out
    })
    .join('\n')
}
