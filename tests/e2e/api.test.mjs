// Trystero 0.25's API shape in real browsers: object actions, request actions, room event
// properties and listeners, relayConfig, and peers leaving with requests and pings pending. The
// shared scenarios at the end run in both shapes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { openModern, startTracker, suite, waitFor } from './harness.mjs'
import { admitsOnlyAfterHandshake, meet, passivePeersWaitForAnActiveOne, sharesOneConnectionAcrossRooms } from './scenarios.mjs'

const env = suite(startTracker)

async function pair (roomId, options) {
  const [a, b] = await Promise.all([openModern(env.browser, env.files.url, env.relay.url, roomId, options), openModern(env.browser, env.files.url, env.relay.url, roomId, options)])
  await meet(a, b)
  return [a, b]
}

const close = (...peers) => Promise.all(peers.map(p => p.context.close()))

test('object actions: options, contexts, progress, the same object, and the tuple on it', async () => {
  const [a, b] = await pair('object-actions')
  await b.page.evaluate(() => {
    window.got = []
    window.progress = []
    const files = room.makeAction('file')
    files.onReceiveProgress = (percent, context) => progress.push({ percent, ...context })
    // Set after the sender starts: nothing is lost meanwhile.
    setTimeout(() => { files.onMessage = (data, context) => got.push({ size: data.byteLength, ...context }) }, 300)
  })
  const sent = await a.page.evaluate(async target => {
    const files = room.makeAction('file')
    const same = room.makeAction('file') === files
    const [send, receive, onProgress] = files
    const progress = []
    const blob = new Blob([new Uint8Array(300 * 1024)])
    await files.send(blob, { target, metadata: { name: 'a.bin' }, onProgress: (percent, context) => progress.push({ percent, ...context }) })
    return { same, tuple: [send === files.send, typeof receive, typeof onProgress], progress }
  }, b.selfId)
  assert.ok(sent.same)
  assert.deepEqual(sent.tuple, [true, 'function', 'function'])
  assert.ok(sent.progress.length > 1)
  assert.deepEqual(sent.progress.at(-1), { percent: 1, peerId: b.selfId, metadata: { name: 'a.bin' } })
  await waitFor(b.page, () => got.length === 1)
  assert.deepEqual(await b.page.evaluate(() => got), [{ size: 300 * 1024, peerId: a.selfId, metadata: { name: 'a.bin' } }])
  const progress = await b.page.evaluate(() => progress)
  assert.ok(progress.length > 1 && progress.every(p => p.peerId === a.selfId && p.metadata.name === 'a.bin'))
  assert.equal(progress.at(-1).percent, 1)
  // The positional form still works on the object action.
  await a.page.evaluate(target => room.makeAction('file').send(new Uint8Array(3), target, { name: 'b.bin' }), b.selfId)
  await waitFor(b.page, () => got.length === 2)
  await close(a, b)
})

test('an AbortSignal aborts a send and a request with an AbortError', async () => {
  const [a, b] = await pair('abort')
  await b.page.evaluate(() => {
    window.got = 0
    room.makeAction('big').onMessage = () => got++
    room.makeAction('ask', { kind: 'request', onRequest: () => new Promise(() => {}) })
  })
  const outcome = await a.page.evaluate(async target => {
    const big = room.makeAction('big')
    const controller = new AbortController()
    const sending = big.send(new Uint8Array(64 * 1024 * 1024), { target, signal: controller.signal })
    setTimeout(() => controller.abort(), 50)
    const send = await sending.then(() => 'sent', e => ({ name: e.name, code: e.code }))
    const asked = new AbortController()
    const ask = room.makeAction('ask', { kind: 'request' })
    const requesting = ask.request('?', { target, signal: asked.signal })
    setTimeout(() => asked.abort(), 200)
    const request = await requesting.then(() => 'replied', e => ({ name: e.name, code: e.code }))
    const already = await big.send('x', { signal: AbortSignal.abort() }).then(() => 'sent', e => e.name)
    return { send, request, already }
  }, b.selfId)
  assert.deepEqual(outcome, {
    send: { name: 'AbortError', code: 'aborted' },
    request: { name: 'AbortError', code: 'aborted' },
    already: 'AbortError'
  })
  await new Promise(resolve => setTimeout(resolve, 1000))
  assert.equal(await b.page.evaluate(() => got), 0, 'the aborted payload never arrived whole')
  await close(a, b)
})

