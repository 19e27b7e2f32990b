#!/usr/bin/env node
// A PreToolUse hook for a coding agent (see docs/agents.md for the agents that run it): before it runs a command that
// looks dangerous, ask people in Slack with `greenlight request-approval --wait` and let the command run only if
// they approve. Everything else passes straight through. docs/agents.md, "Gate dangerous shell commands", sets it up.
//
// Input (stdin): {"session_id": "...", "tool_name": "Bash", "tool_input": {"command": "..."}, ...}
// Output: exit 0 lets the command run (with a JSON decision on stdout when Greenlight approved it);
//         exit 2 blocks it, and stderr tells the agent why (rejected, timed out, Greenlight unreachable).
//
// Environment: GREENLIGHT_URL and GREENLIGHT_TOKEN (a `tokens create --for-agent` token) as for the CLI;
// GREENLIGHT_CLI, the command that runs the CLI (default: greenlight); GREENLIGHT_APPROVERS, comma-separated Slack
// user ids (default: the members of the server's default channel); GREENLIGHT_GATE, a regular expression of the
// commands to gate (default below); GREENLIGHT_TIMEOUT, how long people have (default 15m).
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'

const DANGEROUS =
  /\b(rm\s+-[a-z]*[rf]|git\s+push\b.*(--force|-f\b)|git\s+reset\s+--hard|drop\s+(table|database)|truncate\s+table|terraform\s+(apply|destroy)|kubectl\s+(delete|apply)|npm\s+publish|docker\s+system\s+prune|chmod\s+-R\s+777|mkfs|dd\s+if=)/i

function readStdin() {
  return new Promise((resolve) => {
    let text = ''
    process.stdin.setEncoding('utf8')
    process.stdin.on('data', (chunk) => {
      text += chunk
    })
    process.stdin.on('end', () => resolve(text))
  })
}

function run(command, args) {
  return new Promise((resolve) => {
    execFile(command, args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout })
    })
  })
}

function block(reason) {
  process.stderr.write(`${reason}\n`)
  process.exit(2)
}

const event = JSON.parse((await readStdin()) || '{}')
const command = event.tool_input?.command
if (event.tool_name !== 'Bash' || typeof command !== 'string') process.exit(0)
const gate = process.env.GREENLIGHT_GATE ? new RegExp(process.env.GREENLIGHT_GATE, 'i') : DANGEROUS
if (!gate.test(command)) process.exit(0)

// The same command in the same session asks once: a retry after a crash or a timeout finds the same request.
const key = createHash('sha256')
  .update(`${event.session_id ?? ''}\n${event.cwd ?? ''}\n${command}`)
  .digest('hex')
  .slice(0, 32)
const [cli, ...cliArgs] = (process.env.GREENLIGHT_CLI ?? 'greenlight').split(/\s+/).filter(Boolean)
const approvers = (process.env.GREENLIGHT_APPROVERS ?? '').split(',').filter(Boolean)
const args = [
  ...cliArgs,
  'request-approval',
  '--title',
  `Run a shell command: ${command.length > 120 ? `${command.slice(0, 117)}...` : command}`,
  '--body',
  `A coding agent wants to run this in \`${event.cwd ?? 'its working directory'}\`. Approve to let it run.`,
  '--payload',
  JSON.stringify({ command, cwd: event.cwd ?? null }),
  '--timeout',
  process.env.GREENLIGHT_TIMEOUT ?? '15m',
  '--idempotency-key',
  `hook-${key}`,
  ...approvers.flatMap((user) => ['--approver', user]),
  '--wait',
]
const { code, stdout } = await run(cli, args)
let doc
try {
  doc = JSON.parse(stdout)
} catch {
  block(`Greenlight did not answer (exit ${code}); the command was not run.`)
}
if (code !== 0 || doc.ok !== true) {
  block(`Not approved: ${doc.error?.message ?? 'no decision'} ${doc.error?.hint ?? ''}`.trim())
}
const approvedBy = doc.data.request.votes.filter((v) => v.decision === 'approve').map((v) => v.user)
process.stdout.write(
  `${JSON.stringify({
    hookSpecificOutput: {
      hookEventName: 'PreToolUse',
      permissionDecision: 'allow',
      permissionDecisionReason: `Approved in Slack by ${approvedBy.join(', ')} (run ${doc.data.request.run.id}).`,
    },
  })}\n`,
)
