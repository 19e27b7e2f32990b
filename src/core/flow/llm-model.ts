// Schema of the llm step (SPEC §10): a chat completion from an OpenAI-compatible API, optionally structured output.
import { Ajv } from 'ajv'
import { z } from 'zod'
import { help, template } from './model-common.ts'
import type { CheckOutput } from './template-checks.ts'
import type { Path } from './yaml-locate.ts'
import { isRecord } from './zod-issues.ts'

/** Roles a message may have; tool messages need tool calls, which the step does not make. */
export const LLM_ROLES = ['system', 'developer', 'user', 'assistant'] as const

const message = z
  .object({
    role: z.enum(LLM_ROLES),
    content: template('The message text; may hold {{ }}.'),
  })
  .strict()

export const llmStep = z
  .object({
    connection: z.string().min(1).meta({
      description: 'Name of an http connection whose base URL is the API root, e.g. https://api.openai.com/v1.',
    }),
    model: template('Model name, e.g. gpt-4o-mini.').min(1),
    system: template('System message, sent before the prompt or messages.').optional(),
    prompt: template('The user message (or give messages).').optional(),
    messages: z
      .array(message)
      .min(1, 'messages needs at least one message')
      .optional()
      .meta({ description: 'The conversation: [{role, content}], content may hold {{ }} (or give prompt).' }),
    temperature: z.number().min(0).max(2).optional().meta({ description: 'Sampling temperature, 0 to 2.' }),
    max_tokens: z.number().int().min(1).max(1_000_000).optional().meta({ description: 'Most tokens to generate.' }),
    json_schema: z
      .record(z.string(), z.unknown(), { error: 'expected a JSON Schema (a map such as { type: object, … })' })
      .optional()
      .meta({
        description: 'JSON Schema of the reply: sent as response_format json_schema; the reply is parsed and checked.',
      }),
  })
  .strict()
  .superRefine((llm, ctx) => {
    // One way to say what the model reads, so it is never unclear which text was sent.
    if (llm.prompt !== undefined && llm.messages !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['messages'],
        message: 'use either prompt or messages, not both',
        ...help('conflicting_keys', 'keep prompt for one user message, or move it into messages as { role: user }'),
      })
    } else if (llm.prompt === undefined && llm.messages === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: 'an llm step needs prompt or messages',
        ...help('missing_key', 'add prompt: "…" or messages: [{ role: user, content: "…" }]'),
      })
    }
  })

export type LlmStep = z.infer<typeof llmStep>

const ajv = new Ajv({ allErrors: true, strict: false })

/** A json_schema must compile (the reply is checked against it); structured outputs want an object at its root. */
export function checkLlmSchema(step: Record<string, unknown>, path: Path, out: CheckOutput): void {
  const llm = step.llm
  if (!isRecord(llm) || !isRecord(llm.json_schema)) return
  const at = [...path, 'llm', 'json_schema']
  try {
    ajv.compile(llm.json_schema)
  } catch (error) {
    ajv.removeSchema(llm.json_schema)
    out.errors.push({
      path: at,
      target: 'value',
      code: 'invalid_json_schema',
      message: `json_schema is not a valid JSON Schema: ${error instanceof Error ? error.message : String(error)}`,
      fix: 'write a JSON Schema such as { type: object, properties: { summary: { type: string } }, required: [summary] }',
    })
    return
  }
  // Compiled only to be checked: dropped again so validating many flows keeps nothing, and a reused $id is no clash.
  ajv.removeSchema(llm.json_schema)
  if (llm.json_schema.type !== 'object') {
    out.warnings.push({
      path: at,
      target: 'value',
      code: 'json_schema_not_object',
      message: "json_schema's root is not type: object; OpenAI's structured outputs accept only an object at the root",
      fix: 'wrap the value: { type: object, properties: { items: <your schema> }, required: [items] }',
    })
  }
}
