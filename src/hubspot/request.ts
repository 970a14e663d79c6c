/**
 * Any HubSpot path through the official client's own request pipeline.
 *
 * `@hubspot/api-client` 14 generates only `/crm/v3` and `/crm/v4` paths, and its generic
 * `client.apiRequest` sends through bare `fetch`: it drops the `httpAgent` (so a hung socket is
 * never destroyed and the process's sockets are not the ones the generated calls use) and never
 * throws on an error status. This sends through the same pieces the generated APIs are built from,
 * configured from the same `client.config`: the client's default headers and user agent, its
 * bearer auth, its agent middleware and its HTTP library. Failures come back as the client's
 * `ApiException`, so one classifier handles every call.
 */
import type {Client} from '@hubspot/api-client'
import {
  ApiException,
  createConfiguration,
  HttpMethod,
  Observable,
  ServerConfiguration,
  type Configuration,
  type RequestContext,
  type ResponseContext,
} from '@hubspot/api-client/lib/codegen/crm/objects/index.js'
import {ApiClientConfigurator} from '@hubspot/api-client/lib/src/configuration/ApiClientConfigurator.js'
import {errorBodyOf, RedirectRefusedError, UnreadableAnswerError} from './failures.js'
import type {HttpInfoLike} from './transport.js'

export type QueryValue = string | number | boolean | readonly string[] | undefined

export interface HubSpotRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  path: string
  qs?: Record<string, QueryValue>
  body?: unknown
}

/**
 * The token goes to the configured origin only. The client's HTTP library sends through Node's
 * `http.request` when an agent is set (cbhs always sets one), which never follows a redirect; a 3xx
 * comes back here and is refused, so no second request, with or without the token, is ever made.
 */
export class ClientRequests {
  private readonly configuration: Configuration
  private readonly origin: string

  constructor(client: Client, baseUrl: string) {
    this.configuration = createConfiguration(
      ApiClientConfigurator.getParams(client.config, ServerConfiguration, Observable, Observable) as Parameters<typeof createConfiguration>[0],
    )
    this.origin = new URL(baseUrl).origin
  }

  async send(request: HubSpotRequest): Promise<HttpInfoLike<unknown>> {
    const {configuration} = this
    let context: RequestContext = configuration.baseServer.makeRequestContext(request.path, HttpMethod[request.method])
    const target = new URL(context.getUrl()).origin
    if (target !== this.origin) throw new Error(`refusing to send the HubSpot token to ${target}: the configured origin is ${this.origin}`)
    for (const [name, value] of Object.entries(request.qs ?? {})) {
      if (value === undefined) continue
      if (Array.isArray(value)) for (const v of value) context.appendQueryParam(name, v)
      else context.setQueryParam(name, String(value))
    }
    if (request.body !== undefined) {
      context.setHeaderParam('Content-Type', 'application/json')
      context.setBody(JSON.stringify(request.body))
    }
    context.setHeaderParam('Accept', 'application/json, */*;q=0.8')
    await configuration.authMethods.oauth2?.applySecurityAuthentication(context)
    for (const middleware of configuration.middleware) context = await middleware.pre(context).toPromise()
    let response: ResponseContext = await configuration.httpApi.send(context).toPromise()
    for (const middleware of configuration.middleware) response = await middleware.post(response).toPromise()

    const headers = response.headers
    const text = await response.body.text()
    const isJson = (headers['content-type'] ?? '').includes('json')
    const status = response.httpStatusCode
    if (status >= 300 && status < 400) throw new RedirectRefusedError(status, headers.location, this.origin)
    if (status < 200 || status >= 300) {
      const parsed: unknown = isJson && text ? safeParse(text) : text
      throw new ApiException(status, `HTTP-Code: ${status}`, errorBodyOf(parsed), headers)
    }
    if (!text) {
      // only "nothing to say" statuses may come without a body; a 200 without one tells nothing
      if (status === 204 || status === 202) return {httpStatusCode: status, headers, data: undefined}
      throw new UnreadableAnswerError(status, 'an empty body')
    }
    if (!isJson) throw new UnreadableAnswerError(status, headers['content-type'] ? `${headers['content-type'].split(';')[0]!.trim()}` : 'no content type')
    try {
      return {httpStatusCode: status, headers, data: JSON.parse(text) as unknown}
    } catch {
      throw new UnreadableAnswerError(status, 'JSON that does not parse')
    }
  }
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}
