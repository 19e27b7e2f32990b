// Public API of the fake Slack used by every Slack test: server, Socket Mode, signed driver, payload builders.

export {
  blocksJsonLength,
  MARKDOWN_TOTAL_MAX_CHARS,
  MESSAGE_BLOCKS_MAX_CHARS,
  MESSAGE_TEXT_MAX_CHARS,
  type Surface,
  validateBlocks,
  validateView,
} from './block-kit-limits.ts'
export type { FakeChannel, FakeUser } from './directory.ts'
export type { DriverResponse, ForgeOptions, SlackDriver, SlackDriverOptions } from './driver.ts'
export { createSlackDriver, encodeForm, FORM, signSlackRequest } from './driver.ts'
export type { Failure, FailureTarget } from './failures.ts'
export type {
  BlockActionInput,
  PayloadContext,
  SlashCommandInput,
  StateValue,
  ViewSubmissionInput,
} from './payloads.ts'
export {
  buildBlockActionPayload,
  buildEventEnvelope,
  buildSlashCommandPayload,
  buildUrlVerification,
  buildViewSubmissionPayload,
  escapeSlackText,
  slackText,
} from './payloads.ts'
export type { FakeSlack, FakeSlackOptions } from './server.ts'
export { createFakeSlack } from './server.ts'
export type { EnvelopeType, FakeSocketMode, SentEnvelope, SocketAck, SocketSendOptions } from './socket-mode.ts'
export type {
  Block,
  CallRecord,
  EphemeralRecord,
  FileRecord,
  MessageVersion,
  ResponseUrlContext,
  ResponseUrlPost,
  StoredMessage,
  ViewRecord,
} from './store.ts'
