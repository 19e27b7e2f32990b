// Builds a TypeScript entry point into dist/ with esbuild when the sources changed, so `greenlight` needs no build step.
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const sourceDirs = ['src', 'scripts', 'bench']

function fingerprint() {
  const hash = createHash('sha256')
  const walk = (dir) => {
    let entries
    try {
      entries = readdirSync(dir, { withFileTypes: true })
    } catch {
      return
    }
    for (const entry of entries) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (/\.tsx?$/.test(entry.name) && !/\.test\.tsx?$/.test(entry.name)) {
        const { mtimeMs, size } = statSync(path)
        hash.update(`${relative(root, path)}:${mtimeMs}:${size}\n`)
      }
    }
  }
  for (const dir of sourceDirs) walk(join(root, dir))
  hash.update(statSync(join(root, 'package.json')).mtimeMs.toString())
  return hash.digest('hex').slice(0, 16)
}

/** Returns a file URL of the bundled entry, building it first when the sources changed since the last build. */
export async function ensureBuilt(entry) {
  const name = entry.replace(/\.ts$/, '').replaceAll('/', '__')
  const dir = join(root, 'dist', `${name}-${fingerprint()}`)
  const out = join(dir, 'main.mjs')
  if (!existsSync(out)) {
    const esbuild = await import('esbuild')
    const tmp = `${dir}.tmp-${process.pid}`
    await esbuild.build({
      entryPoints: { main: join(root, entry) },
      outdir: tmp,
      outExtension: { '.js': '.mjs' },
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      packages: 'external',
      sourcemap: 'linked',
      logLevel: 'error',
    })
    try {
      renameSync(tmp, dir)
    } catch {
      rmSync(tmp, { recursive: true, force: true }) // another process built the same sources first
    }
    for (const old of readdirSync(join(root, 'dist'))) {
      if (old.startsWith(`${name}-`) && join(root, 'dist', old) !== dir && !old.includes('.tmp-')) {
        rmSync(join(root, 'dist', old), { recursive: true, force: true })
      }
    }
  }
  return pathToFileURL(out).href
}
