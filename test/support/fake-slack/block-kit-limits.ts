// Block Kit limits Slack enforces server-side, as a pure validator the fake (and unit tests) can share.

export type Surface = 'message' | 'modal' | 'home'

/** Slack rejects a message whose blocks JSON passes roughly this size with `msg_blocks_too_long` (bolt-js #2509). */
export const MESSAGE_BLOCKS_MAX_CHARS = 13_000
/** `text` past this length is refused (`msg_too_long`). */
export const MESSAGE_TEXT_MAX_CHARS = 40_000
/** The `markdown` block budget is cumulative over one payload. */
export const MARKDOWN_TOTAL_MAX_CHARS = 12_000

const MAX_BLOCKS: Record<Surface, number> = { message: 50, modal: 100, home: 100 }
const ID_MAX = 255
const KNOWN_BLOCKS = new Set([
  'actions',
  'context',
  'context_actions',
  'divider',
  'file',
  'header',
  'image',
  'input',
  'markdown',
  'rich_text',
  'section',
  'table',
  'video',
])

type Obj = Record<string, unknown>

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Collects Slack-style messages: `must be less than 3001 characters [json-pointer:/blocks/0/text/text]`. */
class Problems {
  readonly list: string[] = []
  add(pointer: string, message: string): void {
    this.list.push(`${message} [json-pointer:${pointer}]`)
  }
  maxLen(value: unknown, max: number, pointer: string): void {
    if (typeof value === 'string' && value.length > max) this.add(pointer, `must be less than ${max + 1} characters`)
  }
  maxItems(value: unknown, max: number, pointer: string): void {
    if (Array.isArray(value) && value.length > max) this.add(pointer, `must provide no more than ${max} items`)
  }
}

/** Checks a text object (`{ type, text }`); `plainOnly` for places that refuse mrkdwn. */
function checkText(p: Problems, text: unknown, pointer: string, max: number, plainOnly = false): void {
  if (text === undefined) return
  if (!isObj(text) || typeof text.text !== 'string') {
    p.add(pointer, 'must be a text object with a string `text`')
    return
  }
  if (text.type !== 'plain_text' && text.type !== 'mrkdwn') p.add(`${pointer}/type`, 'must be plain_text or mrkdwn')
  else if (plainOnly && text.type !== 'plain_text') p.add(`${pointer}/type`, 'must be plain_text')
  if (text.text.length === 0) p.add(`${pointer}/text`, 'must be more than 0 characters')
  p.maxLen(text.text, max, `${pointer}/text`)
}

function checkConfirm(p: Problems, confirm: unknown, pointer: string): void {
  if (!isObj(confirm)) return
  checkText(p, confirm.title, `${pointer}/title`, 100, true)
  checkText(p, confirm.text, `${pointer}/text`, 300)
  checkText(p, confirm.confirm, `${pointer}/confirm`, 30, true)
  checkText(p, confirm.deny, `${pointer}/deny`, 30, true)
}

function checkOptions(p: Problems, options: unknown, pointer: string): void {
  if (!Array.isArray(options)) return
  p.maxItems(options, 100, pointer)
  options.forEach((option, i) => {
    if (!isObj(option)) return
    checkText(p, option.text, `${pointer}/${i}/text`, 75)
    p.maxLen(option.value, 150, `${pointer}/${i}/value`)
    checkText(p, option.description, `${pointer}/${i}/description`, 75)
  })
}

/** Interactive and non-interactive elements (accessories, actions/input elements). */
function checkElement(p: Problems, element: unknown, pointer: string): void {
  if (!isObj(element) || typeof element.type !== 'string') {
    p.add(pointer, 'must be an element object with a `type`')
    return
  }
  p.maxLen(element.action_id, ID_MAX, `${pointer}/action_id`)
  checkConfirm(p, element.confirm, `${pointer}/confirm`)
  checkText(p, element.placeholder, `${pointer}/placeholder`, 150, true)
  switch (element.type) {
    case 'button':
      checkText(p, element.text, `${pointer}/text`, 75, true)
      p.maxLen(element.value, 2000, `${pointer}/value`)
      p.maxLen(element.url, 3000, `${pointer}/url`)
      if (element.style !== undefined && element.style !== 'primary' && element.style !== 'danger') {
        p.add(`${pointer}/style`, 'must be one of primary, danger')
      }
      break
    case 'image':
      p.maxLen(element.alt_text, 2000, `${pointer}/alt_text`)
      break
    case 'plain_text_input':
      p.maxLen(element.initial_value, 3000, `${pointer}/initial_value`)
      break
    default:
      checkOptions(p, element.options, `${pointer}/options`)
  }
}

function checkElements(p: Problems, elements: unknown, pointer: string, max: number): void {
  if (!Array.isArray(elements)) {
    p.add(pointer, 'must be an array')
    return
  }
  p.maxItems(elements, max, pointer)
  const actionIds = new Set<string>()
  elements.forEach((el, i) => {
    checkElement(p, el, `${pointer}/${i}`)
    const id = isObj(el) ? el.action_id : undefined
    if (typeof id === 'string') {
      if (actionIds.has(id)) p.add(`${pointer}/${i}/action_id`, `duplicate action_id ${id}`)
      actionIds.add(id)
    }
  })
}

