// validateBlocks / validateView: the pure Block Kit limit checks the fake enforces.

import { describe, expect, it } from 'vitest'
import { blocksJsonLength, validateBlocks, validateView } from './block-kit-limits.ts'
import { section } from './test-helpers.ts'

const button = (actionId: string, text = 'Approve') => ({
  type: 'button',
  action_id: actionId,
  text: { type: 'plain_text', text },
})

describe('validateBlocks', () => {
  it('accepts blocks right at the limits', () => {
    const blocks = [
      { type: 'header', text: { type: 'plain_text', text: 'h'.repeat(150) } },
      section('s'.repeat(3000)),
      { type: 'actions', block_id: 'b'.repeat(255), elements: Array.from({ length: 25 }, (_, i) => button(`a${i}`)) },
      { type: 'actions', elements: [button('x'.repeat(255), 't'.repeat(75))] },
      { type: 'divider' },
      { type: 'rich_text', elements: [] },
    ]
    expect(validateBlocks(blocks, 'message')).toEqual([])
  })

  it('reports each limit with a JSON pointer', () => {
    const blocks = [
      { type: 'header', text: { type: 'plain_text', text: 'h'.repeat(151) } },
      section('s'.repeat(3001)),
      { type: 'actions', elements: Array.from({ length: 26 }, (_, i) => button(`a${i}`)) },
      { type: 'actions', block_id: 'b'.repeat(256), elements: [button('x'.repeat(256), 't'.repeat(76))] },
      { type: 'header', text: { type: 'mrkdwn', text: '*bold*' } },
      { type: 'carousel' },
    ]
    expect(validateBlocks(blocks, 'message')).toEqual([
      'must be less than 151 characters [json-pointer:/blocks/0/text/text]',
      'must be less than 3001 characters [json-pointer:/blocks/1/text/text]',
      'must provide no more than 25 items [json-pointer:/blocks/2/elements]',
      'must be less than 256 characters [json-pointer:/blocks/3/block_id]',
      'must be less than 256 characters [json-pointer:/blocks/3/elements/0/action_id]',
      'must be less than 76 characters [json-pointer:/blocks/3/elements/0/text/text]',
      'must be plain_text [json-pointer:/blocks/4/text/type]',
      'unsupported block type carousel [json-pointer:/blocks/5/type]',
    ])
  })

  it('counts blocks per surface and refuses duplicate ids', () => {
    const blocks = (n: number) => Array.from({ length: n }, (_, i) => section(`${i}`))
    expect(validateBlocks(blocks(50), 'message')).toEqual([])
    expect(validateBlocks(blocks(51), 'message')).toEqual(['must provide no more than 50 items [json-pointer:/blocks]'])
    expect(validateBlocks(blocks(100), 'modal')).toEqual([])
    expect(validateBlocks(blocks(101), 'home')).toHaveLength(1)
    const dup = [
      { ...section('a'), block_id: 'same' },
      { ...section('b'), block_id: 'same' },
    ]
    expect(validateBlocks(dup, 'message')).toEqual(['duplicate block_id same [json-pointer:/blocks/1/block_id]'])
    expect(validateBlocks('[]', 'message')).toEqual(['must be an array [json-pointer:/blocks]'])
  })

  it('measures the payload and checks view-level limits', () => {
    expect(blocksJsonLength([section('x')])).toBe(JSON.stringify([section('x')]).length)
    const input = {
      type: 'input',
      block_id: 'reason',
      label: { type: 'plain_text', text: 'Why?' },
      element: { type: 'plain_text_input', action_id: 'text' },
    }
    const view = { type: 'modal', title: { type: 'plain_text', text: 't'.repeat(25) }, blocks: [input] }
    expect(validateView(view)).toEqual([
      'must be less than 25 characters [json-pointer:/view/title/text]',
      'is required when the view has input blocks [json-pointer:/view/submit]',
    ])
    expect(validateView({ type: 'home', blocks: [section('s'.repeat(3001))] })).toEqual([
      'must be less than 3001 characters [json-pointer:/view/blocks/0/text/text]',
    ])
  })
})
