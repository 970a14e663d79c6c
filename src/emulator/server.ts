/**
 * HTTP plumbing: body parsing, auth, rate limits, fault injection, JSON replies, the request log,
 * and the unauthenticated /_emulator/* control routes.
 */
import {randomUUID} from 'node:crypto'
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {Socket} from 'node:net'
import {Api, FIRST_PAGE_CURSOR, type Reply} from './api.js'
import {Control, type EmulatorControl} from './control.js'
import {EmuError, notFound, validationError} from './errors.js'
import {FaultInjector, type FaultKind, type FaultSpec} from './faults.js'
import {HOSTILE_KINDS, HostileModes, replacementFor, rewriteBody, type HostileKind, type HostileSpec} from './hostile.js'
import {RateLimiter, type LimitsOptions, type RequestKind} from './limits.js'
import {SEARCH_MAX_BODY} from './search.js'
import {Store, type MergeMode} from './store.js'

export interface EmulatorServerOptions {
  token?: string
  portalId?: number
  searchLagMs?: number
  limits?: false | LimitsOptions
  clock?: {nowMs(): number}
  mergeMode?: MergeMode
  /** HubSpot does not keep batch results in input order; default true mimics that */
  shuffleBatchResults?: boolean
}

export interface EmulatorServer {
  server: Server
  control: EmulatorControl
  token: string
  /** destroys every open socket, hung requests included */
  destroySockets(): void
}

const JSON_TYPE = 'application/json;charset=utf-8'

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}, contentType: string | null = JSON_TYPE): void {
  const payload = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body)
  const h: Record<string, string | number> = {...headers}
  if (payload !== '' && contentType) h['Content-Type'] = contentType
  if (status !== 204) h['Content-Length'] = Buffer.byteLength(payload)
  res.writeHead(status, h)
  res.end(status === 204 ? undefined : payload)
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

function parseJson(raw: string): unknown {
  if (raw.trim() === '') return undefined
  try {
    return JSON.parse(raw)
  } catch (e) {
    throw validationError(`Invalid input JSON: ${(e as Error).message}`)
  }
}

/** The request body for a hostile rewrite; a body the API would refuse is simply not looked at. */
function safeJson(raw: string): unknown {
  try {
    return raw.trim() === '' ? undefined : JSON.parse(raw)
  } catch {
    return undefined
  }
}

function faultReply(kind: Exclude<FaultKind, 'hang' | 'reset' | 'no-content-type'>): {status: number; body: unknown; contentType: string} {
  if (kind === 'html') {
    return {
      status: 502,
      contentType: 'text/html; charset=utf-8',
      body: '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>cloudflare</center></body></html>',
    }
  }
  if (kind === 429) {
    return {status: 429, contentType: JSON_TYPE, body: {
      status: 'error', message: 'You have reached your ten_secondly_rolling limit.', errorType: 'RATE_LIMIT', category: 'RATE_LIMITS',
      correlationId: randomUUID(), policyName: 'TEN_SECONDLY_ROLLING', groupName: 'privateapps:injected',
    }}
  }
  const messages: Record<number, [string, string]> = {
    500: ['internal error', 'INTERNAL_ERROR'],
    502: ['Bad Gateway: the upstream service did not answer in time', 'BAD_GATEWAY'],
    504: ['Gateway Timeout: the request took too long to process', 'GATEWAY_TIMEOUT'],
    423: ['The resource is locked: too many changes to it in quick succession. Retry after 2 seconds.', 'LOCKED'],
  }
  const [message, category] = messages[kind]!
  return {status: kind, contentType: JSON_TYPE, body: new EmuError(kind, category, message).body()}
}

/** Which limit a route draws on: the specification exempts search and association batch calls from the burst. */
function requestKind(label: string): RequestKind {
  if (label.endsWith('/search')) return 'search'
  return /^POST \/crm\/(v4\/associations|associations\/\{version\})\/[^/]+\/[^/]+\/batch\//.test(label) ? 'exempt' : 'general'
}

