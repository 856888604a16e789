// Streamed transfers between real browsers: a 2 GiB stream (STREAM_MIB sets another size) between
// two browser processes with the receiving browser's memory measured, a byte changed on the way,
// cancelling on either side, resuming after a cut connection, going on across a network change
// (an ICE restart), and a receiver whose page reloads picking the stream up from OPFS.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { browserMemory, launchBrowser, openPeer, reloadPeer, startTracker, suite, waitFor } from './harness.mjs'

const MIB = 1024 * 1024
const env = suite(startTracker)

/**
 * Defines in `page` a stream action `file` whose arrivals are read at once into `incoming` (with
 * their `digest`, see below), and `randomStream(size)` giving `size` random bytes as a
 * ReadableStream whose `digest` promise resolves once it is read. A digest is the SHA-256 of the
 * SHA-256 of every MiB, so neither side holds the bytes.
 */
async function setUpStreams (page) {
  await page.evaluate(() => {
    const BLOCK = 1024 * 1024
    const hex = buffer => Array.from(new Uint8Array(buffer), x => x.toString(16).padStart(2, '0')).join('')
    /** Hashes bytes as they come, block by block; `finish()` gives the digest of the block digests. */
    const blockDigest = () => {
      const block = new Uint8Array(BLOCK)
      let filled = 0
      const digests = []
      const flush = () => { digests.push(crypto.subtle.digest('SHA-256', block.slice(0, filled))); filled = 0 }
      return {
        add (bytes) {
          for (let at = 0; at < bytes.length;) {
            const take = Math.min(BLOCK - filled, bytes.length - at)
            block.set(bytes.subarray(at, at + take), filled)
            filled += take
            at += take
            if (filled === BLOCK) flush()
          }
        },
        async finish () {
          if (filled) flush()
          const all = await Promise.all(digests)
          const joined = new Uint8Array(all.length * 32)
          all.forEach((d, i) => joined.set(new Uint8Array(d), i * 32))
          return hex(await crypto.subtle.digest('SHA-256', joined))
        }
      }
    }
    window.blockDigest = blockDigest
    window.randomStream = size => {
      let offset = 0
      const hash = blockDigest()
      let finished
      const stream = new ReadableStream({
        pull (controller) {
          if (offset >= size) {
            finished(hash.finish())
            return controller.close()
          }
          const chunk = new Uint8Array(Math.min(BLOCK, size - offset))
          for (let at = 0; at < chunk.length; at += 65536) crypto.getRandomValues(chunk.subarray(at, at + 65536))
          hash.add(chunk)
          offset += chunk.length
          controller.enqueue(chunk)
        }
      }, { highWaterMark: 0 })
      stream.digest = new Promise(resolve => { finished = resolve })
      return stream
    }
    window.incoming = []
    window.file = room.makeAction('file', { stream: true })
    file.onMessage = async (stream, { peerId, size, metadata }) => {
      const entry = { peerId, size, metadata, received: 0, digest: null, error: null }
      incoming.push(entry)
      const hash = blockDigest()
      try {
        for await (const chunk of stream) {
          hash.add(chunk)
          entry.received += chunk.length
        }
        entry.digest = await hash.finish()
      } catch (error) {
        entry.error = { code: error.code, message: error.message }
      }
    }
  })
}

async function pair (browserA, browserB, roomId) {
  const [a, b] = await Promise.all([
    openPeer(browserA, env.files.url, env.relay.url, roomId),
    openPeer(browserB, env.files.url, env.relay.url, roomId)
  ])
  await waitFor(a.page, id => log.joins.includes(id), b.selfId)
  await waitFor(b.page, id => log.joins.includes(id), a.selfId)
  await Promise.all([setUpStreams(a.page), setUpStreams(b.page)])
  return [a, b]
}

/** Most the receiving browser may grow while a stream of any size arrives. */
const RECEIVER_GROWTH_BOUND_MIB = 128

