// Masks known secret values in everything a run persists (outputs, errors, events, callback bodies, resources), so
// `runs show`, `runs events`, the API and the Slack views, which all render from these records, never show one.
import type { Redactor } from '../core/redact.ts'
import type { ResourceStore } from './resources.ts'
import type { NewRun, RunStore, Transition } from './run-ports.ts'

function redactTransition(t: Transition, r: Redactor): Transition {
  if (r.size() === 0) return t
  const out: Transition = { ...t }
  // Only free-form values: masking the cursor, statuses or ids could corrupt the run if a secret equals a step id.
  if (t.run) {
    const run = { ...t.run }
    if ('output' in run) run.output = r.value(run.output)
    if (run.error) run.error = r.value(run.error)
    out.run = run
  }
  if (t.stepRun) out.stepRun = { ...t.stepRun, output: r.value(t.stepRun.output), error: r.value(t.stepRun.error) }
  if (t.moreStepRuns)
    out.moreStepRuns = t.moreStepRuns.map((s) => ({ ...s, output: r.value(s.output), error: r.value(s.error) }))
  if (t.events) out.events = t.events.map((e) => ({ ...e, data: r.value(e.data) }))
  if (t.insertWait)
    out.insertWait = { ...t.insertWait, payload: r.value(t.insertWait.payload), spec: r.value(t.insertWait.spec) }
  if (t.updateWait) out.updateWait = { ...t.updateWait, patch: r.value(t.updateWait.patch) }
  if (t.insertVote) out.insertVote = r.value(t.insertVote)
  return out
}

export function redactingRunStore(store: RunStore, r: Redactor): RunStore {
  return {
    ...store,
    commit: (t) => store.commit(redactTransition(t, r)),
    transact: (decide) =>
      store.transact(async (view) => {
        const decided = await decide(view)
        return decided.transition ? { ...decided, transition: redactTransition(decided.transition, r) } : decided
      }),
    createRun: (input: NewRun, concurrency) =>
      store.createRun(
        {
          ...input,
          run: { ...input.run, inputs: r.value(input.run.inputs) },
          events: input.events.map((e) => ({ ...e, data: r.value(e.data) })),
        },
        concurrency,
      ),
    insertEarlyWait: (wait) => store.insertEarlyWait({ ...wait, payload: r.value(wait.payload) }),
  }
}

const TEXTUAL = /^(text\/|application\/(json|x-ndjson|x-diff|xml))/

/** Large outputs and callback bodies become resources; mask their text the same way. */
export function redactingResources(resources: ResourceStore, r: Redactor): ResourceStore {
  return {
    ...resources,
    put: (content, mediaType, runId) => {
      if (r.size() === 0 || !TEXTUAL.test(mediaType)) return resources.put(content, mediaType, runId)
      const text = content.toString('utf8')
      const masked = r.text(text)
      return resources.put(masked === text ? content : Buffer.from(masked), mediaType, runId)
    },
  }
}
