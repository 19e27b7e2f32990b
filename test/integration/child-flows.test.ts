// Child flows (the `flow` step) through a real server: the parent parks on the child and resumes in the child's
// terminal commit with its result; a failing child fails the step (routed by on_error); pinning, depth, children in
// `runs show`, the parent named in the child's events, a child that waits, and cancel reaching waiting children.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, type Json, pushRelease, runEvents, runReaches, showRun } from '../support/runs.ts'
import { api, startTestServer, type TestServer } from '../support/server.ts'

const CHILD = (label: string) => `slug: cf_child
inputs:
  n: { type: number, required: true }
steps:
  - id: double
    transform: "{{ { 'twice': inputs.n * 2, 'label': '${label}' } }}"
`

const PARENT = `slug: cf_parent
steps:
  - id: call
    flow: { slug: cf_child, inputs: { n: 21 } }
  - id: after
    transform: "{{ steps.call.output.output.twice & '/' & steps.call.output.output.label & '/' & steps.call.output.status }}"
`

const FAILING_CHILD = `slug: cf_fails
steps:
  - id: boom
    transform: "{{ $error('the child gave up') }}"
`

const ROUTED_PARENT = `slug: cf_routed
steps:
  - id: call
    flow: { slug: cf_fails }
    on_error: continue
  - id: after
    transform: "{{ steps.call.output.error.code }}"
`

const WAITING_CHILD = `slug: cf_waits
steps:
  - id: hold
    wait: {}
  - id: done
    transform: "{{ steps.hold.output.answer }}"
`

const WAITING_PARENT = `slug: cf_waiting_parent
steps:
  - id: call
    flow: { slug: cf_waits }
  - id: after
    transform: "{{ steps.call.output.output }}"
`

const FIRE_AND_FORGET = `slug: cf_detached
steps:
  - id: call
    flow: { slug: cf_waits, wait: false }
  - id: after
    transform: "{{ steps.call.output.status }}"
`

/** A chain deeper than five: each level calls the next. */
const level = (n: number) => `slug: cf_level${n}
steps:
  - id: down
    ${n < 7 ? `flow: { slug: cf_level${n + 1} }` : 'transform: "\'bottom\'"'}
`

