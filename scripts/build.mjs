// Builds every strategy crate to wasm32, generates its ES module with wasm-bindgen, and bundles a
// single-file ESM per strategy (the .wasm inlined) for <script type="module"> users.
import { execFileSync } from 'node:child_process'
import { rmSync } from 'node:fs'
import { build } from 'esbuild'

const strategies = ['torrent', 'mqtt', 'nostr']
const run = (cmd, args) => execFileSync(cmd, args, { stdio: 'inherit' })

for (const name of strategies) {
  run('cargo', ['build', '--release', '--target', 'wasm32-unknown-unknown', '-p', `rendez-${name}`])
  rmSync(`pkg/${name}`, { recursive: true, force: true })
  run('wasm-bindgen', [
    '--target', 'web', '--no-typescript', '--remove-name-section', '--remove-producers-section', '--out-dir', `pkg/${name}`,
    `target/wasm32-unknown-unknown/release/rendez_${name}.wasm`
  ])
  await build({
    stdin: {
      contents: `
        import * as wasm from './pkg/${name}/rendez_${name}.js'
        import bytes from './pkg/${name}/rendez_${name}_bg.wasm'
        import { expose } from './js/expose.js'
        wasm.initSync({ module: bytes })
        export const { selfId, joinRoom, pauseRelayReconnection, resumeRelayReconnection, getRelaySockets, defaultRelayUrls } = expose(wasm)
      `,
      resolveDir: '.',
      sourcefile: `rendez-${name}.js`
    },
    bundle: true,
    format: 'esm',
    minify: true,
    loader: { '.wasm': 'binary' },
    outfile: `dist/rendez-${name}.js`,
    logLevel: 'warning'
  })
}
