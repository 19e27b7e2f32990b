// Builds the published JSON Schema of flow files (schema/flow.schema.json) from the zod model, for editors.
import { z } from 'zod'
import { flowSchema, STEP_KINDS, stepSchema } from './model.ts'

export const FLOW_SCHEMA_ID = 'urn:greenlight:schema:flow:v1'

/**
 * The JSON Schema (draft 2020-12) of a flow file. It describes the input side (defaults are optional keys), and adds
 * what zod refinements cannot export, such as "exactly one step kind". Checks that need the whole flow (step ids,
 * goto targets, expressions) stay in validateFlowSource; the schema is for editor completion and early hints.
 */
export function flowJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(flowSchema, {
    target: 'draft-2020-12',
    io: 'input',
    unrepresentable: 'any',
    override: ({ zodSchema, jsonSchema }) => {
      if (zodSchema === stepSchema) {
        jsonSchema.oneOf = STEP_KINDS.map((kind) => ({ required: [kind] }))
      }
    },
  }) as Record<string, unknown>
  const { $schema, ...rest } = generated
  return {
    $schema,
    $id: FLOW_SCHEMA_ID,
    title: 'Greenlight flow',
    description:
      'A Greenlight flow: a versioned list of steps run from Slack, schedules, webhooks or the CLI. See docs/flows.md.',
    ...rest,
  }
}

/** The exact text of schema/flow.schema.json: 2-space JSON and a final newline. */
export function flowSchemaFileText(): string {
  return `${JSON.stringify(flowJsonSchema(), null, 2)}\n`
}
