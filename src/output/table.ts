/** cli-table3 for humans; colourless when stdout is not a terminal or NO_COLOR is set. */
import Table from 'cli-table3'

export function renderTable(head: string[], rows: Array<Array<string | number>>, options: {colWidths?: number[]} = {}): string {
  const plain = !process.stdout.isTTY || process.env.NO_COLOR !== undefined
  const table = new Table({
    head,
    style: plain ? {head: [], border: []} : {head: ['cyan']},
    wordWrap: true,
    ...(options.colWidths ? {colWidths: options.colWidths} : {}),
  })
  for (const row of rows) table.push(row.map((cell) => String(cell)))
  return table.toString()
}