test(`a 2 GiB stream between two browser processes arrives byte-identical while the receiving browser grows by at most ${RECEIVER_GROWTH_BOUND_MIB} MiB`, { timeout: 600_000 }, async () => {
  const marker = '--rendez-e2e-receiver'
  const receiving = await launchBrowser([marker])
  try {
    const [a, b] = await pair(env.browser, receiving, 'streams-big')
    const size = Number(process.env.STREAM_MIB ?? 2048) * MIB
    const baseline = browserMemory(marker)
    let peak = baseline
    const sampler = setInterval(() => { peak = Math.max(peak, browserMemory(marker)) }, 250)
    const started = Date.now()
    const [sent, digest] = await a.page.evaluate(async ([target, size]) => {
      const source = randomStream(size)
      return [await file.send(source, { target, size, metadata: { name: 'big.bin' } }), await source.digest]
    }, [b.selfId, size])
    await waitFor(b.page, () => incoming[0]?.digest || incoming[0]?.error, undefined, size / MIB * 160)
    clearInterval(sampler)
    const seconds = (Date.now() - started) / 1000
    const got = await b.page.evaluate(() => incoming[0])
    const growth = (peak - baseline) / MIB
    console.log(`${size / MIB} MiB streamed in ${seconds.toFixed(1)} s (${(size / MIB / seconds).toFixed(0)} MiB/s); receiving browser grew by ${growth.toFixed(1)} MiB at most (from ${(baseline / MIB).toFixed(0)} MiB)`)
    assert.equal(sent, size)
    assert.deepEqual(got, { peerId: a.selfId, size, metadata: { name: 'big.bin' }, received: size, digest, error: null })
    // What grows (60-100 MiB whatever the size) is mostly received frames awaiting V8's
    // collection, which external memory triggers every ~64 MiB; the stream itself holds at most
    // its 8 MiB window. A whole-value receive grows by about twice the payload.
    assert.ok(growth <= RECEIVER_GROWTH_BOUND_MIB, `the receiving browser grew by ${growth.toFixed(1)} MiB`)
  } finally {
    await receiving.close()
  }
})

test('a byte changed on the way fails the stream on both sides with code integrity', async () => {
  const [a, b] = await pair(env.browser, env.browser, 'streams-corrupt')
  await a.page.evaluate(peerId => {
    const channel = channelOf(peerId)
    const send = channel.send
    let corrupted = false
    // [tag: 8][header length: 2][kind]: flip the last byte of one stream data frame (kind 14).
    channel.send = function (data) {
      if (!corrupted && data[10] === 14 && data.length > 1000) {
        data[data.length - 1] ^= 0xff
        corrupted = true
      }
      return send.call(this, data)
    }
  }, b.selfId)
  const sent = await a.page.evaluate(target => file.send(new Blob([new Uint8Array(3 * 1024 * 1024)]), { target }).then(() => null, e => e.code), b.selfId)
  assert.equal(sent, 'integrity')
  await waitFor(b.page, () => incoming[0]?.error)
  assert.equal(await b.page.evaluate(() => incoming[0].error.code), 'integrity')
})

test('the receiver cancelling stops the sender, and the sender aborting errors the receiver', async () => {
  const [a, b] = await pair(env.browser, env.browser, 'streams-cancel')
  await b.page.evaluate(() => { file.onMessage = stream => { window.held = stream } })
  const cancelled = a.page.evaluate(target => file.send(randomStream(256 * 1024 * 1024), { target, size: 256 * 1024 * 1024 }).then(() => null, e => e.code), b.selfId)
  await waitFor(b.page, () => window.held)
  await b.page.evaluate(async () => { const reader = held.getReader(); await reader.read(); await reader.cancel() })
  assert.equal(await cancelled, 'cancelled')
  await b.page.evaluate(() => { window.held = null })
  const aborted = a.page.evaluate(target => {
    const controller = new AbortController()
    window.abortStream = () => controller.abort()
    return file.send(randomStream(256 * 1024 * 1024), { target, signal: controller.signal }).then(() => null, e => e.name)
  }, b.selfId)
  await waitFor(b.page, () => window.held)
  const receiverError = b.page.evaluate(async () => {
    const reader = held.getReader()
    try {
      for (;;) if ((await reader.read()).done) return null
    } catch (error) {
      return error.code
    }
  })
  await a.page.evaluate(() => abortStream())
  assert.equal(await aborted, 'AbortError')
  assert.equal(await receiverError, 'aborted')
})

