import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { FLOW_SCHEMA_ID, flowJsonSchema, flowSchemaFileText } from './json-schema.ts'
import { flowSchema, STEP_KINDS } from './model.ts'

const schemaFile = join(import.meta.dirname, '../../../schema/flow.schema.json')

describe('schema/flow.schema.json', () => {
  it('is up to date with the flow model', () => {
    const committed = readFileSync(schemaFile, 'utf8')
    expect(
      committed === flowSchemaFileText(),
      'schema/flow.schema.json is stale: run `npm run schema:generate` and commit the result',
    ).toBe(true)
  })

  it('describes every top-level key and step kind, with exactly one kind per step', () => {
    const schema = flowJsonSchema() as {
      $id: string
      title: string
      properties: Record<string, unknown>
      $defs: { step: { properties: Record<string, { description?: string }>; oneOf: { required: string[] }[] } }
    }
    expect(schema.$id).toBe(FLOW_SCHEMA_ID)
    expect(schema.title).toBe('Greenlight flow')
    expect(Object.keys(schema.properties).sort()).toEqual(Object.keys(flowSchema.shape).sort())
    const step = schema.$defs.step
    expect(step.oneOf).toEqual(STEP_KINDS.map((kind) => ({ required: [kind] })))
    for (const kind of STEP_KINDS) expect(step.properties[kind]?.description).toMatch(/Output/)
  })

  it('uses the input side of the model, so keys with defaults are optional', () => {
    const schema = flowJsonSchema() as { required: string[]; $defs: { step: { required: string[] } } }
    expect(schema.required).toEqual(['slug', 'steps'])
    expect(schema.$defs.step.required).toEqual(['id'])
  })
})
