// Relay benchmark: rendez vs Trystero 0.25 on every strategy, in one headless Chromium against
// local relays as strict as public ones (tests/e2e/harness.mjs). Prints, per strategy: joins
// (cold: a fresh appId per round, so no connection of an earlier room is reused), time to full
// mesh, total browser memory with 16 pages in one room, and what a settled room costs the relay
// (messages in and out, counted at the relay, per peer per minute); and, for reference, how long
// bare RTCPeerConnections take to mesh the same pages.
import { readdirSync, readFileSync } from 'node:fs'
import { build } from 'esbuild'
import { launchBrowser, startBroker, startFileServer, startNostrRelay, startTracker } from '../tests/e2e/harness.mjs'

const STRATEGIES = (process.env.BENCH_STRATEGIES ?? 'torrent,nostr,mqtt').split(',')
const LIBS = ['rendez', 'trystero']
const MESH_SIZES = [2, 4, 8, 12, 16]
const MESH_TIMEOUT = 60_000
const JOIN_ROUNDS = 10
const SETTLE_MS = 30_000
const WINDOW_MS = Number(process.env.BENCH_RELAY_MINUTES ?? 5) * 60_000
const PAGES = 17
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))
const median = xs => [...xs].sort((x, y) => x - y)[xs.length >> 1]
const startRelay = { torrent: startTracker, nostr: startNostrRelay, mqtt: startBroker }
/** A median of the joins that met a peer, and how many met nobody. */
const missedJoins = (times, missed) => `${times.length ? median(times).toFixed(0) : '–'} (${missed} of ${JOIN_ROUNDS} joins met nobody in ${MESH_TIMEOUT / 1000} s)`
const progress = message => process.stderr.write(`[bench] ${message}\n`)
const relayName = { torrent: 'tracker', nostr: 'Nostr relay', mqtt: 'MQTT broker' }

/** Proportional set size of every Chromium process, summed (bytes): the browser's memory. */
function browserMemory () {
  let total = 0
  for (const pid of readdirSync('/proc').filter(name => /^\d+$/.test(name))) {
    try {
      if (!/^(chromium|chrome)/.test(readFileSync(`/proc/${pid}/comm`, 'utf8'))) continue
      const pss = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').match(/^Pss:\s+(\d+) kB/m)
      total += Number(pss?.[1] ?? 0) * 1024
    } catch {}
  }
  return total
}

