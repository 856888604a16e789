// Benchmark: rendez vs a bare RTCDataChannel (the ceiling) vs Trystero, two peers on
// loopback in one headless Chromium, one local tracker. Prints a table with ratios.
import { build } from 'esbuild'
import { launchBrowser, startFileServer, startTracker } from '../tests/e2e/harness.mjs'

const BIG = 64 * 1024 * 1024
const SMALL = 10_000
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9)

await build({ entryPoints: ['@trystero-p2p/torrent'], bundle: true, format: 'esm', outfile: 'bench/dist/trystero-torrent.js', logLevel: 'warning' })
const [browser, files, tracker] = await Promise.all([launchBrowser(), startFileServer(), startTracker()])
try {
  const pages = []
  for (let i = 0; i < 2; i++) {
    const page = await (await browser.newContext()).newPage()
    page.on('pageerror', e => console.error('[page error]', e.message))
    await page.goto(`${files.url}/bench/page.html`)
    await page.waitForFunction(() => window.bench)
    await page.evaluate(url => bench.join(url), tracker.url)
    pages.push(page)
  }
  const [a, b] = pages
  for (const name of ['rendez', 'trystero']) {
    for (const page of pages) await page.waitForFunction(n => bench.peerCount(n) > 0, name, { timeout: 60_000 })
  }
  await b.evaluate(async sdps => { window.answers = await bench.rawAnswer(sdps) }, await a.evaluate(() => bench.rawOffer()))
  await a.evaluate(sdps => bench.rawAccept(sdps), await b.evaluate(() => window.answers))
  await a.waitForFunction(() => bench.rawOpen())

  const median = xs => [...xs].sort((x, y) => x - y)[xs.length >> 1]
  const mibps = ms => (BIG / 1024 / 1024) / (ms / 1000)
  const raw = ({ chunk, high, low, connections, channels }) =>
    a.evaluate(args => bench.raw(...args), [BIG, chunk, high, low, connections, channels])

  // The ceiling: after one warm-up transfer, find the best chunk size, buffer thresholds and
  // shape (1 channel; 4 channels of one SCTP association; 2 connections) for bare connections...
  await raw({ chunk: 262144, high: 1 << 20, low: 256 << 10, connections: 1, channels: 1 })
  let ceiling = { ms: Infinity }
  for (const [connections, channels] of [[1, 1], [1, 4], [2, 1]]) {
    for (const chunk of [16384, 65536, 262144]) {
      for (const [high, low] of [[1 << 20, 256 << 10], [4 << 20, 1 << 20], [15 << 20, 8 << 20]]) {
        const ms = await raw({ chunk, high, low, connections, channels })
        if (ms < ceiling.ms) ceiling = { ms, chunk, high, low, connections, channels }
      }
    }
  }
  // ...then measure it, rendez and Trystero in interleaved rounds and compare medians.
  const runs = { raw: [], ours: [], theirs: [], oursSmall: [], theirsSmall: [] }
  for (let i = 0; i < ROUNDS; i++) {
    runs.raw.push(await raw(ceiling))
    runs.ours.push(await a.evaluate(s => bench.big('rendez', s), BIG))
    runs.theirs.push(await a.evaluate(s => bench.big('trystero', s), BIG))
    runs.oursSmall.push(await a.evaluate(n => bench.small('rendez', n), SMALL))
    runs.theirsSmall.push(await a.evaluate(n => bench.small('trystero', n), SMALL))
  }
  const [rawMs, ours, theirs, oursSmall, theirsSmall] = ['raw', 'ours', 'theirs', 'oursSmall', 'theirsSmall'].map(k => median(runs[k]))
  const oursPing = await a.evaluate(() => bench.ping('rendez', 50))
  const theirsPing = await a.evaluate(() => bench.ping('trystero', 50))
  const rate = ms => SMALL / (ms / 1000)

  const f = (x, d = 1) => x.toFixed(d)
  console.log(`\nChromium ${browser.version()}, two peers on loopback, random payload, median of ${ROUNDS} interleaved rounds\n`)
  console.log('| measurement | rendez | raw RTCDataChannel | Trystero 0.25.4 | rendez/raw | rendez/Trystero |')
  console.log('| --- | --- | --- | --- | --- | --- |')
  console.log(`| 64 MiB ArrayBuffer (MiB/s) | ${f(mibps(ours))} | ${f(mibps(rawMs))} (${ceiling.connections} connection${ceiling.connections > 1 ? 's' : ''} × ${ceiling.channels} channel${ceiling.channels > 1 ? 's' : ''}, chunk ${ceiling.chunk / 1024} KiB, high ${ceiling.high >> 10} KiB, low ${ceiling.low >> 10} KiB) | ${f(mibps(theirs))} | ${f(rawMs / ours, 2)} | ${f(theirs / ours, 2)} |`)
  console.log(`| ${SMALL} small JSON actions (msg/s) | ${f(rate(oursSmall), 0)} | | ${f(rate(theirsSmall), 0)} | | ${f(theirsSmall / oursSmall, 2)} |`)
  console.log(`| ping RTT, median of 50 (ms, performance.now around each call) | ${f(oursPing, 2)} | | ${f(theirsPing, 2)} | | ${f(theirsPing / oursPing, 2)} |`)
  console.log(`\nThe bare connections' own best is ${f(theirs / rawMs, 2)}× Trystero in this run; a library over the same connections cannot exceed that ratio.`)
} finally {
  await browser.close()
  files.close()
  await tracker.close()
}