/** Three pages in `roomId`, each joined with the others and set up as `setUpStreams` does. */
async function trio (roomId) {
  const [a, b] = await pair(env.browser, env.browser, roomId)
  const c = await openPeer(env.browser, env.files.url, env.relay.url, roomId)
  for (const peer of [a, b]) await waitFor(peer.page, id => log.joins.includes(id), c.selfId)
  await waitFor(c.page, ids => ids.every(id => log.joins.includes(id)), [a.selfId, b.selfId])
  await setUpStreams(c.page)
  return [a, b, c]
}

test('a received stream forwarded to another peer arrives whole', async () => {
  const [a, b, c] = await trio('streams-forward')
  await b.page.evaluate(target => {
    file.onMessage = (stream, { size }) => { window.forwarded = file.send(stream, { target, size }) }
  }, c.selfId)
  const size = 24 * MIB
  const digest = await a.page.evaluate(async ([target, size]) => {
    const source = randomStream(size)
    await file.send(source, { target, size })
    return source.digest
  }, [b.selfId, size])
  await waitFor(c.page, () => incoming[0]?.digest || incoming[0]?.error, undefined, 60_000)
  assert.deepEqual(await c.page.evaluate(() => incoming[0]), { peerId: b.selfId, size, metadata: undefined, received: size, digest, error: null })
  assert.equal(await b.page.evaluate(() => forwarded), size)
})

test('a Blob streams to two peers at once, each verified; a ReadableStream, read once, or an absent target is refused for two', async () => {
  const [a, b, c] = await trio('streams-several')
  const size = 24 * MIB
  const { sent, digest } = await sendRandomBlob(a.page, [b.selfId, c.selfId], size, 'both.bin')
  assert.equal(sent, size)
  for (const peer of [b, c]) {
    await waitFor(peer.page, () => incoming[0]?.digest || incoming[0]?.error)
    const got = await peer.page.evaluate(() => incoming[0])
    assert.deepEqual(got, { peerId: a.selfId, size, metadata: { name: 'both.bin' }, received: size, digest, error: null })
  }
  const refused = await a.page.evaluate(targets => file.send(randomStream(10), { target: targets }).catch(e => e.code), [b.selfId, c.selfId])
  assert.equal(refused, 'invalid')
  // A target not in the room fails the send before any stream starts.
  const absent = await a.page.evaluate(target => file.send(new Blob(['x']), { target: [target, 'A'.repeat(20)] }).catch(e => e.code), b.selfId)
  assert.equal(absent, 'not-connected')
  assert.equal(await b.page.evaluate(() => incoming.length), 1)
})

/** Counts in `streamBytesSent` the bytes of stream data frames `page` sends to `peerId`. */
async function countStreamBytes (page, peerId) {
  // Data frames: [tag: 8][length: 2][kind 14][handle: 4][offset: 8][bytes].
  await page.evaluate(peerId => {
    window.streamBytesSent = 0
    const count = send => function (data) {
      if (data[10] === 14) streamBytesSent += data.length - 23
      return send.call(this, data)
    }
    const channel = channelOf(peerId)
    channel.send = count(channel.send)
    RTCDataChannel.prototype.send = count(RTCDataChannel.prototype.send)
  }, peerId)
}

/**
 * Starts sending `size` random bytes from a Blob in `page` to `target` (a peer id or several) on
 * stream action `action` (a global of the page); resolves with what was sent and its digest.
 */
function sendRandomBlob (page, target, size, name, action = 'file') {
  return page.evaluate(async ([target, size, name, action]) => {
    const parts = []
    const hash = blockDigest()
    for (let at = 0; at < size; at += 64 * 1024 * 1024) {
      const part = new Uint8Array(Math.min(64 * 1024 * 1024, size - at))
      for (let i = 0; i < part.length; i += 65536) crypto.getRandomValues(part.subarray(i, i + 65536))
      hash.add(part)
      parts.push(part)
    }
    const digest = await hash.finish()
    const sent = await window[action].send(new Blob(parts), { target, metadata: { name } })
    return { sent, digest }
  }, [target, size, name, action])
}