describe('child flows', () => {
  let server: TestServer

  beforeAll(async () => {
    server = await startTestServer()
    for (const flow of [
      CHILD('v1'),
      PARENT,
      FAILING_CHILD,
      ROUTED_PARENT,
      WAITING_CHILD,
      WAITING_PARENT,
      FIRE_AND_FORGET,
    ])
      await pushRelease(server, flow)
    for (let n = 7; n >= 1; n--) await pushRelease(server, level(n))
  })
  afterAll(async () => server.close())

  async function start(flow: string): Promise<Json> {
    const started = await api(server, 'POST', '/api/v1/runs', { flow, inputs: {} })
    expect(started.status, JSON.stringify(started.body)).toBe(201)
    return (started.body.data as Json).run
  }

  it('runs the child and resumes the parent with its result; the child names its parent', async () => {
    const parent = await start('cf_parent')
    const done = await runReaches(server, parent.id, ['succeeded', 'failed'])
    expect(done.run.status, JSON.stringify(done.run.error)).toBe('succeeded')
    expect(done.run.output).toBe('42/v1/succeeded')
    expect(done.children).toHaveLength(1)
    const childId = done.children[0].id
    expect(done.children[0]).toMatchObject({ flow: 'cf_child', status: 'succeeded', step: 'call', visit: 1 })
    const call = done.steps.find((s: Json) => s.step === 'call')
    expect(call.output).toEqual({ run: childId, status: 'succeeded', output: { twice: 42, label: 'v1' }, error: null })

    const child = await showRun(server, childId)
    expect(child.run).toMatchObject({ trigger: 'flow', parent: { run: parent.id, step: 'call', visit: 1 } })
    const started = (await runEvents(server, childId)).find((e) => e.type === 'run.started')
    expect(started.data.parent).toEqual({ run: parent.id, step: 'call', visit: 1 })
    const parentEvents = (await runEvents(server, parent.id)).map((e) => e.type)
    expect(parentEvents).toContain('flow.started')
    expect(parentEvents).toContain('flow.completed')
  })

  it('pins a waiting child to the version it started on', async () => {
    const parent = await start('cf_waiting_parent')
    const childId = await eventually(async () => {
      const shown = await showRun(server, parent.id)
      return shown.children?.[0]?.id as string | undefined
    }, 'the child to start')
    const child = await eventually(async () => {
      const shown = await showRun(server, childId)
      return shown.run.status === 'waiting' ? shown : undefined
    }, 'the child to park')
    // A new version of the child goes live while it waits; the child finishes on the one it started.
    await pushRelease(server, WAITING_CHILD.replace('steps.hold.output.answer', "'v2 ' & steps.hold.output.answer"))
    const completed = await api(server, 'POST', `/api/v1/waits/${child.run.waiting_on.wait_id}/complete`, {
      payload: { answer: 'yes' },
    })
    expect(completed.status, JSON.stringify(completed.body)).toBe(202)
    const done = await runReaches(server, parent.id, ['succeeded', 'failed'])
    expect(done.run.output).toBe('yes')
    expect((await showRun(server, childId)).run.version).toBe(1)
  })

  it('fails the step when the child fails, and on_error routes it', async () => {
    const routed = await start('cf_routed')
    const done = await runReaches(server, routed.id, ['succeeded', 'failed'])
    expect(done.run.status).toBe('succeeded')
    expect(done.run.output).toBe('child_failed')
    const call = done.steps.find((s: Json) => s.step === 'call')
    expect(call.status).toBe('failed')
    expect(call.error.message).toContain('the child gave up')
  })

  it('goes on at once with wait: false', async () => {
    const run = await start('cf_detached')
    const done = await runReaches(server, run.id, ['succeeded', 'failed'])
    expect(done.run.output).toBe('started')
    expect(done.children).toHaveLength(1)
    expect(done.children[0].status).toBe('waiting')
  })

  it('refuses to nest deeper than five', async () => {
    const top = await start('cf_level1')
    const done = await runReaches(server, top.id, ['succeeded', 'failed'])
    expect(done.run.status).toBe('failed')
    expect(done.run.error.code).toBe('child_failed')
    // Walk down to the deepest child: its step failed with flow_depth_exceeded.
    let id: string = top.id
    let deepest: Json = done
    for (;;) {
      const shown = await showRun(server, id)
      if (!shown.children?.length) {
        deepest = shown
        break
      }
      id = shown.children[0].id
    }
    expect(deepest.run.flow).toBe('cf_level6')
    expect(deepest.run.error.code).toBe('flow_depth_exceeded')
  })

  it('cancels the waiting child with its parent', async () => {
    const parent = await start('cf_waiting_parent')
    const childId = await eventually(async () => {
      const shown = await showRun(server, parent.id)
      return shown.children?.[0]?.status === 'waiting' ? (shown.children[0].id as string) : undefined
    }, 'the child to park')
    const canceled = await api(server, 'POST', `/api/v1/runs/${parent.id}/cancel`, {})
    expect(canceled.status, JSON.stringify(canceled.body)).toBe(200)
    expect((await showRun(server, childId)).run.status).toBe('canceled')
    expect((await showRun(server, parent.id)).run.status).toBe('canceled')
  })

  it('refuses at release a flow whose child flows lead back to it', async () => {
    await pushRelease(server, 'slug: cf_a\nsteps:\n  - id: t\n    transform: "1"\n')
    await pushRelease(server, 'slug: cf_b\nsteps:\n  - id: call_a\n    flow: { slug: cf_a }\n')
    const pushed = await api(server, 'POST', '/api/v1/flows', {
      source: 'slug: cf_a\nsteps:\n  - id: call_b\n    flow: { slug: cf_b }\n',
    })
    expect(pushed.status, JSON.stringify(pushed.body)).toBe(201)
    const released = await api(server, 'POST', '/api/v1/flows/cf_a/release', {})
    expect(released.status, JSON.stringify(released.body)).toBe(422)
    expect(released.body.error?.code).toBe('flow_cycle')
    expect(released.body.error?.message).toContain('cf_a → cf_b → cf_a')
    const self = await api(server, 'POST', '/api/v1/flows', {
      source: 'slug: cf_self\nsteps:\n  - id: again\n    flow: { slug: cf_self }\n',
    })
    expect(self.status).toBe(201)
    expect((await api(server, 'POST', '/api/v1/flows/cf_self/release', {})).body.error?.code).toBe('flow_cycle')
  })
})
