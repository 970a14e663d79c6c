/**
 * Redaction (src/redaction.ts): any registered secret, however short, leaves no trace in any
 * encoding cbhs's output uses. The first block goes through the process-wide functions every
 * output path calls (errors.ts re-exports them); the properties run over fresh Redactors.
 */
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {redact, registerSecret} from '../../src/errors.js'
import {MASK, Redactor} from '../../src/redaction.js'

/** The encodings a secret may appear in: raw, JSON string content, JSON in JSON, URL component, form encoding. */
function forms(secret: string): string[] {
  const json = JSON.stringify(secret).slice(1, -1)
  return [...new Set([secret, json, JSON.stringify(json).slice(1, -1), encodeURIComponent(secret), new URLSearchParams({s: secret}).toString().slice(2)])]
}

describe('redact: the process-wide secrets', () => {
  it('masks a secret of three characters, two, and one', () => {
    registerSecret('q7#')
    registerSecret('Zx')
    registerSecret('§')
    expect(redact('password q7# then Zx and §')).toBe(`password ${MASK} then ${MASK} and ${MASK}`)
  })

  it('masks a password that JSON escaping changed: quotes, backslashes, a newline', () => {
    const password = 'pa"ss\\wo\nrd'
    registerSecret(password)
    const json = JSON.stringify({error: `Access denied with ${password}`})
    expect(json).not.toContain(password)
    expect(redact(json)).toBe(JSON.stringify({error: `Access denied with ${MASK}`}))
    // JSON inside JSON (a HubSpot error body quoted in a --json document)
    expect(redact(JSON.stringify({body: json}))).not.toMatch(/pa.{0,4}ss/)
  })

  it('masks non-ASCII secrets written raw, as \\u escapes in either case, and URL-encoded', () => {
    const password = 'Müller-ß€😀'
    registerSecret(password)
    const escaped = password.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    for (const text of [password, escaped, escaped.replace(/\\u([0-9a-f]{4})/g, (_, h: string) => `\\u${h.toUpperCase()}`), encodeURIComponent(password), encodeURIComponent(password).replace(/%[0-9A-F]{2}/g, (x) => x.toLowerCase())]) {
      expect(redact(`[${text}]`), text).toBe(`[${MASK}]`)
    }
  })

  it('masks URL-encoded forms: %xx in either case, + for a space, encoded twice', () => {
    const password = 'a b/c@d:e?f'
    registerSecret(password)
    const component = encodeURIComponent(password)
    expect(redact(`mysql://u:${component}@h/db`)).toBe(`mysql://u:${MASK}@h/db`)
    expect(redact(`p=${new URLSearchParams({p: password}).toString().slice(2)}&x=1`)).toBe(`p=${MASK}&x=1`)
    expect(redact(`p=${component.replace(/%[0-9A-F]{2}/g, (x) => x.toLowerCase())}`)).toBe(`p=${MASK}`)
    expect(redact(`next=${encodeURIComponent(component)}`)).toBe(`next=${MASK}`)
  })

  it('masks the base64 of a secret (an Authorization header in a dump)', () => {
    const token = 'tk-base64-secret-value'
    registerSecret(token)
    expect(redact(`Authorization: Basic ${Buffer.from(token).toString('base64')}`)).toBe(`Authorization: Basic ${MASK}`)
  })

  it('leaves text without a secret alone', () => {
    expect(redact('list contacts answered 200 with text/html, not JSON')).toBe('list contacts answered 200 with text/html, not JSON')
  })
})

describe('Redactor properties', () => {
  // '*' is left out: the mask is made of it
  const secretChar = fc.oneof(
    fc.constantFrom('"', '\\', "'", ' ', '%', '+', '/', '\n', '\t', 'é', 'ß', '€', '😀', '&', '=', '?', '#', '<', '>'),
    fc.string({unit: 'grapheme-ascii', minLength: 1, maxLength: 1}).filter((c) => c !== '*'),
  )
  const secret = fc.array(secretChar, {minLength: 1, maxLength: 12}).map((chars) => chars.join(''))

  it('no encoded form of any secret, from one character up, survives in the text it was embedded in', () => {
    fc.assert(
      fc.property(secret, fc.string({maxLength: 20}), fc.string({maxLength: 20}), (s, before, after) => {
        const redactor = new Redactor()
        redactor.add(s)
        for (const form of forms(s)) {
          const out = redactor.redact(`${before}${form}${after}`)
          expect(out).toContain(MASK)
          expect(out.includes(form), `${JSON.stringify(form)} left in ${JSON.stringify(out)}`).toBe(false)
        }
        const json = redactor.redact(JSON.stringify({message: `${before}${s}${after}`, nested: JSON.stringify({s})}))
        for (const form of forms(s)) expect(json.includes(form), `${JSON.stringify(form)} left in ${json}`).toBe(false)
      }),
      {numRuns: 400},
    )
  })

  it('text sharing no character with the secret is left unchanged', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-m]{1,8}$/), fc.stringMatching(/^[n-z0-9 .,:]{0,40}$/), (s, text) => {
        const redactor = new Redactor()
        redactor.add(s)
        expect(redactor.redact(text)).toBe(text)
      }),
    )
  })

  it('a secret holding another is masked whole', () => {
    const redactor = new Redactor()
    redactor.add('ab')
    redactor.add('xxabyy')
    expect(redactor.redact('1 xxabyy 2 ab')).toBe(`1 ${MASK} 2 ${MASK}`)
  })
})
