/**
 * Decoding batch answers back to the inputs they belong to: 207 errors name inputs by
 * `objectWriteTraceId` or by id, and a whole-batch 4xx names at best a value. Pure functions.
 */
import type {BatchItemError} from '../sync/ports.js'
import {categoryOfStatus, parseExistingId, type HubSpotApiError, type HubSpotErrorBody} from './failures.js'

/** A per-input error, with the id of the record a 409 conflicts with so the engine can link to it. */
export interface HubSpotItemError extends BatchItemError {
  existingId?: string
}

/** One `errors[]` entry of a 207 (StandardError). */
export interface StandardErrorLike {
  status?: string | number
  category?: string
  message?: string
  context?: Record<string, unknown>
  errors?: Array<{message?: string; code?: string; context?: Record<string, unknown>}>
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

const STATUS_OF_CATEGORY: Record<string, number> = {
  OBJECT_NOT_FOUND: 404,
  CONFLICT: 409,
  VALIDATION_ERROR: 400,
  INVALID_EMAIL: 400,
  PROPERTY_DOESNT_EXIST: 400,
  RATE_LIMITS: 429,
  MISSING_SCOPES: 403,
}

function statusOf(error: StandardErrorLike): number {
  const n = Number(error.status)
  if (Number.isInteger(n) && n >= 100) return n
  return STATUS_OF_CATEGORY[error.category ?? ''] ?? 400
}

/**
 * HubSpot wraps property validation as `Property values were not valid: [{"message": …, "error": …}]`;
 * the inner message names the value ("Email address x is invalid") and the inner code is the useful category.
 */
export function describeError(message: string | undefined, category: string | undefined): {message: string; category: string} {
  const fallback = {message: message ?? 'HubSpot gave no message', category: category ?? 'ERROR'}
  if (!message) return fallback
  const start = message.indexOf('[')
  if (!/not valid/i.test(message) || start < 0) return fallback
  try {
    const inner = JSON.parse(message.slice(start)) as Array<{message?: string; error?: string; name?: string}>
    if (!Array.isArray(inner) || inner.length === 0) return fallback
    const parts = inner.map((e) => (e.name && e.message && !e.message.toLowerCase().includes(e.name.toLowerCase()) ? `${e.name}: ${e.message}` : e.message ?? e.error ?? ''))
    const codes = [...new Set(inner.map((e) => e.error).filter((c): c is string => !!c))]
    return {message: parts.filter(Boolean).join('; ') || message, category: codes.length === 1 ? codes[0] : category ?? 'VALIDATION_ERROR'}
  } catch {
    return fallback
  }
}

export function itemError(key: string, status: number, category: string | undefined, message: string | undefined): HubSpotItemError {
  const described = describeError(message, category ?? categoryOfStatus(status))
  const error: HubSpotItemError = {key, status, category: described.category, message: described.message}
  const existingId = parseExistingId(message)
  if (existingId) error.existingId = existingId
  return error
}

export function itemErrorFromApi(key: string, error: HubSpotApiError): HubSpotItemError {
  return itemError(key, error.status, error.category, error.body.message)
}

function stringList(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String)
  if (typeof value === 'string') return [value]
  return []
}

/**
 * Attributes each 207 error to the inputs it names (context.objectWriteTraceId, else context.ids).
 * Errors naming none of `keys` are returned as `unattributed`.
 */
export function attributeErrors(
  errors: readonly StandardErrorLike[],
  keys: ReadonlySet<string>,
  idToKey: (id: string) => string | undefined = (id) => (keys.has(id) ? id : undefined),
): {byKey: Map<string, HubSpotItemError>; unattributed: StandardErrorLike[]} {
  const byKey = new Map<string, HubSpotItemError>()
  const unattributed: StandardErrorLike[] = []
  for (const error of errors) {
    const named = [
      ...stringList(error.context?.objectWriteTraceId).filter((t) => keys.has(t)),
      ...stringList(error.context?.ids)
        .map(idToKey)
        .filter((k): k is string => k !== undefined),
    ]
    if (named.length === 0) {
      unattributed.push(error)
      continue
    }
    for (const key of new Set(named)) {
      if (!byKey.has(key)) byKey.set(key, itemError(key, statusOf(error), error.category, error.message))
    }
  }
  return {byKey, unattributed}
}

export function itemErrorFromStandard(key: string, error: StandardErrorLike): HubSpotItemError {
  return itemError(key, statusOf(error), error.category, error.message)
}

/**
 * Which inputs a whole-batch 4xx is about, when its body says so: the invalid e-mail address, or a
 * property that does not exist. Returns null when nothing identifies them (the caller bisects).
 */
export function findCulprits(
  body: HubSpotErrorBody,
  inputs: ReadonlyArray<{key: string; properties: Record<string, string>}>,
): Set<string> | null {
  const message = body.message ?? ''
  const culprits = new Set<string>()

  const emails = [...message.matchAll(/Email address (\S+?) is invalid/gi)].map((m) => m[1].replace(/[\\"]+$/g, '').toLowerCase())
  if (emails.length > 0) {
    for (const input of inputs) {
      const email = input.properties.email?.trim().toLowerCase()
      if (email !== undefined && emails.includes(email)) culprits.add(input.key)
    }
  }

  const missingProps = new Set<string>()
  for (const detail of body.errors ?? []) {
    for (const name of stringList(detail.context?.propertyName)) missingProps.add(name)
  }
  for (const m of message.matchAll(/Property "?([^"\s]+)"? does not exist/gi)) missingProps.add(m[1])
  if (missingProps.size > 0 && (body.errors?.some((e) => e.code === 'PROPERTY_DOESNT_EXIST') || /does not exist/i.test(message))) {
    for (const input of inputs) {
      if (Object.keys(input.properties).some((p) => missingProps.has(p))) culprits.add(input.key)
    }
  }

  return culprits.size > 0 ? culprits : null
}