test('a stream from a Blob resumes after its connection is cut, and arrives byte-identical', async () => {
  const [a, b] = await pair(env.browser, env.browser, 'streams-resume')
  const size = 256 * MIB
  await countStreamBytes(a.page, b.selfId)
  const sending = sendRandomBlob(a.page, b.selfId, size, 'resumed.bin')
  await waitFor(b.page, size => (incoming[0]?.received ?? 0) > size / 4, size)
  await a.page.evaluate(peerId => room.getPeers()[peerId].close(), b.selfId)
  const { sent, digest } = await sending
  await waitFor(b.page, () => incoming[0]?.digest || incoming[0]?.error, undefined, 60_000)
  const got = await b.page.evaluate(() => ({ count: incoming.length, ...incoming[0] }))
  const twice = await a.page.evaluate(size => streamBytesSent - size, size)
  console.log(`a ${size / MIB} MiB stream resumed after its connection was cut: ${(twice / MIB).toFixed(1)} MiB sent twice`)
  assert.equal(sent, size)
  assert.deepEqual(got, { count: 1, peerId: a.selfId, size, metadata: { name: 'resumed.bin' }, received: size, digest, error: null })
  assert.ok(twice >= 0 && twice < size / 10, `${twice} bytes sent twice`)
})

/** Moves the network namespace's host address (see scripts/isolated.sh) from `from` to `to`. */
function moveHostAddress (from, to) {
  const ip = (...args) => execFileSync('ip', args)
  ip('addr', 'del', `${from}/24`, 'dev', 'rdz0')
  ip('addr', 'add', `${to}/24`, 'dev', 'rdz0')
  ip('route', 'replace', 'default', 'via', '198.18.0.2', 'dev', 'rdz0')
}

test('a stream goes on across a network change: the connection is ICE-restarted over the tracker and nothing is sent twice', {
  skip: process.env.RENDEZ_ISOLATED !== '1' && 'needs the network namespace of scripts/isolated.sh'
}, async () => {
  const [a, b] = await pair(env.browser, env.browser, 'streams-ice-restart')
  const size = 128 * MIB
  await countStreamBytes(a.page, b.selfId)
  const sending = sendRandomBlob(a.page, b.selfId, size, 'moved.bin')
  await waitFor(b.page, size => (incoming[0]?.received ?? 0) > size / 4, size)
  // Every candidate pair dies with the old address: only a restart finds the new one.
  const movedAt = Date.now()
  moveHostAddress('198.18.0.1', '198.18.0.3')
  try {
    const { sent, digest } = await sending
    await waitFor(b.page, () => incoming[0]?.digest || incoming[0]?.error, undefined, 60_000)
    const got = await b.page.evaluate(() => ({ count: incoming.length, ...incoming[0] }))
    const twice = await a.page.evaluate(size => streamBytesSent - size, size)
    const back = [...a.warnings, ...b.warnings].find(w => w.includes('is back after'))
    console.log(`a ${size / MIB} MiB stream across a network change: ${back}; finished ${((Date.now() - movedAt) / 1000).toFixed(1)} s after the change; ${twice} bytes sent twice`)
    assert.equal(sent, size)
    assert.deepEqual(got, { count: 1, peerId: a.selfId, size, metadata: { name: 'moved.bin' }, received: size, digest, error: null })
    assert.equal(twice, 0, 'the data channel lived on: nothing was resent')
    for (const peer of [a, b]) {
      assert.deepEqual(await peer.page.evaluate(() => log.leaves), [])
      assert.ok(peer.warnings.some(w => w.includes('is back after')), peer.warnings.join('\n'))
    }
    const restarters = [a, b].filter(peer => peer.warnings.some(w => w.includes('dropped: restarting ICE')))
    assert.equal(restarters.length, 1, 'exactly one side restarts')
  } finally {
    moveHostAddress('198.18.0.3', '198.18.0.1')
  }
})

