// The browser driver around the room core: page lifecycle (pagehide, back-forward cache), freeing
// a room, app code re-entering the room from a console.warn it patched, browser calls that throw,
// typed errors, and a relay that accepts and then drops every connection.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { WebSocketServer } from 'ws'
import { openMesh, openPeer, rendezWarnings, suite, waitFor } from './harness.mjs'
import { met } from './scenarios.mjs'

const env = suite()

const pair = room => openMesh(env.browser, env.files.url, env.relay.url, room, 2)
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

/** Collects a page's uncaught errors and console errors (a Rust panic logs one before aborting). */
function watchErrors (page) {
  const errors = []
  page.on('pageerror', e => errors.push(e.message))
  page.on('console', m => { if (m.type() === 'error') errors.push(m.text()) })
  return errors
}

/** In the page: joins the harness's room again (same appId, roomId and relay) and logs its joins. */
const rejoin = (page, roomId) => page.evaluate(async ([relay, roomId]) => {
  const { joinRoom } = await import('/js/torrent.js')
  const again = joinRoom({ appId: 'rendez-e2e', relayUrls: [relay], rtcConfig: { iceServers: [] } }, roomId)
  const fresh = again !== window.room
  window.room = again
  room.onPeerJoin(id => log.joins.push(id))
  window.send = room.makeAction('echo')[0]
  return fresh
}, [env.relay.url, roomId])

test('a page restored from the back-forward cache joins afresh: pagehide leaves through the JS entry point', async () => {
  const [a, b] = await pair('bfcache')
  const errors = watchErrors(a.page)
  await a.page.evaluate(() => window.dispatchEvent(new PageTransitionEvent('pagehide', { persisted: true })))
  await waitFor(b.page, id => log.leaves.includes(id), a.selfId, 5000)
  // What an app does on `pageshow` after a restore: joinRoom again. It must not get the left room.
  assert.equal(await rejoin(a.page, 'bfcache'), true, 'joinRoom returned a new room')
  await waitFor(b.page, id => log.joins.filter(j => j === id).length === 2, a.selfId)
  await a.page.evaluate(() => send('back from the cache'))
  await waitFor(b.page, () => log.received.some(r => r.data === 'back from the cache'))
  assert.deepEqual(errors, [])
  await Promise.all([a.context.close(), b.context.close()])
})

test('freeing a room (free() or Symbol.dispose) leaves it: peers see it go, relays close, pagehide stays harmless', async () => {
  for (const free of ['free', 'dispose']) {
    const [a, b] = await pair(`free-${free}`)
    const errors = watchErrors(a.page)
    const freedAt = Date.now()
    const sockets = await a.page.evaluate(async how => {
      const { getRelaySockets } = await import('/js/torrent.js')
      const before = Object.keys(getRelaySockets()).length
      if (how === 'free') room.free()
      else room[Symbol.dispose]()
      return [before, Object.keys(getRelaySockets()).length]
    }, free)
    assert.deepEqual(sockets, [1, 0], `${free}: the relay connection closed`)
    await waitFor(b.page, id => log.leaves.includes(id), a.selfId, 5000)
    assert.ok(Date.now() - freedAt < 5000, `${free}: seen at once, not after the heartbeat bound`)
    await a.page.evaluate(() => window.dispatchEvent(new PageTransitionEvent('pagehide')))
    assert.equal(await rejoin(a.page, `free-${free}`), true)
    await waitFor(b.page, id => log.joins.filter(j => j === id).length === 2, a.selfId)
    assert.deepEqual(errors, [], free)
    await Promise.all([a.context.close(), b.context.close()])
  }
})

test('app code that re-enters the room from a patched console.warn cannot break it', async () => {
  const join = config => openPeer(env.browser, env.files.url, env.relay.url, 'reentrant', config)
  const victim = await join({ password: 'right' })
  const other = await join({ password: 'right' })
  await Promise.all([met(victim, other), met(other, victim)])
  const errors = watchErrors(victim.page)
  await victim.page.evaluate(() => {
    const warn = console.warn
    window.reentered = []
    // Apps patch console.warn (error reporters do). This one calls back into the room.
    console.warn = (...args) => {
      window.reentered.push(String(args[0]))
      Object.keys(room.getPeers())
      send('sent from inside console.warn')
      room.ping(Object.keys(room.getPeers())[0]).catch(() => {})
      return warn.apply(console, args)
    }
  })
  // A peer with the wrong password: the victim cannot open its offer and warns while handling it.
  const intruder = await join({ password: 'wrong' })
  await waitFor(victim.page, () => window.reentered.some(w => /could not join/.test(w)))
  await other.page.evaluate(id => inject(id, [0]), victim.selfId)
  await waitFor(victim.page, () => window.reentered.some(w => /malformed frame/.test(w)))
  await waitFor(other.page, () => log.received.some(r => r.data === 'sent from inside console.warn'))
  await other.page.evaluate(() => send('still listening'))
  await waitFor(victim.page, () => log.received.some(r => r.data === 'still listening'))
  assert.deepEqual(errors, [])
  await Promise.all([victim, other, intruder].map(p => p.context.close()))
})

