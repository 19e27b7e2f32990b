// The fake speaks the chat-completions protocol: shapes, bearer check, request checks, scripted replies, recording.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { Json } from '../runs.ts'
import { exampleOf, type FakeOpenAI, startFakeOpenAI } from './index.ts'

const json = (res: Response): Promise<Json> => res.json()

describe('fake OpenAI', () => {
  let fake: FakeOpenAI
  beforeAll(async () => {
    fake = await startFakeOpenAI({ apiKey: 'sk-test-key-123456' })
  })
  beforeEach(() => fake.reset())
  afterAll(async () => fake.close())

  const chat = (body: unknown, key = fake.apiKey, path = '/chat/completions') =>
    fetch(`${fake.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify(body),
    })

  it('answers a completion in the real shape, echoing by default, and records the request', async () => {
    const res = await chat({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello there' }] })
    expect(res.status).toBe(200)
    const body = await json(res)
    expect(body).toMatchObject({
      object: 'chat.completion',
      model: 'gpt-4o-mini',
      choices: [{ index: 0, message: { role: 'assistant', content: 'echo: hello there' }, finish_reason: 'stop' }],
    })
    expect(body.id).toMatch(/^chatcmpl-/)
    expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens)
    expect(fake.requests).toHaveLength(1)
    expect(fake.requests[0]?.body?.messages[0]?.content).toBe('hello there')
    expect(fake.requests[0]?.status).toBe(200)
  })

  it('checks the bearer token and the request, with OpenAI-shaped errors', async () => {
    const none = await chat({ model: 'm', messages: [{ role: 'user', content: 'x' }] }, '')
    expect(none.status).toBe(401)
    const wrong = await chat({ model: 'm', messages: [{ role: 'user', content: 'x' }] }, 'sk-wrong-key')
    expect(wrong.status).toBe(401)
    expect((await json(wrong)).error).toMatchObject({ code: 'invalid_api_key', type: 'invalid_request_error' })
    const empty = await chat({ model: 'm', messages: [] })
    expect(empty.status).toBe(400)
    expect((await json(empty)).error.param).toBe('messages')
    const hot = await chat({ model: 'm', messages: [{ role: 'user', content: 'x' }], temperature: 3 })
    expect((await json(hot)).error.param).toBe('temperature')
    const path = await chat({}, fake.apiKey, '/completions')
    expect(path.status).toBe(404)
    fake.models(['gpt-4o-mini'])
    const model = await chat({ model: 'gpt-9', messages: [{ role: 'user', content: 'x' }] })
    expect(model.status).toBe(404)
    expect((await json(model)).error.code).toBe('model_not_found')
  })

  it('plays queued replies in order: content, json, 429 with Retry-After, 500, refusal', async () => {
    fake.reply(
      { content: 'one', usage: { prompt_tokens: 7, completion_tokens: 3 } },
      { json: { a: 1 } },
      { status: 429, retryAfter: 2 },
      { status: 500 },
      { refusal: 'no' },
    )
    const request = { model: 'm', messages: [{ role: 'user', content: 'x' }] }
    const one = await json(await chat(request))
    expect([one.choices[0].message.content, one.usage]).toEqual([
      'one',
      { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 },
    ])
    expect((await json(await chat(request))).choices[0].message.content).toBe('{"a":1}')
    const limited = await chat(request)
    expect([limited.status, limited.headers.get('retry-after')]).toEqual([429, '2'])
    expect((await json(limited)).error.code).toBe('rate_limit_exceeded')
    const failed = await chat(request)
    expect([failed.status, (await json(failed)).error.type]).toEqual([500, 'server_error'])
    const refused = (await json(await chat(request))).choices[0].message
    expect(refused).toMatchObject({ content: null, refusal: 'no' })
  })

  it('honours response_format json_schema: checks it, and answers a fitting value by default', async () => {
    const schema = {
      type: 'object',
      required: ['title', 'status', 'n'],
      properties: { title: { type: 'string' }, status: { enum: ['open', 'closed'] }, n: { type: 'integer' } },
    }
    const format = { type: 'json_schema', json_schema: { name: 'summary', schema, strict: true } }
    const res = await chat({ model: 'm', messages: [{ role: 'user', content: 'x' }], response_format: format })
    const content = (await json(res)).choices[0].message.content
    expect(JSON.parse(content)).toEqual({ title: 'x', status: 'open', n: 0 })
    const badName = { type: 'json_schema', json_schema: { name: 'has space', schema } }
    const bad = await chat({ model: 'm', messages: [{ role: 'user', content: 'x' }], response_format: badName })
    expect((await json(bad)).error.param).toBe('response_format.json_schema.name')
    expect(exampleOf({ type: 'array' })).toEqual([])
  })
})
