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
import {errorBodyOf} from './failures.js'
import type {HttpInfoLike} from './transport.js'

export type QueryValue = string | number | boolean | readonly string[] | undefined

export interface HubSpotRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  path: string
  qs?: Record<string, QueryValue>
  body?: unknown
}

export class ClientRequests {
  private readonly configuration: Configuration

  constructor(client: Client) {
    this.configuration = createConfiguration(
      ApiClientConfigurator.getParams(client.config, ServerConfiguration, Observable, Observable) as Parameters<typeof createConfiguration>[0],
    )
  }

  async send<T>(request: HubSpotRequest): Promise<HttpInfoLike<T>> {
    const {configuration} = this
    let context: RequestContext = configuration.baseServer.makeRequestContext(request.path, HttpMethod[request.method])
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
    if (status < 200 || status >= 300) {
      const parsed: unknown = isJson && text ? safeParse(text) : text
      throw new ApiException(status, `HTTP-Code: ${status}`, errorBodyOf(parsed), headers)
    }
    if (!text) return {httpStatusCode: status, headers, data: undefined as T}
    // a 2xx body that is not JSON is a broken response (a proxy's page, a truncated body): worth a retry
    if (!isJson) throw new SyntaxError(`HubSpot ${request.method} ${request.path} answered ${status} without a JSON body`)
    return {httpStatusCode: status, headers, data: JSON.parse(text) as T}
  }
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}