test('requests: replies, refusals, held requests, timeouts and requestMany', async () => {
  const [a, b] = await pair('requests')
  const c = await openModern(env.browser, env.files.url, env.relay.url, 'requests')
  await Promise.all([meet(a, c), meet(b, c)])
  await b.page.evaluate(() => {
    window.contexts = []
    room.makeAction('is-even', {
      kind: 'request',
      onRequest: async (n, context) => {
        contexts.push({ peerId: context.peerId, metadata: context.metadata, signal: context.signal instanceof AbortSignal })
        if (n < 0) throw new Error('negative numbers are not allowed')
        return n % 2 === 0
      }
    })
    // A handler that comes late: requests wait for it.
    setTimeout(() => { room.makeAction('late', { kind: 'request' }).onRequest = text => text.toUpperCase() }, 1500)
    setTimeout(() => room.makeAction('late-config', { kind: 'request', onRequest: text => `${text}!` }), 1500)
    room.makeAction('slow', { kind: 'request' }).onRequest = () => new Promise(resolve => setTimeout(() => resolve('late'), 3000))
  })
  await c.page.evaluate(() => {
    room.makeAction('is-even', { kind: 'request' }).onRequest = () => { throw new Error('c refuses') }
  })
  const results = await a.page.evaluate(async ([bId, cId]) => {
    const isEven = room.makeAction('is-even', { kind: 'request' })
    const attempt = promise => promise.then(value => ({ value }), e => ({ message: e.message, code: e.code }))
    const many = []
    const progress = []
    // Both sent before b has the actions (it makes them after 1.5 s): both are held.
    const [late, lateConfig] = await Promise.all([
      room.makeAction('late', { kind: 'request' }).request('held', { target: bId }),
      room.makeAction('late-config', { kind: 'request' }).request('held', { target: bId })
    ])
    return {
      late,
      lateConfig,
      even: await isEven.request(42, { target: bId, timeoutMs: 5000, metadata: { why: 'test' }, onProgress: (p, context) => progress.push({ p, ...context }) }),
      progress,
      odd: await isEven.request(7, { target: bId }),
      refused: await attempt(isEven.request(-1, { target: bId })),
      timeout: await attempt(room.makeAction('slow', { kind: 'request' }).request(1, { target: bId, timeoutMs: 500 })),
      many: await isEven.requestMany(4, { targets: [bId, cId, 'no-such-peer'], timeoutMs: 5000, onResult: r => many.push(r.peerId) }),
      manyOrder: many,
      redefine: await attempt(Promise.resolve().then(() => room.makeAction('is-even')))
    }
  }, [b.selfId, c.selfId])
  assert.equal(results.even, true)
  assert.equal(results.odd, false)
  assert.deepEqual(results.refused, { message: 'rendez: negative numbers are not allowed', code: 'rejected' })
  assert.equal(results.late, 'HELD')
  assert.equal(results.lateConfig, 'held!', 'a handler given in the config serves held requests too')
  assert.deepEqual(results.progress.at(-1), { p: 1, peerId: b.selfId, metadata: { why: 'test' } })
  assert.equal(results.timeout.code, 'timeout')
  assert.match(results.timeout.message, /request timed out/)
  const byPeer = Object.fromEntries(results.many.map(r => [r.peerId, r]))
  assert.deepEqual(byPeer[b.selfId], { peerId: b.selfId, status: 'fulfilled', value: true })
  assert.equal(byPeer[c.selfId].status, 'rejected')
  assert.equal(byPeer['no-such-peer'].status, 'disconnected')
  assert.equal(results.manyOrder.length, 3)
  assert.equal(results.redefine.code, 'invalid')
  const contexts = await b.page.evaluate(() => contexts)
  assert.deepEqual(contexts[0], { peerId: a.selfId, metadata: { why: 'test' }, signal: true })
  await close(a, b, c)
})

