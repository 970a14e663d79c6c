/**
 * Hostile answers: the emulator lying the way a broken proxy, a misrouted request or a buggy
 * HubSpot release might, switched on by a test through the control API. The default emulator is
 * strict and faithful; nothing here runs unless a test asks for it.
 *
 * Kinds (each applies to the requests whose path matches `match`, for `count` answers, default all):
 *   html          200 text/html: a login or proxy page where JSON was expected (nothing is executed)
 *   emptyBody     200 with a JSON content type and no body
 *   wrongShape    200 JSON without its `results` list (they come under another name)
 *   duplicateIds  the first object (or association row) of a page listed twice
 *   nonDigitIds   the first object's id (or association target) replaced by `id`, default `../../x" OR 1=1 -- `
 *   repeatCursor  the page's next cursor is the cursor the request sent (or, on the first page, one
 *                 that leads back to the first page): a client that trusts it never finishes
 *   badTotal      a search's `total` smaller than the results it lists
 *   redirect      302 to `location` (an origin such as http://127.0.0.1:OTHERPORT) + the same path
 *
 * Over HTTP: POST /_emulator/hostile {kind, match?: "regexp", method?, count?, id?, location?};
 * DELETE /_emulator/hostile clears them. Requests answered by a hostile rule are logged with
 * `hostile: kind`.
 */

export const HOSTILE_KINDS = ['html', 'emptyBody', 'wrongShape', 'duplicateIds', 'nonDigitIds', 'repeatCursor', 'badTotal', 'redirect'] as const
export type HostileKind = (typeof HOSTILE_KINDS)[number]

export const HOSTILE_ID = '../../x" OR 1=1 -- '

export interface HostileSpec {
  kind: HostileKind
  /** tested against the request path (no query string); default every API path */
  match?: RegExp
  /** only requests with this method (GET, POST …) */
  method?: string
  /** answer this many matching requests, then behave again; default unlimited */
  count?: number
  /** nonDigitIds: the id to put in; default HOSTILE_ID */
  id?: string
  /** redirect: the origin to send the client to, e.g. 'http://127.0.0.1:4321' */
  location?: string
}

interface Rule {
  spec: HostileSpec
  remaining: number | null
}

/** What the server needs of the request to produce a hostile answer. */
export interface HostileRequest {
  method: string
  path: string
  query: URLSearchParams
  body: unknown
}

/** A whole answer that replaces the API's (sent before the API runs: no write happens). */
export interface HostileReplacement {
  status: number
  headers: Record<string, string>
  contentType: string | null
  body: string
}

export class HostileModes {
  private rules: Rule[] = []

  add(spec: HostileSpec): void {
    if (!HOSTILE_KINDS.includes(spec.kind)) throw new Error(`unknown hostile kind ${String(spec.kind)}; one of ${HOSTILE_KINDS.join(', ')}`)
    if (spec.kind === 'redirect' && !spec.location) throw new Error('a redirect needs a location (an origin such as http://127.0.0.1:4321)')
    if (spec.count !== undefined && !(Number.isInteger(spec.count) && spec.count > 0)) throw new Error('hostile count must be a positive integer')
    this.rules.push({spec, remaining: spec.count ?? null})
  }

  clear(): void {
    this.rules = []
  }

  /** The rule for this request, if any; consumes its count. */
  pick(method: string, path: string): HostileSpec | null {
    for (const rule of this.rules) {
      const {spec} = rule
      if (rule.remaining === 0) continue
      if (spec.method && spec.method.toUpperCase() !== method) continue
      if (spec.match && !spec.match.test(path)) continue
      if (rule.remaining !== null) rule.remaining--
      return spec
    }
    return null
  }
}

/** html, emptyBody and redirect replace the answer before the API runs; the others rewrite its body. */
export function replacementFor(spec: HostileSpec, request: HostileRequest): HostileReplacement | null {
  switch (spec.kind) {
    case 'html':
      return {
        status: 200,
        headers: {},
        contentType: 'text/html; charset=utf-8',
        body: '<!DOCTYPE html><html><head><title>Sign in</title></head><body><h1>Please sign in</h1><form action="/login"></form></body></html>',
      }
    case 'emptyBody':
      return {status: 200, headers: {'Content-Type': 'application/json;charset=utf-8'}, contentType: null, body: ''}
    case 'redirect': {
      const search = request.query.toString()
      const target = `${spec.location!.replace(/\/+$/, '')}${request.path}${search ? `?${search}` : ''}`
      return {status: 302, headers: {Location: target}, contentType: 'text/html; charset=utf-8', body: `<a href="${target}">Found</a>`}
    }
    default:
      return null
  }
}

type Json = Record<string, unknown>

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The cursor the request sent: `after` in the query (list) or in the body (search). */
function cursorSent(request: HostileRequest): string | undefined {
  const inQuery = request.query.get('after')
  if (inQuery) return inQuery
  if (isRecord(request.body) && typeof request.body.after === 'string' && request.body.after) return request.body.after
  return undefined
}

/** Rewrites a 2xx JSON body as the rule says; other answers pass unchanged. */
export function rewriteBody(spec: HostileSpec, request: HostileRequest, status: number, body: unknown, firstPageCursor: string): unknown {
  if (status < 200 || status >= 300 || !isRecord(body)) return body
  const out: Json = structuredClone(body)
  const results = Array.isArray(out.results) ? (out.results as unknown[]) : undefined
  switch (spec.kind) {
    case 'wrongShape':
      if ('results' in out) {
        out.items = out.results
        delete out.results
      }
      return out
    case 'duplicateIds':
      if (results && results.length > 0) results.push(structuredClone(results[0]))
      return out
    case 'nonDigitIds': {
      const first = results?.[0]
      const id = spec.id ?? HOSTILE_ID
      if (isRecord(first) && 'id' in first) first.id = id
      else if (isRecord(first) && Array.isArray(first.to) && isRecord(first.to[0])) first.to[0].toObjectId = id
      else if (isRecord(first) && isRecord(first.from)) first.from.id = id
      else if (isRecord(first) && 'toObjectId' in first) first.toObjectId = id
      return out
    }
    case 'repeatCursor': {
      const sent = cursorSent(request)
      if (isAssociationRead(request)) {
        // association batch read pages per input: every row says there is more, at the cursor it was asked for
        const inputs = isRecord(request.body) && Array.isArray(request.body.inputs) ? (request.body.inputs as Json[]) : []
        for (const row of results ?? []) {
          if (!isRecord(row) || !isRecord(row.from)) continue
          const asked = inputs.find((i) => String(i.id) === String((row.from as Json).id))
          row.paging = {next: {after: typeof asked?.after === 'string' ? asked.after : firstPageCursor}}
        }
        return out
      }
      out.paging = {next: {after: sent ?? (readNext(out) ?? firstPageCursor)}}
      return out
    }
    case 'badTotal':
      if (typeof out.total === 'number') out.total = (results?.length ?? 0) - 1
      return out
    default:
      return body
  }
}

function isAssociationRead(request: HostileRequest): boolean {
  return /\/associations\/(?:[^/]+\/)?[^/]+\/[^/]+\/batch\/read$/.test(request.path)
}

function readNext(body: Json): string | undefined {
  const paging = body.paging
  if (!isRecord(paging) || !isRecord(paging.next)) return undefined
  return typeof paging.next.after === 'string' ? paging.next.after : undefined
}