/**
 * Defines in `page` the resumable stream action `staged`, whose arrivals are written to OPFS in
 * parts of about 1 MiB (each committed as it is written, its count kept in `localStorage` with the
 * ticket), and `resumeStaged()` picking the stream up after a reload from the parts written.
 * `staging` tells what was written, where a resumed stream started, and how it ended.
 */
async function setUpStaging (page) {
  await page.evaluate(() => {
    const PART = 1024 * 1024
    const partName = index => `part-${String(index).padStart(5, '0')}`
    window.staging = { written: 0, resumedFrom: null, done: false, error: null }
    const writeParts = async (stream, first) => {
      const dir = await navigator.storage.getDirectory()
      let index = first
      let part = []
      let length = 0
      const flush = async () => {
        const writable = await (await dir.getFileHandle(partName(index), { create: true })).createWritable()
        await writable.write(new Blob(part))
        await writable.close()
        localStorage.setItem('parts', String(++index))
        staging.written += length
        part = []
        length = 0
      }
      try {
        for await (const chunk of stream) {
          part.push(chunk)
          length += chunk.length
          if (length >= PART) await flush()
        }
        if (length) await flush()
        staging.done = true
      } catch (error) {
        staging.error = { code: error.code, message: error.message }
      }
    }
    window.staged = room.makeAction('staged', { stream: true, resumable: true })
    staged.onMessage = (stream, { ticket }) => {
      localStorage.setItem('ticket', ticket)
      localStorage.setItem('parts', '0')
      writeParts(stream, 0)
    }
    const parts = async () => {
      const dir = await navigator.storage.getDirectory()
      const files = []
      for (let i = 0; i < Number(localStorage.getItem('parts')); i++) files.push(await (await dir.getFileHandle(partName(i))).getFile())
      return new Blob(files)
    }
    window.resumeStaged = async () => {
      const kept = await parts()
      staging.resumedFrom = kept.size
      const stream = await staged.resume(localStorage.getItem('ticket'), kept)
      await writeParts(stream, Number(localStorage.getItem('parts')))
    }
    window.stagedDigest = async () => {
      const hash = blockDigest()
      const reader = (await parts()).stream().getReader()
      for (let read = await reader.read(); !read.done; read = await reader.read()) hash.add(read.value)
      return hash.finish()
    }
  })
}

test('a receiver whose page reloads mid-stream picks the stream up from the bytes it staged in OPFS', async () => {
  const [a, b] = await pair(env.browser, env.browser, 'streams-reload')
  await Promise.all([setUpStaging(a.page), setUpStaging(b.page)])
  const size = 192 * MIB
  await countStreamBytes(a.page, b.selfId)
  const sending = sendRandomBlob(a.page, b.selfId, size, 'staged.bin', 'staged')
  await waitFor(b.page, size => staging.written > size / 3, size)
  const oldId = b.selfId
  const newId = await reloadPeer(b, env.relay.url, 'streams-reload')
  await waitFor(a.page, id => log.joins.includes(id), newId)
  await setUpStreams(b.page)
  await setUpStaging(b.page)
  await b.page.evaluate(() => { resumeStaged() })
  const { sent, digest } = await sending
  await waitFor(b.page, () => staging.done || staging.error, undefined, 60_000)
  const got = await b.page.evaluate(async () => ({ ...staging, digest: await stagedDigest() }))
  const twice = await a.page.evaluate(size => streamBytesSent - size, size)
  console.log(`a ${size / MIB} MiB stream picked up after the receiver's page reloaded: ${(got.resumedFrom / MIB).toFixed(1)} MiB staged in OPFS, ${(twice / MIB).toFixed(1)} MiB sent twice`)
  assert.equal(sent, size)
  assert.deepEqual({ done: got.done, error: got.error, digest: got.digest }, { done: true, error: null, digest })
  assert.equal(got.resumedFrom + got.written, size, 'the parts written after the reload hold the rest')
  assert.ok(got.resumedFrom > size / 3, `${got.resumedFrom} bytes staged`)
  assert.ok(twice >= 0 && twice < 24 * MIB, `${twice} bytes sent twice`)
  assert.deepEqual(await a.page.evaluate(() => log.leaves), [oldId])
})
