// What an MCP tool is: a name, a description, a zod input and a function of the Greenlight API. Both transports
// serve the tools and `greenlight guide` describes them from these definitions.
import { z } from 'zod'
import type { McpApi } from './api.ts'

export interface ToolContext {
  api: McpApi
  /** Sends an MCP progress notification when the client asked for them (a progressToken); a no-op otherwise. */
  progress(message: string): Promise<void>
}

export interface ToolDefinition<S extends z.ZodRawShape = z.ZodRawShape> {
  name: string
  title: string
  description: string
  /** The token scope the tool needs (the guide lists it). */
  scope: string
  input: S
  readOnly: boolean
  run(args: z.infer<z.ZodObject<S>>, ctx: ToolContext): Promise<Record<string, unknown>>
}

/** Keeps each tool's argument type while the list holds them all. */
export function tool<S extends z.ZodRawShape>(definition: ToolDefinition<S>): ToolDefinition {
  return definition as unknown as ToolDefinition
}

export const id = (what: string) => z.string().min(1).max(200).describe(what)
export const path = (value: string) => encodeURIComponent(value)
