// The isolated expression evaluator: a child process of the server that evaluates one expression at a time under the
// budget, so a blow-up (heap exhaustion, a runaway regular expression) kills only this process, never the server.
import { type ExpressionBudget, evaluateBudgeted } from '../core/flow/index.ts'
import { type EvaluateReply, type EvaluateRequest, toCloneable } from './protocol.ts'

function reply(message: EvaluateReply): void {
  process.send?.(message)
}

process.on('message', (message: EvaluateRequest) => {
  void evaluate(message.id, message.expression, message.scope, message.budget)
})

async function evaluate(id: number, expression: string, scope: Record<string, unknown>, budget: ExpressionBudget) {
  try {
    const value = await evaluateBudgeted(expression, scope, budget)
    reply({ id, ok: true, value: toCloneable(value) })
  } catch (error) {
    const e = error as { code?: unknown; message?: unknown; hint?: unknown; details?: unknown }
    reply({
      id,
      ok: false,
      code: typeof e.code === 'string' ? e.code : 'expression_failed',
      message: typeof e.message === 'string' ? e.message : String(error),
      ...(typeof e.hint === 'string' ? { hint: e.hint } : {}),
      ...(typeof e.details === 'object' && e.details !== null ? { details: e.details as Record<string, unknown> } : {}),
    })
  }
}

// The server went away (even by SIGKILL): nothing is left to answer.
process.on('disconnect', () => process.exit(0))
reply({ id: 0, ok: true, value: 'ready' })