test('pending requests, pings and sends to a peer that leaves reject at once with "peer left room"', async () => {
  const [a, b] = await pair('leaving')
  await b.page.evaluate(() => {
    room.makeAction('never', { kind: 'request' }).onRequest = () => new Promise(() => {})
  })
  await a.page.evaluate(target => {
    const attempt = promise => promise.then(() => 'settled', e => ({ message: e.message, code: e.code, at: performance.now() }))
    window.pending = {
      request: attempt(room.makeAction('never', { kind: 'request' }).request('x', { target, timeoutMs: 60_000 })),
      requestMany: room.makeAction('never', { kind: 'request' }).requestMany('x', { targets: [target] })
    }
  }, b.selfId)
  await new Promise(resolve => setTimeout(resolve, 500))
  const leftAt = await b.page.evaluate(async () => { await room.leave(); return 'left' })
  assert.equal(leftAt, 'left')
  await waitFor(a.page, id => log.leaves.includes(id), b.selfId)
  const outcome = await a.page.evaluate(async () => ({ request: await pending.request, many: await pending.requestMany }))
  assert.equal(outcome.request.code, 'left')
  assert.match(outcome.request.message, /peer left room/)
  assert.deepEqual(outcome.many, [{ peerId: b.selfId, status: 'disconnected' }])
  await close(a, b)
})

test('room events: properties, listeners, late join handlers and chained handlers', async () => {
  const [a, b] = await pair('events')
  const seen = await a.page.evaluate(() => {
    const calls = []
    // A late handler is called for peers already there, in both forms and for listeners.
    room.onPeerJoin = id => calls.push(['property', id])
    room.onPeerJoin(id => calls.push(['call', id]))
    const off = room.on('peerJoin', id => calls.push(['listener', id]))
    const previous = room.onPeerJoin
    room.onPeerJoin = id => { previous(id); calls.push(['chained', id]) }
    window.offJoin = off
    window.calls = calls
    return calls.map(c => c[0])
  })
  assert.deepEqual(seen, ['property', 'call', 'listener', 'call', 'chained'])
  // a's own join log is replaced by the handlers above: they tell when c joins.
  const c = await openModern(env.browser, env.files.url, env.relay.url, 'events')
  await waitFor(a.page, () => calls.length >= 8, undefined, 30_000)
  assert.deepEqual(await a.page.evaluate(() => calls.slice(5)), [['call', c.selfId], ['chained', c.selfId], ['listener', c.selfId]])
  await a.page.evaluate(() => {
    offJoin()
    window.leftTo = []
    room.on('peerLeave', id => leftTo.push(['one', id]))
    room.on('peerLeave', id => leftTo.push(['two', id]))
    room.onPeerJoin = null
  })
  await c.context.close()
  await waitFor(a.page, () => leftTo.length === 2)
  assert.deepEqual(await a.page.evaluate(() => leftTo.map(([which]) => which)), ['one', 'two'])
  const d = await openModern(env.browser, env.files.url, env.relay.url, 'events')
  await waitFor(d.page, id => log.joins.includes(id), a.selfId, 30_000)
  await waitFor(a.page, id => id in room.getPeers(), d.selfId)
  assert.equal(await a.page.evaluate(() => calls.length), 8, 'removed listeners and a cleared handler are not called')
  await close(a, b, d)
})