test('a browser call that throws rejects for its peer with a code; the room keeps working', async () => {
  const [a, b] = await pair('throwing')
  const result = await a.page.evaluate(async id => {
    const canvas = Object.assign(document.createElement('canvas'), { width: 64, height: 48 })
    canvas.getContext('2d').fillRect(0, 0, 64, 48)
    const stream = canvas.captureStream(10)
    await Promise.all(room.addStream(stream, id))
    // The same track again on the same connection: addTrack throws InvalidAccessError.
    const again = await Promise.allSettled(room.addStream(stream, id))
    return again.map(r => r.status === 'rejected' ? [r.reason.code, r.reason.message] : r.status)
  }, b.selfId)
  assert.equal(result.length, 1)
  assert.equal(result[0][0], 'refused')
  assert.match(result[0][1], /^rendez: cannot add the track: InvalidAccessError/)
  await a.page.evaluate(() => send('after the throw'))
  await waitFor(b.page, () => log.received.some(r => r.data === 'after the throw'))
  await Promise.all([a.context.close(), b.context.close()])
})

test('rejected sends and pings carry a stable code', async () => {
  const victim = await openPeer(env.browser, env.files.url, env.relay.url, 'codes', { maxMessageSize: 1000 })
  const sender = await openPeer(env.browser, env.files.url, env.relay.url, 'codes')
  await Promise.all([met(victim, sender), met(sender, victim)])
  const codes = await sender.page.evaluate(async id => {
    const code = promise => promise.then(() => 'resolved', e => `${e.code}: ${e.message}`)
    const [send] = room.makeAction('codes')
    return {
      refused: await code(send(new Uint8Array(2000), id)),
      notConnected: await code(send('x', 'nobody-with-this-id!')),
      pingNotConnected: await code(room.ping('nobody-with-this-id!')),
      invalid: await code(Promise.resolve().then(() => send(undefined)))
    }
  }, victim.selfId)
  assert.match(codes.refused, /^refused: rendez: peer \S+ refused the data$/)
  assert.match(codes.notConnected, /^not-connected: rendez: no connected peer nobody-with-this-id!$/)
  assert.match(codes.pingNotConnected, /^not-connected: /)
  assert.match(codes.invalid, /^invalid: rendez: action data cannot be undefined/)
  // A ping pending when the peer leaves rejects at once, with code `left`. The victim stops reading
  // its channel first, so the ping stays unanswered.
  await victim.page.evaluate(id => { channelOf(id).onmessage = () => {} }, sender.selfId)
  const pending = sender.page.evaluate(id => {
    const started = performance.now()
    return room.ping(id).then(() => 'resolved', e => [e.code, performance.now() - started])
  }, victim.selfId)
  await victim.page.evaluate(() => room.leave())
  const [code, ms] = await pending
  assert.equal(code, 'left')
  assert.ok(ms < 5000, `${ms} ms`)
  const afterLeave = await victim.page.evaluate(() => send('x').then(() => 'resolved', e => e.code))
  assert.equal(afterLeave, 'closed')
  await Promise.all([victim.context.close(), sender.context.close()])
})

test('a relay that accepts then drops every connection is retried ever more slowly, warned about once, and costs no peer connections', async () => {
  const relay = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise(resolve => relay.on('listening', resolve))
  const connections = []
  relay.on('connection', socket => {
    connections.push(Date.now())
    socket.on('message', () => socket.close(1008, 'not on my watch'))
  })
  const url = `ws://127.0.0.1:${relay.address().port}`
  const peer = await openPeer(env.browser, env.files.url, url, 'slammed')
  const started = Date.now()
  await sleep(10_000)
  const attempts = connections.filter(at => at >= started - 1000).length
  // Retried every 0.5–1 s as before, ten seconds would be 10 or more attempts.
  assert.ok(attempts >= 2 && attempts <= 6, `${attempts} attempts in 10 s`)
  const warnings = (await rendezWarnings(peer, 1)).filter(w => w.includes(url))
  assert.equal(warnings.length, 1, warnings.join('\n'))
  assert.match(warnings[0], /not on my watch/)
  assert.equal(await peer.page.evaluate(() => connectionsMade), 0)
  await peer.context.close()
  await new Promise(resolve => relay.close(resolve))
})
