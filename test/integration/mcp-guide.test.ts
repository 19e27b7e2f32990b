// `greenlight guide`: Markdown generated from the CLI's commands and the MCP tools, so it names every one of them;
// the error codes it explains are codes the code base raises; --json wraps the same text in the envelope.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { GUIDE_ERRORS } from '../../src/cli/guide.ts'
import { COMMANDS } from '../../src/cli/registry.ts'
import { TOOLS } from '../../src/mcp/tools.ts'
import { ROOT, runCli } from '../support/cli.ts'

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sources(path)
    return /\.tsx?$/.test(entry.name) && !entry.name.includes('.test.') ? [readFileSync(path, 'utf8')] : []
  })
}

describe('greenlight guide', () => {
  it('prints Markdown naming every tool, its parameters and every command', async () => {
    const result = await runCli(['guide'])
    expect(result.code).toBe(0)
    expect(result.json).toBeUndefined()
    expect(result.stdout.startsWith('# Greenlight for coding agents\n')).toBe(true)
    for (const tool of TOOLS) {
      expect(result.stdout).toContain(`**${tool.name}**`)
      for (const name of Object.keys(tool.input)) expect(result.stdout).toContain(`\`${name}\``)
    }
    for (const command of COMMANDS.filter((c) => c.name !== 'serve'))
      expect(result.stdout).toContain(`\`greenlight ${command.name}\``)

    const json = await runCli(['guide', '--json'])
    expect(json.code).toBe(0)
    expect(json.json).toMatchObject({ ok: true, data: { markdown: result.stdout } })
  })

  it('explains only error codes the code raises', () => {
    const code = sources(join(ROOT, 'src')).join('\n')
    for (const [name] of GUIDE_ERRORS) {
      const raised = code.includes(`'${name}'`) || (name.startsWith('request_') && code.includes('`request_${'))
      expect(raised, name).toBe(true)
    }
  })
})
