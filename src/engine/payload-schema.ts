// JSON Schema checks for callback payloads (wait.schema), compiled once per schema.
import { Ajv, type ValidateFunction } from 'ajv'

const ajv = new Ajv({ allErrors: true, strict: false })
const cache = new Map<string, ValidateFunction>()

export interface SchemaProblem {
  path: string
  message: string
}

/** Problems with `value` against `schema`; an empty list means it fits. */
export function checkPayload(schema: unknown, value: unknown): SchemaProblem[] {
  if (schema === undefined || schema === null) return []
  const key = JSON.stringify(schema)
  let validate = cache.get(key)
  if (!validate) {
    try {
      validate = ajv.compile(schema as object)
    } catch (error) {
      return [
        {
          path: '',
          message: `the wait's schema is invalid: ${error instanceof Error ? error.message : String(error)}`,
        },
      ]
    }
    cache.set(key, validate)
  }
  if (validate(value)) return []
  return (validate.errors ?? []).map((e) => ({ path: e.instancePath || '/', message: e.message ?? 'does not match' }))
}