/** Returns the problems of one block; `markdownChars` accumulates the payload-wide markdown budget. */
function checkBlock(p: Problems, block: unknown, pointer: string, counter: { markdownChars: number }): void {
  if (!isObj(block) || typeof block.type !== 'string') {
    p.add(pointer, 'must be a block object with a `type`')
    return
  }
  p.maxLen(block.block_id, ID_MAX, `${pointer}/block_id`)
  switch (block.type) {
    case 'section':
      if (block.text === undefined && block.fields === undefined) p.add(pointer, 'must provide `text` or `fields`')
      checkText(p, block.text, `${pointer}/text`, 3000)
      if (Array.isArray(block.fields)) {
        p.maxItems(block.fields, 10, `${pointer}/fields`)
        block.fields.forEach((f, i) => {
          checkText(p, f, `${pointer}/fields/${i}`, 2000)
        })
      }
      if (block.accessory !== undefined) checkElement(p, block.accessory, `${pointer}/accessory`)
      break
    case 'header':
      if (block.text === undefined) p.add(`${pointer}/text`, 'is required')
      checkText(p, block.text, `${pointer}/text`, 150, true)
      break
    case 'actions':
      checkElements(p, block.elements, `${pointer}/elements`, 25)
      break
    case 'context':
      if (!Array.isArray(block.elements)) p.add(`${pointer}/elements`, 'must be an array')
      else p.maxItems(block.elements, 10, `${pointer}/elements`)
      break
    case 'input':
      checkText(p, block.label, `${pointer}/label`, 2000, true)
      checkText(p, block.hint, `${pointer}/hint`, 2000, true)
      checkElement(p, block.element, `${pointer}/element`)
      break
    case 'image':
      p.maxLen(block.alt_text, 2000, `${pointer}/alt_text`)
      checkText(p, block.title, `${pointer}/title`, 2000, true)
      break
    case 'markdown':
      if (typeof block.text === 'string') counter.markdownChars += block.text.length
      else p.add(`${pointer}/text`, 'must be a string')
      break
    default:
      if (!KNOWN_BLOCKS.has(block.type)) p.add(`${pointer}/type`, `unsupported block type ${block.type}`)
  }
}

/**
 * Validates `blocks` the way Slack does for the given surface. Returns Slack-style messages with JSON pointers;
 * an empty array means valid. The message-size rule (`msg_blocks_too_long`) is separate: see {@link blocksJsonLength}.
 */
export function validateBlocks(blocks: unknown, surface: Surface): string[] {
  const p = new Problems()
  if (!Array.isArray(blocks)) {
    p.add('/blocks', 'must be an array')
    return p.list
  }
  p.maxItems(blocks, MAX_BLOCKS[surface], '/blocks')
  const counter = { markdownChars: 0 }
  const blockIds = new Set<string>()
  blocks.forEach((block, i) => {
    checkBlock(p, block, `/blocks/${i}`, counter)
    const id = isObj(block) ? block.block_id : undefined
    if (typeof id === 'string') {
      if (blockIds.has(id)) p.add(`/blocks/${i}/block_id`, `duplicate block_id ${id}`)
      blockIds.add(id)
    }
  })
  if (counter.markdownChars > MARKDOWN_TOTAL_MAX_CHARS) {
    p.add('/blocks', `markdown blocks must total less than ${MARKDOWN_TOTAL_MAX_CHARS + 1} characters`)
  }
  return p.list
}

/** Size Slack's `msg_blocks_too_long` check is approximated on: the blocks' JSON length. */
export function blocksJsonLength(blocks: unknown): number {
  return JSON.stringify(blocks ?? []).length
}

/** View-level limits (title/submit/close, metadata, callback_id, submit required with inputs). */
export function validateView(view: unknown): string[] {
  const p = new Problems()
  if (!isObj(view)) {
    p.add('/view', 'must be an object')
    return p.list
  }
  if (view.type !== 'modal' && view.type !== 'home') {
    p.add('/view/type', 'must be modal or home')
    return p.list
  }
  if (view.type === 'modal') {
    if (view.title === undefined) p.add('/view/title', 'is required')
    checkText(p, view.title, '/view/title', 24, true)
    checkText(p, view.submit, '/view/submit', 24, true)
    checkText(p, view.close, '/view/close', 24, true)
    const hasInput = Array.isArray(view.blocks) && view.blocks.some((b) => isObj(b) && b.type === 'input')
    if (hasInput && view.submit === undefined) p.add('/view/submit', 'is required when the view has input blocks')
  }
  p.maxLen(view.private_metadata, 3000, '/view/private_metadata')
  p.maxLen(view.callback_id, ID_MAX, '/view/callback_id')
  p.maxLen(view.external_id, ID_MAX, '/view/external_id')
  for (const problem of validateBlocks(view.blocks, view.type))
    p.list.push(problem.replace('[json-pointer:', '[json-pointer:/view'))
  return p.list
}