export function createEmulatorServer(options: EmulatorServerOptions = {}): EmulatorServer {
  const token = options.token ?? 'emulator-token'
  const portalId = options.portalId ?? 12_345_678
  const clock = options.clock ?? {nowMs: () => Date.now()}
  const nowMs = () => clock.nowMs()
  const store = new Store({nowMs, portalId, mergeMode: options.mergeMode ?? 'new-id'})
  const api = new Api(store, portalId)
  api.searchLagMs = options.searchLagMs ?? 0
  api.shuffleResults = options.shuffleBatchResults ?? true
  const limiter = new RateLimiter(options.limits ?? false, portalId)
  api.limitsInfo = () => ({limit: limiter.dailyLimit(), usage: limiter.dailyUsage})
  const faults = new FaultInjector()
  const hostile = new HostileModes()
  const control = new Control(store, api, limiter, faults, hostile)
  const sockets = new Set<Socket>()

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) send(res, 500, new EmuError(500, 'INTERNAL_ERROR', `emulator bug: ${(e as Error).message}`).body())
      else res.destroy()
      console.error('[emulator]', e)
    })
  })
  server.keepAliveTimeout = 5_000
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const method = (req.method ?? 'GET').toUpperCase()
    const raw = await readBody(req)
    const path = url.pathname
    if (path === '/_emulator' || path.startsWith('/_emulator/')) {
      return handleControl(method, path, url.searchParams, raw, res)
    }
    const atMs = nowMs()
    const matched = api.match(method, path)
    const endpoint = matched && matched !== 'method-not-allowed' ? matched.endpoint : 'UNKNOWN'
    const log = (status: number, extra: {fault?: string; rateLimited?: boolean; hostile?: HostileKind} = {}) =>
      control.record({method, path, status, atMs, endpoint, ...extra})

    if (req.headers.authorization !== `Bearer ${token}`) {
      const err = new EmuError(401, 'INVALID_AUTHENTICATION',
        'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview')
      log(401)
      return send(res, 401, err.body())
    }

    const fault = faults.pick(path)
    if (fault === 'hang') {
      log(0, {fault})
      return // the socket stays open until the client gives up or close() destroys it
    }
    if (fault === 'reset') {
      log(0, {fault})
      req.socket.destroy()
      return
    }
    if (fault !== null && fault !== 'no-content-type') {
      const r = faultReply(fault)
      log(r.status, {fault: String(fault)})
      return send(res, r.status, r.body, {}, r.contentType)
    }

    const lie = hostile.pick(method, path)
    const hostileRequest = lie ? {method, path, query: url.searchParams, body: safeJson(raw)} : undefined
    const replacement = lie && replacementFor(lie, hostileRequest!)
    if (replacement) {
      log(replacement.status, {hostile: lie.kind})
      return send(res, replacement.status, replacement.body, replacement.headers, replacement.contentType)
    }

    const kind = matched && matched !== 'method-not-allowed' ? requestKind(matched.route.label) : 'general'
    const isSearch = kind === 'search'
    const decision = limiter.check(token, kind, atMs)
    if (!decision.ok) {
      log(429, {rateLimited: true})
      return send(res, 429, decision.body, decision.headers)
    }

    let reply: Reply
    try {
      if (!matched) throw notFound(`No route for ${method} ${path}`)
      if (matched === 'method-not-allowed') throw new EmuError(405, 'VALIDATION_ERROR', `Method ${method} is not allowed on ${path}`)
      if (isSearch && raw.length > SEARCH_MAX_BODY) {
        throw validationError(`Search request body is ${raw.length} characters; the maximum is ${SEARCH_MAX_BODY}`)
      }
      reply = matched.route.handler({method, path, query: url.searchParams, body: parseJson(raw), rawBody: raw, baseUrl: `http://${req.headers.host ?? '127.0.0.1'}`}, matched.params)
    } catch (e) {
      if (!(e instanceof EmuError)) throw e
      reply = {status: e.status, body: e.body()}
    }
    if (lie) reply = {...reply, body: rewriteBody(lie, hostileRequest!, reply.status, reply.body, FIRST_PAGE_CURSOR)}
    log(reply.status, {...(fault ? {fault} : {}), ...(lie ? {hostile: lie.kind} : {})})
    // no-content-type: the write happened, but the client cannot read the answer
    send(res, reply.status, reply.body, decision.headers, fault === 'no-content-type' ? null : JSON_TYPE)
  }

  function handleControl(method: string, path: string, query: URLSearchParams, raw: string, res: ServerResponse): void {
    const parts = path.split('/').filter(Boolean).slice(1)
    let body: Record<string, unknown> = {}
    try {
      const parsed = parseJson(raw)
      if (parsed !== undefined) body = parsed as Record<string, unknown>
      const result = controlRoute(method, parts, query, body)
      if (result === undefined) send(res, 204, undefined)
      else send(res, 200, result)
    } catch (e) {
      const status = e instanceof EmuError ? e.status : (e as {status?: number}).status ?? 400
      send(res, status, {status: 'error', message: (e as Error).message})
    }
  }

  function controlRoute(method: string, parts: string[], query: URLSearchParams, body: Record<string, unknown>): unknown {
    const [head, a, b, c] = parts
    const write = method === 'POST' || method === 'PUT'
    switch (head) {
      case undefined:
      case 'health':
        return {ok: true, portalId, token}
      case 'seed':
        if (!write) break
        return {results: control.seed(String(body.type), body.properties as Array<Record<string, string | null>>, {
          modifiedAt: body.modifiedAt as number | string | undefined,
          createdAt: body.createdAt as number | string | undefined,
        })}
      case 'objects':
        if (!a) break
        if (!b && method === 'GET') return {results: control.all(a, {archived: query.get('archived') === 'true'})}
        if (b && method === 'GET') {
          const obj = control.get(a, b)
          if (!obj) throw notFound()
          return obj
        }
        if (b && method === 'PATCH') return control.update(a, b, body.properties as Record<string, string | null>, {atMs: body.atMs as number | undefined})
        if (b && method === 'DELETE') return control.archive(a, b)
        break
      case 'purge':
        if (write) return control.purge(String(body.type), String(body.id))
        break
      case 'merge':
        if (write) return control.merge(String(body.type), String(body.primaryId), String(body.mergedId))
        break
      case 'associate':
        if (write) return control.associate(String(body.fromType), String(body.fromId), String(body.toType), String(body.toId), body.typeId as number | undefined)
        break
      case 'associations':
        if (method === 'GET' && a && b && c) return {results: control.associations(a, b, c)}
        break
      case 'properties':
        if (write && a) return control.createProperty(a, body)
        break
      case 'owners':
        if (write) return {id: control.addOwner({email: String(body.email), firstName: body.firstName as string | undefined, lastName: body.lastName as string | undefined, archived: body.archived === true})}
        break
      case 'search-lag':
        if (write) return control.setSearchLag(Number(body.ms))
        break
      case 'limits':
        if (write) return control.setLimits(body.tenSecondly === undefined ? false : (body as unknown as LimitsOptions))
        break
      case 'daily-usage':
        if (write) return control.setDailyUsage(Number(body.n))
        break
      case 'over-budget':
        return {overBudget: control.overBudget()}
      case 'faults':
        if (method === 'DELETE') return control.clearFaults()
        if (write) {
          const spec = {...body} as unknown as FaultSpec & {match?: unknown}
          if (typeof body.match === 'string') spec.match = new RegExp(body.match)
          return control.injectFaults(spec)
        }
        break
      case 'hostile':
        if (method === 'DELETE') return control.clearHostile()
        if (write) {
          if (!HOSTILE_KINDS.includes(body.kind as HostileKind)) throw validationError(`hostile kind must be one of ${HOSTILE_KINDS.join(', ')}`)
          const spec = {...body} as unknown as HostileSpec & {match?: unknown}
          if (typeof body.match === 'string') spec.match = new RegExp(body.match)
          return control.hostile(spec)
        }
        break
      case 'requests':
        if (method === 'DELETE') return control.resetLog()
        return {results: control.requests()}
      case 'counts':
        return control.counts()
      case 'now':
        return {nowMs: control.nowMs()}
    }
    throw new EmuError(404, 'OBJECT_NOT_FOUND', `No control route ${method} /_emulator/${parts.join('/')}`)
  }

  return {
    server,
    control,
    token,
    destroySockets() {
      for (const s of sockets) s.destroy()
      sockets.clear()
    },
  }
}

