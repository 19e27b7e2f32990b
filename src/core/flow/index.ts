// Public API of the flow model: types, validation, expressions, durations and the published JSON Schema.
export { type DbStep, DEFAULT_MAX_ROWS, MAX_ROWS_LIMIT } from './db-model.ts'
export { formatDuration, MAX_DURATION_MS, parseDuration } from './duration.ts'
export { DEFAULT_BUDGET, type ExpressionBudget } from './expression-budget.ts'
export type { ExpressionReference } from './expression-references.ts'
export {
  type CompiledTemplate,
  type CompiledValue,
  compileExpression,
  compileTemplate,
  compileTransform,
  compileValue,
  type EvaluateOptions,
  ExpressionError,
  type ExpressionScope,
  evaluateBudgeted,
  findTemplates,
  type IsolatedEvaluator,
  interpolate,
  NeedsIsolation,
  type TemplateSpan,
  useIsolatedEvaluator,
} from './expressions.ts'
export {
  APPROVAL_OUTCOMES,
  type ApprovalOutcome,
  type ApprovalStep,
  DEFAULT_APPROVAL_ROUTES,
  escalationLadder,
  INPUT_FIELD_TYPES,
  type InputField,
  type InputFieldType,
  type InputStep,
} from './human-steps-model.ts'
export { FLOW_SCHEMA_ID, flowJsonSchema, flowSchemaFileText } from './json-schema.ts'
export { LLM_ROLES, type LlmStep } from './llm-model.ts'
export {
  type FlowDefinition,
  type FlowInputDefinition,
  flowSchema,
  INPUT_TYPES,
  type InputType,
  matchesInputType,
  type RetryPolicy,
  STEP_KINDS,
  type StepDefinition,
  type StepKind,
  stepKind,
  stepSchema,
} from './model.ts'
export type { People, Route } from './model-common.ts'
export { type FlowProblem, formatProblem } from './problem.ts'
export type { SearchStep } from './search-model.ts'
export {
  HTTP_METHODS,
  type HttpMethod,
  type HttpStep,
  type JobStep,
  KV_OPS,
  type KvOp,
  type KvStep,
  type NotifyStep,
  type SleepStep,
  type SshStep,
  type TransformStep,
  transformSource,
  type WaitStep,
} from './steps-model.ts'
export { isTemplatedField } from './template-fields.ts'
export { toOptionalText, toText } from './text.ts'
export {
  allowsManualRuns,
  type ScheduleTrigger,
  schedulesOf,
  type Triggers,
  type WebhookTrigger,
} from './triggers-model.ts'
export { type FlowValidationResult, validateFlowSource } from './validate.ts'
