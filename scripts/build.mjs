// Builds every strategy crate to wasm32 and generates its ES module with wasm-bindgen.
import { execFileSync } from 'node:child_process'
import { rmSync } from 'node:fs'

const strategies = ['torrent', 'mqtt', 'nostr']
const run = (cmd, args) => execFileSync(cmd, args, { stdio: 'inherit' })

for (const name of strategies) {
  run('cargo', ['build', '--release', '--target', 'wasm32-unknown-unknown', '-p', `rendez-${name}`])
  rmSync(`pkg/${name}`, { recursive: true, force: true })
  run('wasm-bindgen', [
    '--target', 'web', '--no-typescript', '--out-dir', `pkg/${name}`,
    `target/wasm32-unknown-unknown/release/rendez_${name}.wasm`
  ])
}
