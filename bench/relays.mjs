// Relay benchmark: rendez vs Trystero 0.25 (torrent strategy) in one headless Chromium against
// local trackers as strict as public ones. Prints joins, time to full mesh and what a settled
// room costs the tracker (messages in and out, counted at the tracker, per peer per minute).
import { build } from 'esbuild'
import { launchBrowser, startFileServer, startTracker } from '../tests/e2e/harness.mjs'

const LIBS = ['rendez', 'trystero']
const MESH_SIZES = [2, 4, 8, 12, 16]
const JOIN_ROUNDS = 10
const SETTLE_MS = 30_000
const WINDOW_MS = Number(process.env.BENCH_RELAY_MINUTES ?? 5) * 60_000
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))
const median = xs => [...xs].sort((x, y) => x - y)[xs.length >> 1]

await build({ entryPoints: ['@trystero-p2p/torrent'], bundle: true, format: 'esm', outfile: 'bench/dist/trystero-torrent.js', logLevel: 'warning' })
const [browser, files] = await Promise.all([launchBrowser(), startFileServer()])
const trackers = []
const tracker = async () => { const t = await startTracker(); trackers.push(t); return t }
try {
  const pages = []
  for (let i = 0; i < 17; i++) {
    const page = await (await browser.newContext()).newPage()
    page.on('pageerror', e => console.error('[page error]', e.message))
    await page.goto(`${files.url}/bench/room-page.html`)
    await page.waitForFunction(() => window.roomBench)
    pages.push(page)
  }
  const join = (page, lib, url, room) => page.evaluate(([lib, url, room]) => roomBench.join(lib, url, room), [lib, url, room])
  const leave = (page, lib) => page.evaluate(lib => roomBench.leave(lib), lib)
  const waitPeers = (page, lib, n, timeout = 60_000) => page.waitForFunction(([lib, n]) => roomBench.peers(lib) >= n, [lib, n], { timeout })
  const firstJoin = (page, lib) => page.evaluate(lib => roomBench.joins(lib)[0]?.at, lib)
  const shared = await tracker()

  // Joins: a second peer meets the first (median of 10 fresh rooms).
  const second = {}
  for (const lib of LIBS) {
    const times = []
    for (let i = 0; i < JOIN_ROUNDS; i++) {
      const room = `second-${lib}-${i}`
      await join(pages[0], lib, shared.url, room)
      await sleep(1000)
      await join(pages[1], lib, shared.url, room)
      await waitPeers(pages[1], lib, 1)
      times.push(await firstJoin(pages[1], lib))
      await Promise.all([leave(pages[0], lib), leave(pages[1], lib)])
    }
    second[lib] = median(times)
  }

  // Full mesh: N pages join at once; the time until every page has every other.
  const mesh = {}
  for (const n of MESH_SIZES) {
    for (const lib of LIBS) {
      const t0 = Date.now()
      await Promise.all(pages.slice(0, n).map(page => join(page, lib, shared.url, `mesh-${lib}-${n}`)))
      try {
        await Promise.all(pages.slice(0, n).map(page => waitPeers(page, lib, n - 1, 60_000)))
        mesh[`${lib}-${n}`] = Date.now() - t0
      } catch {
        const links = await Promise.all(pages.slice(0, n).map(page => page.evaluate(lib => roomBench.peers(lib), lib)))
        mesh[`${lib}-${n}`] = `no full mesh in 60 s (${links.reduce((a, b) => a + b, 0) / 2} of ${n * (n - 1) / 2} pairs)`
      }
      await Promise.all(pages.slice(0, n).map(page => leave(page, lib)))
      await sleep(500)
    }
  }

  // Settled rooms of 2 and 8 for both libraries at once, each on its own counting tracker.
  const settled = {}
  const groups = { 2: pages.slice(0, 2), 8: pages.slice(2, 10) }
  const rooms = []
  for (const lib of LIBS) {
    for (const [n, group] of Object.entries(groups)) {
      const t = await tracker()
      rooms.push({ lib, n: Number(n), group, t })
    }
  }
  for (const r of rooms) {
    await Promise.all(r.group.map(page => join(page, r.lib, r.t.url, `settled-${r.n}`)))
  }
  // A room that never meshes fully is measured as it stands; the table says so.
  await Promise.all(rooms.flatMap(r => r.group.map(page => waitPeers(page, r.lib, r.n - 1, 120_000).catch(() => { r.partial = true }))))
  await sleep(SETTLE_MS)
  for (const r of rooms) r.start = r.t.messages()
  await sleep(WINDOW_MS)
  for (const r of rooms) settled[`${r.lib}-${r.n}`] = (r.t.messages() - r.start) / r.n / (WINDOW_MS / 60_000)
  const partial = rooms.filter(r => r.partial).map(r => `${r.lib} ${r.n}`)

  // A late joiner of the settled 8-peer room (median of 10 joins).
  const late = {}
  for (const r of rooms.filter(r => r.n === 8)) {
    const times = []
    for (let i = 0; i < JOIN_ROUNDS; i++) {
      await join(pages[16], r.lib, r.t.url, 'settled-8')
      await waitPeers(pages[16], r.lib, 1)
      times.push(await firstJoin(pages[16], r.lib))
      await leave(pages[16], r.lib)
      await sleep(1000)
    }
    late[r.lib] = median(times)
  }

  const f = (x, d = 0) => x.toFixed(d)
  const ratio = key => (settled[`rendez-${key}`] / settled[`trystero-${key}`]).toFixed(2)
  console.log(`\nChromium ${browser.version()}, torrent strategy, local trackers (16 KiB frames), pages in one browser\n`)
  console.log('| measurement | rendez | Trystero 0.25.4 | rendez/Trystero |')
  console.log('| --- | --- | --- | --- |')
  console.log(`| joinRoom → onPeerJoin, second peer (ms, median of ${JOIN_ROUNDS}) | ${f(second.rendez)} | ${f(second.trystero)} | ${(second.rendez / second.trystero).toFixed(2)} |`)
  console.log(`| joinRoom → onPeerJoin, late joiner of a settled 8-peer room (ms, median of ${JOIN_ROUNDS}) | ${f(late.rendez)} | ${f(late.trystero)} | ${(late.rendez / late.trystero).toFixed(2)} |`)
  for (const n of MESH_SIZES) {
    const [ours, theirs] = [mesh[`rendez-${n}`], mesh[`trystero-${n}`]]
    const r = typeof ours === 'number' && typeof theirs === 'number' ? (ours / theirs).toFixed(2) : ''
    console.log(`| full mesh, ${n} pages joining at once (ms) | ${ours} | ${theirs} | ${r} |`)
  }
  for (const n of [2, 8]) {
    console.log(`| tracker messages per peer per minute, settled room of ${n} (${WINDOW_MS / 60_000} min window) | ${f(settled[`rendez-${n}`], 2)} | ${f(settled[`trystero-${n}`], 2)} | ${ratio(n)} |`)
  }
  if (partial.length) console.log(`\nNot fully meshed during the window: ${partial.join(', ')}`)
} finally {
  await browser.close()
  files.close()
  for (const t of trackers) await t.close()
}
