/**
 * A pass's warnings with repeats folded: the same warning about many records (an owner with no
 * counterpart, said for every record it owns; a stand-in every imported contact needs) is said once,
 * for the first record, with how many more it concerned. Cron logs stay short and nothing is hidden:
 * the first record is named and the count is exact.
 */
const RECORD_PREFIX = /^(?:\w+ \d+|\w+ \(HubSpot \d+\)|HubSpot \w+ \d+): /

const folders = new WeakMap<string[], (message: string) => void>()

/** The folder of one list of warnings (a pass report's): every stream of the pass folds into it. */
export function foldingWarnings(into: string[]): (message: string) => void {
  const known = folders.get(into)
  if (known) return known
  const said = new Map<string, {index: number; first: string; more: number}>()
  const fold = (message: string) => {
    const prefix = RECORD_PREFIX.exec(message)
    if (!prefix) {
      if (!said.has(message)) {
        said.set(message, {index: into.length, first: message, more: 0})
        into.push(message)
      }
      return
    }
    const about = message.slice(prefix[0].length)
    const entry = said.get(about)
    if (!entry) {
      said.set(about, {index: into.length, first: message, more: 0})
      into.push(message)
      return
    }
    entry.more++
    into[entry.index] = `${entry.first} (and ${entry.more.toLocaleString('en-US')} more record${entry.more === 1 ? '' : 's'})`
  }
  folders.set(into, fold)
  return fold
}
