// File benchmark: 1 GiB (BENCH_FILE_MIB sets another size) from one headless Chromium to another
// over a local tracker, streamed by rendez, sent whole by rendez, and sent whole by Trystero 0.25.
// Prints throughput (from the send call until the receiver holds every byte, random bytes made as
// they are sent) and the receiving browser's peak growth (its every process, sampled every
// 250 ms; a fresh receiving browser per row).
import { build } from 'esbuild'
import { browserMemory, launchBrowser, startFileServer, startTracker } from '../tests/e2e/harness.mjs'

const MIB = 1024 * 1024
const SIZE = Number(process.env.BENCH_FILE_MIB ?? 1024) * MIB
const MARKER = '--rendez-bench-receiver'
const progress = message => process.stderr.write(`[bench] ${message}\n`)

await build({ entryPoints: ['@trystero-p2p/torrent'], bundle: true, format: 'esm', outfile: 'bench/dist/trystero-torrent.js', logLevel: 'warning' })
const [sending, files, tracker] = await Promise.all([launchBrowser(), startFileServer(), startTracker()])

async function openPage (browser, lib, roomId) {
  const page = await (await browser.newContext()).newPage()
  page.on('pageerror', e => console.error('[page error]', e.message))
  await page.goto(`${files.url}/bench/file-page.html`)
  await page.waitForFunction(() => window.fileBench)
  await page.evaluate(([lib, url, roomId]) => fileBench.join(lib, url, roomId), [lib, tracker.url, roomId])
  return page
}

/** One transfer into a fresh receiving browser: MiB/s and peak growth in MiB, or why it failed. */
async function measure (lib, mode) {
  const receiving = await launchBrowser([MARKER])
  try {
    const roomId = `${lib}-${mode}-${Date.now()}`
    const [sender, receiver] = await Promise.all([openPage(sending, lib, roomId), openPage(receiving, lib, roomId)])
    await sender.waitForFunction(() => fileBench.peers().length > 0, undefined, { timeout: 60_000 })
    const target = (await sender.evaluate(() => fileBench.peers()))[0]
    await new Promise(resolve => setTimeout(resolve, 2000))
    const baseline = browserMemory(MARKER)
    let peak = baseline
    const sampler = setInterval(() => { peak = Math.max(peak, browserMemory(MARKER)) }, 250)
    try {
      const started = Date.now()
      const sent = sender.evaluate(([mode, target, size]) => fileBench.send(mode, target, size), [mode, target, SIZE])
      await Promise.all([sent, receiver.waitForFunction(size => fileBench.arrived() === size, SIZE, { timeout: 600_000, polling: 100 })])
      return { mibps: SIZE / MIB / ((Date.now() - started) / 1000), growth: (peak - baseline) / MIB }
    } finally {
      clearInterval(sampler)
      await sender.context().close()
    }
  } catch (error) {
    return { error: error.message.split('\n')[0] }
  } finally {
    await receiving.close()
  }
}

try {
  const rows = []
  for (const [label, lib, mode] of [['rendez, streamed', 'rendez', 'stream'], ['rendez, whole value', 'rendez', 'whole'], ['Trystero 0.25.4, whole value', 'trystero', 'whole']]) {
    progress(`${label}: ${SIZE / MIB} MiB`)
    const result = await measure(lib, mode)
    progress(`${label}: ${JSON.stringify(result)}`)
    rows.push([label, result])
  }
  console.log(`\nChromium ${sending.version()}, ${SIZE / MIB} MiB of random bytes from one browser process to another over loopback\n`)
  console.log('| transfer | throughput (MiB/s) | receiving browser peak growth (MiB) |')
  console.log('| --- | --- | --- |')
  for (const [label, r] of rows) {
    console.log(r.error ? `| ${label} | failed: ${r.error} | |` : `| ${label} | ${r.mibps.toFixed(1)} | ${r.growth.toFixed(0)} |`)
  }
} finally {
  await sending.close()
  files.close()
  await tracker.close()
}
