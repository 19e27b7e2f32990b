// A real OpenSSH server for tests: loopback port, throwaway host and user keys, its own config, foreground (-D -e).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createConnection } from 'node:net'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { freePort } from './free-port.ts'

export const SSHD = '/usr/sbin/sshd'

export interface TestSshd {
  host: string
  port: number
  user: string
  dir: string
  /** The user key's private half (OpenSSH format), to store as a secret. */
  privateKey: string
  /** The host key's fingerprint as `ssh-keygen -l -E sha256` prints it. */
  hostKeyFingerprint: string
  /** The log sshd wrote so far (for failing assertions). */
  log(): string
  stop(): Promise<void>
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

function keygen(path: string): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'greenlight-test', '-f', path])
}

export function fingerprintOf(publicKeyPath: string): string {
  const line = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', publicKeyPath], { encoding: 'utf8' })
  const match = /SHA256:[A-Za-z0-9+/]{43}/.exec(line)
  if (!match) throw new Error(`no fingerprint in: ${line}`)
  return match[0]
}

export async function startSshd(): Promise<TestSshd> {
  // sshd started by root insists on its privilege separation directory.
  if (process.getuid?.() === 0 && !existsSync('/run/sshd')) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 })
  const dir = mkdtempSync(join(tmpdir(), 'greenlight-sshd-'))
  keygen(join(dir, 'host_key'))
  keygen(join(dir, 'user_key'))
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'user_key.pub')))
  const port = await freePort()
  const user = userInfo().username
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_key')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'UsePAM no',
      'StrictModes no',
      'PermitRootLogin yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      // Stock default: environment requests are refused, so the ssh step must deliver env another way.
      'AcceptEnv NONE',
      'MaxStartups 100',
      'MaxSessions 100',
      '',
    ].join('\n'),
  )
  let log = ''
  const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    log += chunk.toString()
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const deadline = Date.now() + 10_000
  while (!(await accepts(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`sshd did not start on port ${port}:\n${log}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  return {
    host: '127.0.0.1',
    port,
    user,
    dir,
    privateKey: readFileSync(join(dir, 'user_key'), 'utf8'),
    hostKeyFingerprint: fingerprintOf(join(dir, 'host_key.pub')),
    log: () => log,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM')
        await exited
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
