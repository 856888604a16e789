// A native peer (rendez-native's echo example, str0m and tokio-tungstenite) meets a browser page
// in the same room through each strategy's local relay: they join each other, a JSON message and
// 3 MiB of bytes (chunked both ways) go to the native peer and come back identical, as does a
// 24 MiB stream (written to a file by the native peer, then streamed back from it); a page that
// leaves is gone for the native peer, and a native peer that leaves is gone for a page, within
// 5 s (the silence limit is 15-20 s, so only a closing that reaches the other side passes).
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { join } from 'node:path'
import { openPeer, root, startBroker, startNostrRelay, startTracker, suite, waitFor } from './harness.mjs'

const env = suite()
const echo = join(root, 'target/debug/examples/echo')
const natives = []
after(() => { for (const child of natives) child.kill() })

/** Starts the echo peer in `roomId`; resolves once it printed its id. */
function startNative (strategy, relayUrl, roomId) {
  // It leaves the room when its standard input ends.
  const child = spawn(echo, [strategy, relayUrl, 'rendez-e2e', roomId], { stdio: ['pipe', 'pipe', 'inherit'] })
  natives.push(child)
  const lines = []
  const waiters = []
  createInterface({ input: child.stdout }).on('line', line => {
    lines.push(line)
    for (const w of waiters.splice(0)) w()
  })
  const until = (pattern, timeout = 20_000) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the native peer never printed ${pattern}:\n${lines.join('\n')}`)), timeout)
    const check = () => {
      const line = lines.find(l => pattern.test(l))
      if (line) { clearTimeout(timer); resolve(line) } else waiters.push(check)
    }
    check()
  })
  return until(/^self /).then(line => ({ id: line.slice(5), until, lines, child }))
}

const relays = {
  torrent: async () => env.relay,
  nostr: () => startNostrRelay(),
  mqtt: () => startBroker()
}

for (const strategy of ['torrent', 'nostr', 'mqtt']) {
  test(`a native peer and a browser page meet through a local ${strategy} relay and exchange messages`, async () => {
    const relay = await relays[strategy]()
    try {
      const roomId = `native-${strategy}`
      const native = await startNative(strategy, relay.url, roomId)
      const [page, other] = await Promise.all([
        openPeer(env.browser, env.files.url, relay.url, roomId, {}, strategy),
        openPeer(env.browser, env.files.url, relay.url, roomId, {}, strategy)
      ])
      for (const p of [page, other]) {
        await waitFor(p.page, id => log.joins.includes(id), native.id, 30_000)
        await native.until(new RegExp(`^joined ${p.selfId}$`))
      }

      const message = { text: 'from the browser', n: 42, list: [1, 'two'] }
      await page.page.evaluate(([m, id]) => send(m, id), [message, native.id])
      await native.until(new RegExp(`^message ${page.selfId} echo `))
      await waitFor(page.page, () => log.received.length === 1)
      const [got] = await page.page.evaluate(() => log.received)
      assert.deepEqual(got.data, message)
      assert.equal(got.peerId, native.id)

      const started = Date.now()
      const bytes = await page.page.evaluate(async id => {
        track('bytes')
        const data = crypto.getRandomValues(new Uint8Array(64 * 1024))
        const payload = new Uint8Array(3 * 1024 * 1024)
        for (let i = 0; i < payload.length; i += data.length) payload.set(data.map(b => b ^ (i >> 16)), i)
        await tracked.bytes.send(payload, id)
        const digest = async bytes => Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))).join()
        return { id, digest: await digest(payload) }
      }, native.id)
      await native.until(new RegExp(`^message ${page.selfId} bytes `))
      await waitFor(page.page, () => tracked.bytes.received.length === 1, undefined, 30_000)
      const back = await page.page.evaluate(async () => {
        const { data, peerId } = tracked.bytes.received[0]
        return { peerId, size: data.byteLength, digest: Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', data))).join() }
      })
      assert.deepEqual(back, { peerId: native.id, size: 3 * 1024 * 1024, digest: bytes.digest })
      console.log(`${strategy}: 3 MiB to the native peer and back in ${Date.now() - started} ms`)

      const streamStarted = Date.now()
      const streamed = await page.page.evaluate(async ([id, size]) => {
        const hex = buffer => Array.from(new Uint8Array(buffer), x => x.toString(16).padStart(2, '0')).join('')
        const file = room.makeAction('file', { stream: true })
        const back = new Promise(resolve => {
          file.onMessage = async (stream, { peerId, size }) => {
            const chunks = []
            for await (const chunk of stream) chunks.push(chunk)
            const bytes = await new Blob(chunks).arrayBuffer()
            resolve({ peerId, size, received: bytes.byteLength, digest: hex(await crypto.subtle.digest('SHA-256', bytes)) })
          }
        })
        const bytes = new Uint8Array(size)
        for (let at = 0; at < size; at += 65536) crypto.getRandomValues(bytes.subarray(at, at + 65536))
        const sent = await file.send(new Blob([bytes]), { target: id, metadata: { name: 'random.bin' } })
        return { sent, digest: hex(await crypto.subtle.digest('SHA-256', bytes)), back: await back }
      }, [native.id, 24 * 1024 * 1024])
      const size = 24 * 1024 * 1024
      assert.deepEqual(streamed, { sent: size, digest: streamed.digest, back: { peerId: native.id, size, received: size, digest: streamed.digest } })
      await native.until(new RegExp(`^streamed ${page.selfId} file ${size} bytes$`))
      console.log(`${strategy}: a 24 MiB stream to the native peer's file and back in ${Date.now() - streamStarted} ms`)

      await page.page.evaluate(() => room.leave())
      await native.until(new RegExp(`^left ${page.selfId}$`), 5000)
      await page.context.close()
      native.child.stdin.end()
      await native.until(/^left the room$/, 5000)
      await waitFor(other.page, id => log.leaves.includes(id), native.id, 5000)
      await other.context.close()
      assert.deepEqual(native.lines.filter(l => l.startsWith('warning ')), [])
    } finally {
      if (strategy !== 'torrent') await relay.close()
    }
  })
}
