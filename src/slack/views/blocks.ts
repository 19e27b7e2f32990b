// The Block Kit shapes the views build, small constructors for them, and the size budgets they respect.
import { truncateMrkdwn } from './mrkdwn.ts'

export interface PlainText {
  type: 'plain_text'
  text: string
  emoji?: boolean
}
export interface MrkdwnText {
  type: 'mrkdwn'
  text: string
  verbatim?: boolean
}
export type TextObject = PlainText | MrkdwnText

export interface Option {
  text: PlainText
  value: string
}

/** Interactive elements (buttons, selects, inputs); the fields used differ by `type`. */
export interface Element {
  type: string
  action_id?: string
  text?: PlainText
  value?: string
  style?: 'primary' | 'danger'
  multiline?: boolean
  max_length?: number
  initial_value?: string
  is_decimal_allowed?: boolean
  options?: Option[]
  initial_option?: Option
  initial_user?: string
  initial_channel?: string
  placeholder?: PlainText
  /** A link button opens this URL (Slack still sends the click, which needs no answer). */
  url?: string
}

export type Block =
  | { type: 'header'; text: PlainText; block_id?: string }
  | { type: 'section'; text?: TextObject; fields?: TextObject[]; accessory?: Element; block_id?: string }
  | { type: 'context'; elements: TextObject[]; block_id?: string }
  | { type: 'actions'; elements: Element[]; block_id?: string }
  | { type: 'divider'; block_id?: string }
  | {
      type: 'input'
      block_id: string
      label: PlainText
      element: Element
      optional?: boolean
      hint?: PlainText
    }

/** A message: `text` is the notification and accessibility fallback Slack wants next to `blocks`. */
export interface Message {
  text: string
  blocks: Block[]
}

export interface ModalView {
  type: 'modal'
  callback_id: string
  title: PlainText
  submit?: PlainText
  close?: PlainText
  private_metadata?: string
  blocks: Block[]
}

export interface HomeView {
  type: 'home'
  blocks: Block[]
}

export const LIMITS = {
  messageBlocks: 50,
  viewBlocks: 100,
  sectionText: 3000,
  field: 2000,
  header: 150,
  buttonValue: 2000,
  optionText: 75,
  options: 100,
  modalTitle: 24,
  privateMetadata: 3000,
  /** Slack refuses messages near 13k of blocks JSON (`msg_blocks_too_long`); stay well under. */
  messageJson: 11_000,
  /** Keep the notification fallback short; Slack truncates `text` far later (40k). */
  fallbackText: 3000,
} as const

/** Plain text, never empty (Slack refuses empty text objects). */
export const plain = (text: string): PlainText => ({ type: 'plain_text', text: text === '' ? ' ' : text, emoji: true })
export const mrkdwn = (text: string): MrkdwnText => ({ type: 'mrkdwn', text: text === '' ? ' ' : text })

export const section = (text: string): Block => ({ type: 'section', text: mrkdwn(text) })
export const context = (text: string): Block => ({ type: 'context', elements: [mrkdwn(text)] })
export const header = (text: string): Block => ({ type: 'header', text: plain(text) })
export const divider = (): Block => ({ type: 'divider' })

export function button(actionId: string, text: string, value: string, style?: 'primary' | 'danger'): Element {
  if (value.length > LIMITS.buttonValue) throw new RangeError(`button value of ${actionId} is over 2000 characters`)
  return style === undefined
    ? { type: 'button', action_id: actionId, text: plain(text), value }
    : { type: 'button', action_id: actionId, text: plain(text), value, style }
}

/**
 * Packs lines into texts of at most `max` characters, joined by newlines. A line longer than `max` must have been
 * shortened by the caller; it is cut here as a last resort.
 */
export function chunkLines(lines: readonly string[], max = LIMITS.sectionText): string[] {
  const chunks: string[] = []
  let current = ''
  for (const raw of lines) {
    const line = truncateMrkdwn(raw, max)
    if (current !== '' && current.length + 1 + line.length > max) {
      chunks.push(current)
      current = line
    } else current = current === '' ? line : `${current}\n${line}`
  }
  if (current !== '') chunks.push(current)
  return chunks
}

/** Characters `value` adds to a JSON document (quotes excluded): escapes count double or sixfold. */
export function jsonCost(value: string): number {
  return JSON.stringify(value).length - 2
}

export const jsonLength = (blocks: readonly Block[]): number => JSON.stringify(blocks).length
