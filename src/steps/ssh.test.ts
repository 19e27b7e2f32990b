import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { buildCommand, fingerprint, shellQuote } from './ssh.ts'

const sh = (line: string) => execFileSync('sh', ['-c', line], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })

describe('ssh command line', () => {
  it('quotes any value so the remote shell sees it byte for byte', () => {
    for (const value of ["it's", '"$HOME"', '`id`', '$(id)', 'a\\b', 'new\nline', ' lead', '', "'", "''\\''"]) {
      expect(sh(`printf '%s' ${shellQuote(value)}`)).toBe(value)
    }
  })

  it('exports env, enters cwd, and reports the session pid first on stderr', () => {
    const line = buildCommand({
      command: 'printf "%s|%s|%s" "$A" "$B" "$(pwd)"',
      env: { A: "x'; echo pwned; '", B: 7, 'BAD-NAME': 'dropped' },
      cwd: '/tmp',
    })
    expect(line).toMatch(/^printf '__greenlight_pid:%s\\n' \$\$ >&2;/)
    expect(line).not.toContain('BAD-NAME')
    expect(sh(line)).toBe("x'; echo pwned; '|7|/tmp")
  })

  it('turns typed values into text by the one rule: objects as JSON, nothing not exported', () => {
    const line = buildCommand({
      command: 42,
      env: { OBJ: { a: [1, 'b'] }, FLAG: true, GONE: undefined, NOTHING: null },
    })
    expect(line).not.toContain('GONE')
    expect(line).not.toContain('NOTHING')
    expect(line).not.toContain('[object Object]')
    expect(line).toContain(`export OBJ=${shellQuote('{"a":[1,"b"]}')};`)
    expect(line).toContain("export FLAG='true';")
    expect(line.endsWith(' 42')).toBe(true)
    expect(sh(buildCommand({ command: 'printf "%s|%s" "$OBJ" "$GONE"', env: { OBJ: [1], GONE: undefined } }))).toBe(
      '[1]|',
    )
  })

  it('detaches with nohup setsid and prints the pid', () => {
    const line = buildCommand({ command: 'sleep 0', detach: true, env: { X: 'y' } })
    expect(line).toContain("nohup setsid sh -c 'sleep 0'")
    expect(Number(sh(line).trim())).toBeGreaterThan(0)
  })

  it('prints fingerprints as ssh-keygen does (unpadded base64 of sha256)', () => {
    expect(fingerprint(Buffer.from('abc'))).toBe('SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0')
  })
})