for (const strategy of ['torrent', 'nostr', 'mqtt']) {
  await build({ entryPoints: [`@trystero-p2p/${strategy}`], bundle: true, format: 'esm', outfile: `bench/dist/trystero-${strategy}.js`, logLevel: 'warning' })
}
const [browser, files] = await Promise.all([launchBrowser(), startFileServer()])
const relays = []
const relay = async strategy => { const r = await startRelay[strategy](); relays.push(r); return r }
try {
  const pages = []
  const open = async () => {
    const page = await (await browser.newContext()).newPage()
    page.on('pageerror', e => console.error('[page error]', e.message))
    await page.goto(`${files.url}/bench/room-page.html`)
    await page.waitForFunction(() => window.roomBench)
    return page
  }
  for (let i = 0; i < PAGES; i++) pages.push(await open())
  // Bare connections' signaling, handed from page to page at once.
  await Promise.all(pages.map((page, from) => page.exposeBinding('bareSignal', (source, to, message) =>
    pages[to].evaluate(([from, message]) => bareMesh.deliver(from, message), [from, message]))))
  const cdp = await Promise.all(pages.map(page => page.context().newCDPSession(page)))
  const collectGarbage = () => Promise.all(cdp.map(session => session.send('HeapProfiler.collectGarbage')))
  const join = (page, lib, strategy, url, room, appId) => page.evaluate(args => roomBench.join(...args), [lib, strategy, url, room, appId])
  const leave = (page, lib, strategy) => page.evaluate(args => roomBench.leave(...args), [lib, strategy])
  const peers = (page, lib, strategy) => page.evaluate(args => roomBench.peers(...args), [lib, strategy])
  const waitPeers = (page, lib, strategy, n, timeout = 60_000) => page.waitForFunction(([lib, strategy, n]) => roomBench.peers(lib, strategy) >= n, [lib, strategy, n], { timeout })
  const firstJoin = (page, lib, strategy) => page.evaluate(args => roomBench.joins(...args)[0]?.at, [lib, strategy])
  await sleep(10_000) // the pages' modules compiled and tiered up before anything is measured

  // The reference: bare connections between N pages, all pages offering at once, signaling handed over
  // in-process.
  const bare = {}
  for (const n of MESH_SIZES) {
    const group = pages.slice(0, n)
    const t0 = Date.now()
    await Promise.all(group.map((page, i) => page.evaluate(([i, n]) => bareMesh.start(i, n), [i, n])))
    try {
      await Promise.all(group.map(page => page.waitForFunction(n => bareMesh.open() >= n - 1, n, { timeout: MESH_TIMEOUT })))
      bare[n] = Date.now() - t0
    } catch {
      bare[n] = `none in ${MESH_TIMEOUT / 1000} s`
    }
    progress(`bare connections: full mesh of ${n}: ${bare[n]}`)
    await Promise.all(group.map(page => page.evaluate(() => bareMesh.stop())))
    await sleep(1000)
  }

  const results = {}
  for (const strategy of STRATEGIES) {
    const r = results[strategy] = { second: {}, mesh: {}, memory: {}, late: {}, settled: {} }
    const shared = await relay(strategy)

    // Joins: a second peer meets the first, 1 s after it joined (median of 10 fresh apps).
    for (const lib of LIBS) {
      const times = []
      let missed = 0
      for (let i = 0; i < JOIN_ROUNDS; i++) {
        const appId = `bench-second-${strategy}-${lib}-${i}`
        await join(pages[0], lib, strategy, shared.url, 'second', appId)
        await sleep(1000)
        await join(pages[1], lib, strategy, shared.url, 'second', appId)
        try {
          await waitPeers(pages[1], lib, strategy, 1, MESH_TIMEOUT)
          times.push(await firstJoin(pages[1], lib, strategy))
        } catch {
          missed++
        }
        await Promise.all([leave(pages[0], lib, strategy), leave(pages[1], lib, strategy)])
      }
      r.second[lib] = missed === 0 ? median(times) : missedJoins(times, missed)
      progress(`${strategy} ${lib}: second peer ${r.second[lib]}`)
    }

    // Full mesh: N pages join at once; the time until every page has every other. With 16, the
    // browser's memory once meshed (or at the timeout), less its memory before the joins.
    for (const n of MESH_SIZES) {
      for (const lib of LIBS) {
        const group = pages.slice(0, n)
        if (n === 16) await collectGarbage()
        const before = browserMemory()
        const t0 = Date.now()
        await Promise.all(group.map(page => join(page, lib, strategy, shared.url, 'mesh', `bench-mesh-${strategy}-${lib}-${n}`)))
        try {
          await Promise.all(group.map(page => waitPeers(page, lib, strategy, n - 1, MESH_TIMEOUT)))
          r.mesh[`${lib}-${n}`] = Date.now() - t0
        } catch {
          const links = await Promise.all(group.map(page => peers(page, lib, strategy)))
          r.mesh[`${lib}-${n}`] = `none in ${MESH_TIMEOUT / 1000} s (${links.reduce((a, b) => a + b, 0) / 2} of ${n * (n - 1) / 2} pairs)`
        }
        progress(`${strategy} ${lib}: full mesh of ${n}: ${r.mesh[`${lib}-${n}`]}`)
        if (n === 16) {
          await sleep(2000)
          await collectGarbage()
          r.memory[lib] = browserMemory() - before
        }
        await Promise.all(group.map(page => leave(page, lib, strategy)))
        await sleep(1000)
      }
    }
  }

  // Settled rooms of 2 and 8 for both libraries on every strategy at once, each on its own
  // counting relay.
  const groups = { 2: pages.slice(0, 2), 8: pages.slice(2, 10) }
  const settled = []
  for (const strategy of STRATEGIES) {
    for (const lib of LIBS) {
      for (const [n, group] of Object.entries(groups)) settled.push({ strategy, lib, n: Number(n), group, relay: await relay(strategy) })
    }
  }
  for (const s of settled) {
    await Promise.all(s.group.map(page => join(page, s.lib, s.strategy, s.relay.url, `settled-${s.n}`, `bench-settled-${s.strategy}-${s.lib}`)))
  }
  // A room that never meshes fully is measured as it stands; the table says so.
  await Promise.all(settled.flatMap(s => s.group.map(page => waitPeers(page, s.lib, s.strategy, s.n - 1, 120_000).catch(() => { s.partial = true }))))
  progress(`settled rooms joined; counting for ${WINDOW_MS / 60_000} min`)
  await sleep(SETTLE_MS)
  for (const s of settled) s.start = s.relay.messages()
  await sleep(WINDOW_MS)
  for (const s of settled) {
    const perPeerMinute = (s.relay.messages() - s.start) / s.n / (WINDOW_MS / 60_000)
    results[s.strategy].settled[`${s.lib}-${s.n}${s.partial ? ' (not fully meshed)' : ''}`] = perPeerMinute
    progress(`${s.strategy} ${s.lib}: settled room of ${s.n}: ${perPeerMinute.toFixed(2)} relay messages per peer per minute`)
  }

  // A late joiner of each settled 8-peer room (median of 10 joins; the joining page is reloaded
  // between joins, so it comes back as a new peer with no connection to reuse).
  for (const s of settled.filter(s => s.n === 8)) {
    const times = []
    let missed = 0
    for (let i = 0; i < JOIN_ROUNDS; i++) {
      try {
        // A library that cannot make another connection in this page (Chromium caps them) misses.
        await join(pages[16], s.lib, s.strategy, s.relay.url, 'settled-8', `bench-settled-${s.strategy}-${s.lib}`)
        await waitPeers(pages[16], s.lib, s.strategy, 1, MESH_TIMEOUT)
        times.push(await firstJoin(pages[16], s.lib, s.strategy))
      } catch {
        missed++
      }
      await pages[16].reload()
      await pages[16].waitForFunction(() => window.roomBench)
      await sleep(1000)
    }
    results[s.strategy].late[s.lib] = missed === 0 ? median(times) : missedJoins(times, missed)
    progress(`${s.strategy} ${s.lib}: late joiner ${results[s.strategy].late[s.lib]}`)
  }

  const f = (x, d = 0) => typeof x === 'number' ? x.toFixed(d) : x
  const ratio = (a, b, d = 2) => typeof a === 'number' && typeof b === 'number' && b > 0 ? (a / b).toFixed(d) : ''
  const mib = bytes => (bytes / 1024 / 1024).toFixed(0)
  console.log(`\nChromium ${browser.version()}, pages in one browser, local relays as strict as public ones`)
  console.log('\nFull mesh, N pages joining at once (ms): bare RTCPeerConnections, an RTCDataChannel per pair, every page offering to the pages after it at once (its offers one after another), descriptions and trickled candidates handed over in-process\n')
  console.log(`| pages | bare connections | ${STRATEGIES.map(s => `rendez ${s} | ×bare`).join(' | ')} |`)
  console.log(`| --- | --- | ${STRATEGIES.map(() => '--- | ---').join(' | ')} |`)
  for (const n of MESH_SIZES) {
    console.log(`| ${n} | ${f(bare[n])} | ${STRATEGIES.map(s => `${f(results[s].mesh[`rendez-${n}`])} | ${ratio(results[s].mesh[`rendez-${n}`], bare[n])}`).join(' | ')} |`)
  }
  for (const strategy of STRATEGIES) {
    const r = results[strategy]
    console.log(`\n${strategy} (local ${relayName[strategy]})\n`)
    console.log('| measurement | rendez | Trystero 0.25.4 | rendez/Trystero |')
    console.log('| --- | --- | --- | --- |')
    console.log(`| joinRoom → onPeerJoin, second peer (ms, median of ${JOIN_ROUNDS}) | ${f(r.second.rendez)} | ${f(r.second.trystero)} | ${ratio(r.second.rendez, r.second.trystero)} |`)
    console.log(`| joinRoom → onPeerJoin, late joiner of a settled 8-peer room (ms, median of ${JOIN_ROUNDS}) | ${f(r.late.rendez)} | ${f(r.late.trystero)} | ${ratio(r.late.rendez, r.late.trystero)} |`)
    for (const n of MESH_SIZES) {
      const [ours, theirs] = [r.mesh[`rendez-${n}`], r.mesh[`trystero-${n}`]]
      console.log(`| full mesh, ${n} pages joining at once (ms) | ${f(ours)} | ${f(theirs)} | ${ratio(ours, theirs)} |`)
    }
    console.log(`| browser memory with 16 pages in one room, above the same pages before joining (MiB, PSS) | ${mib(r.memory.rendez)} | ${mib(r.memory.trystero)} | ${ratio(r.memory.rendez, r.memory.trystero)} |`)
    for (const n of [2, 8]) {
      const key = lib => Object.keys(r.settled).find(k => k.startsWith(`${lib}-${n}`))
      const [ours, theirs] = [r.settled[key('rendez')], r.settled[key('trystero')]]
      const note = [key('rendez'), key('trystero')].filter(k => k?.includes('not fully')).length ? ' (a room not fully meshed)' : ''
      console.log(`| relay messages per peer per minute, settled room of ${n}${note} (${WINDOW_MS / 60_000} min window) | ${f(ours, 2)} | ${f(theirs, 2)} | ${ratio(ours, theirs)} |`)
    }
  }
} finally {
  await browser.close()
  files.close()
  for (const r of relays) await r.close()
}
