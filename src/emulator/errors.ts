import {randomUUID} from 'node:crypto'

export interface ErrorDetail {
  message: string
  code?: string
  in?: string
  context?: Record<string, string[]>
  subCategory?: string
}

/** A failure HubSpot would answer with a JSON error body (§3.12). */
export class EmuError extends Error {
  constructor(
    readonly status: number,
    readonly category: string,
    message: string,
    readonly extra: {errors?: ErrorDetail[]; context?: Record<string, string[]>; subCategory?: string} = {},
  ) {
    super(message)
  }

  body(): Record<string, unknown> {
    const out: Record<string, unknown> = {
      status: 'error',
      message: this.message,
      correlationId: randomUUID(),
      category: this.category,
    }
    if (this.extra.subCategory) out.subCategory = this.extra.subCategory
    if (this.extra.errors) out.errors = this.extra.errors
    if (this.extra.context) out.context = this.extra.context
    return out
  }
}

export function validationError(message: string, extra?: EmuError['extra']): EmuError {
  return new EmuError(400, 'VALIDATION_ERROR', message, extra)
}

export function notFound(message = 'resource not found', context?: Record<string, string[]>): EmuError {
  return new EmuError(404, 'OBJECT_NOT_FOUND', message, context ? {context} : {})
}

export function conflict(message: string, context?: Record<string, string[]>): EmuError {
  return new EmuError(409, 'CONFLICT', message, context ? {context} : {})
}

/** One invalid property value, as HubSpot lists them inside "Property values were not valid: [...]". */
export interface PropertyProblem {
  name: string
  error: string
  message: string
}

export function propertyValuesError(problems: PropertyProblem[]): EmuError {
  const listed = problems.map((p) => ({
    isValid: false,
    message: p.message,
    error: p.error,
    name: p.name,
    localizedErrorMessage: p.message,
  }))
  const message = `Property values were not valid: ${JSON.stringify(listed)}`
  const missing = problems.filter((p) => p.error === 'PROPERTY_DOESNT_EXIST')
  // HubSpot only adds the structured `errors` list for unknown properties; other value errors live in the message
  const errors = missing.length
    ? missing.map((p) => ({message: p.message, code: 'PROPERTY_DOESNT_EXIST', context: {propertyName: [p.name]}}))
    : undefined
  return validationError(message, errors ? {errors} : {})
}
