/**
 * The one place secrets are scrubbed from text before it is shown or stored (DESIGN §5.9).
 * Secrets are registered once (config loader, gateway, database connection) and `redact` runs
 * wherever output leaves the process: stdout, stderr, logs, the ledger, run records.
 *
 * A secret is found however the output encoded it, character by character, so one matcher covers
 * raw text, JSON (`\"`, `\\`, `\n`, `\u00e9`, escaped twice when JSON sits inside JSON), backslash
 * escapes (`\'`), URL encoding (`%C3%A9`, either hex case, `+` for a space, `%25` when encoded twice)
 * and mixes of them; the base64 of the whole secret is caught too.
 *
 * Every secret counts, however short. A one- or two-character password also masks every innocent
 * occurrence of those characters, which makes output hard to read: that is the price of never
 * printing it, and the README says to use long secrets.
 */

export const MASK = '***'

export class Redactor {
  private readonly patterns = new Map<string, RegExp>()
  private ordered: RegExp[] = []

  add(secret: string | undefined | null): void {
    if (!secret || this.patterns.has(secret)) return
    this.patterns.set(secret, matcherFor(secret))
    // a secret that contains another is masked whole, not around the shorter one
    this.ordered = [...this.patterns.entries()].sort(([a], [b]) => b.length - a.length).map(([, pattern]) => pattern)
  }

  redact(text: string): string {
    let out = text
    for (const pattern of this.ordered) out = out.replace(pattern, MASK)
    return out
  }
}

const processRedactor = new Redactor()

/** Registers a secret for this process; empty and missing values are ignored. */
export function registerSecret(value: string | undefined | null): void {
  processRedactor.add(value)
}

/** Removes every registered secret, in any of the encodings above, from `text`. */
export function redact(text: string): string {
  return processRedactor.redact(text)
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')
}

/** A hex digit in either case, e.g. 'e' → '[eE]'. */
function hex(digits: string): string {
  return [...digits].map((d) => (/[a-f]/i.test(d) ? `[${d.toLowerCase()}${d.toUpperCase()}]` : d)).join('')
}

/** up to three backslashes: a character escaped once, twice (JSON in JSON) or by a shell or SQL quoter */
const BACKSLASHES = '\\\\{0,3}'
const SOME_BACKSLASHES = '\\\\{1,3}'
const JSON_SHORT: Record<string, string> = {'\n': 'n', '\r': 'r', '\t': 't', '\b': 'b', '\f': 'f'}

/** Every way one character (a code point) of a secret may be written in output. */
function characterForms(ch: string): string {
  const forms = new Set<string>([`${BACKSLASHES}${escapeRegExp(ch)}`])
  if (JSON_SHORT[ch]) forms.add(`${SOME_BACKSLASHES}${JSON_SHORT[ch]}`)
  // \uXXXX, one per UTF-16 unit (an astral character is a surrogate pair)
  const units = [...Array.from({length: ch.length}, (_, i) => ch.charCodeAt(i).toString(16).padStart(4, '0'))]
  forms.add(units.map((u) => `${SOME_BACKSLASHES}u${hex(u)}`).join(''))
  // percent-encoded UTF-8 bytes, perhaps encoded twice (%25 is the percent sign)
  const bytes = [...Buffer.from(ch, 'utf8')].map((b) => b.toString(16).padStart(2, '0'))
  forms.add(bytes.map((b) => `%(?:25)?${hex(b)}`).join(''))
  if (ch === ' ') forms.add('\\+')
  return `(?:${[...forms].join('|')})`
}

function matcherFor(secret: string): RegExp {
  const sequence = [...secret].map(characterForms).join('')
  const base64 = [Buffer.from(secret, 'utf8').toString('base64'), Buffer.from(secret, 'utf8').toString('base64url')]
  const whole = [...new Set(base64.map((b) => b.replace(/=+$/, '')))].map((b) => `${escapeRegExp(b)}=*`)
  return new RegExp(`${sequence}|${whole.join('|')}`, 'g')
}