test('relayConfig and leave(): the room uses relayConfig.urls and leave resolves', async () => {
  const other = await startTracker()
  try {
    const config = { relayConfig: { urls: [other.url], redundancy: 1 } }
    const [a, b] = await Promise.all([
      openModern(env.browser, env.files.url, env.relay.url, 'relay-config', { config }),
      openModern(env.browser, env.files.url, env.relay.url, 'relay-config', { config })
    ])
    await meet(a, b)
    assert.deepEqual(await a.page.evaluate(() => Object.keys(room.getRelaySockets())), [other.url])
    const left = await a.page.evaluate(() => { const p = room.leave(); return p instanceof Promise && p.then(() => 'resolved') })
    assert.equal(left, 'resolved')
    await close(a, b)
  } finally {
    await other.close()
  }
})

/** Scenarios both shapes pass: each gets `shape` ('tuple' or 'object') and runs it in pages. */
const shared = {
  async 'targeted messages with metadata arrive with their sender' (shape) {
    const [a, b] = await pair(`shared-target-${shape}`)
    const c = await openModern(env.browser, env.files.url, env.relay.url, `shared-target-${shape}`)
    await Promise.all([meet(a, c), meet(b, c)])
    for (const peer of [b, c]) {
      await peer.page.evaluate(shape => {
        window.got = []
        const action = room.makeAction('note')
        if (shape === 'tuple') action[1]((data, peerId, metadata) => got.push({ data, peerId, metadata }))
        else action.onMessage = (data, { peerId, metadata }) => got.push({ data, peerId, metadata })
      }, shape)
    }
    const settled = await a.page.evaluate(([shape, bId]) => {
      const action = room.makeAction('note')
      return shape === 'tuple'
        ? Promise.all([action[0]('to b', bId, { n: 1 }), action[0]('to all', null, { n: 2 })]).then(() => 'ok')
        : Promise.all([action.send('to b', { target: bId, metadata: { n: 1 } }), action.send('to all', { metadata: { n: 2 } })]).then(() => 'ok')
    }, [shape, b.selfId])
    assert.equal(settled, 'ok')
    await waitFor(b.page, () => got.length === 2)
    await waitFor(c.page, () => got.length === 1)
    assert.deepEqual((await b.page.evaluate(() => got)).map(g => [g.data, g.peerId, g.metadata.n]).sort(), [['to all', a.selfId, 2], ['to b', a.selfId, 1]])
    assert.deepEqual(await c.page.evaluate(() => got), [{ data: 'to all', peerId: a.selfId, metadata: { n: 2 } }])
    await close(a, b, c)
  },

  async 'a peer that leaves is reported and can no longer be pinged' (shape) {
    const [a, b] = await pair(`shared-leave-${shape}`)
    await a.page.evaluate(shape => {
      window.leftIds = []
      if (shape === 'tuple') room.onPeerLeave(id => leftIds.push(id))
      else room.onPeerLeave = id => leftIds.push(id)
    }, shape)
    const rtt = await a.page.evaluate(id => room.ping(id), b.selfId)
    assert.ok(rtt >= 0 && rtt < 1000)
    await b.page.evaluate(() => room.leave())
    await waitFor(a.page, id => leftIds.includes(id), b.selfId)
    assert.equal(await a.page.evaluate(id => room.ping(id).then(() => 'answered', e => e.code), b.selfId), 'not-connected')
    assert.deepEqual(await a.page.evaluate(() => Object.keys(room.getPeers())), [])
    await close(a, b)
  }
}

for (const [name, scenario] of Object.entries(shared)) {
  for (const shape of ['tuple', 'object']) test(`${name} (${shape} shape)`, () => scenario(shape))
}

test('handshakes admit peers that pass, and refuse or time out the others', () =>
  admitsOnlyAfterHandshake((roomId, options) => openModern(env.browser, env.files.url, env.relay.url, roomId, options), 'torrent'))

test('passive peers wait for an active one and never meet each other', () =>
  passivePeersWaitForAnActiveOne((roomId, options) => openModern(env.browser, env.files.url, env.relay.url, roomId, { ...options }), 'torrent'))

test('rooms of one app share one connection per peer', () =>
  sharesOneConnectionAcrossRooms((roomId, options) => openModern(env.browser, env.files.url, env.relay.url, roomId, options), 'torrent'))
