// The seam between Slack and the rest of Greenlight: what the transport hands over, already parsed.

export interface SlashCommandInput {
  userId: string
  userName: string
  channelId: string
  text: string
  triggerId: string
  responseUrl: string
  teamId: string
}

export interface SlackReply {
  text: string
  blocks?: unknown[]
  responseType?: 'ephemeral' | 'in_channel'
}

export interface BlockActionInput {
  userId: string
  actionId: string
  value: string
  blockId: string
  channelId: string | null
  messageTs: string | null
  triggerId: string
  viewId: string | null
  retryNum: number
}

export interface ViewSubmissionInput {
  userId: string
  callbackId: string
  privateMetadata: string
  values: Record<string, Record<string, unknown>>
  viewId: string
  triggerId: string | null
}

export interface SlackHandlers {
  /** Must answer fast (< 1 s); its reply is the ephemeral ack body. Slow work happens after the ack, inside the handler's own background task. */
  command(input: SlashCommandInput): Promise<SlackReply>
  /** Awaited BEFORE the ack: a vote is durable before Slack hears back. */
  action(input: BlockActionInput): Promise<void>
  /** Awaited before the ack; may return field errors (response_action: 'errors'). */
  viewSubmission(input: ViewSubmissionInput): Promise<{ errors?: Record<string, string> } | undefined>
  homeOpened(userId: string): Promise<void>
}
