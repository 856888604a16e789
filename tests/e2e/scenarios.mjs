// Scenarios every pub/sub strategy must pass, parameterised by how to join and how to
// stop and start its relay.
import assert from 'node:assert/strict'
import { waitFor } from './harness.mjs'

/** Waits until `peer` has seen `other` join. */
export const met = (peer, other) => waitFor(peer.page, id => log.joins.includes(id), other.selfId, 30_000)

/**
 * Two peers connect; the relay stops; they keep talking; the relay comes back; a newcomer
 * meets both and talks to them; nobody saw anybody leave.
 */
export async function survivesRelayRestart (join, roomId, relay) {
  const [a, b] = await Promise.all([join(roomId), join(roomId)])
  await Promise.all([met(a, b), met(b, a)])
  await relay.stop()
  await a.page.evaluate(() => send('while the relay is down'))
  await waitFor(b.page, () => log.received.length === 1)
  assert.equal(await b.page.evaluate(() => log.received[0].data), 'while the relay is down')
  await new Promise(resolve => setTimeout(resolve, 1500))
  await relay.start()
  const c = await join(roomId)
  await Promise.all([met(c, a), met(c, b), met(a, c), met(b, c)])
  await c.page.evaluate(() => send('hello after the restart'))
  await waitFor(a.page, () => log.received.length === 1)
  assert.deepEqual(await a.page.evaluate(() => log.leaves), [])
  assert.equal(await a.page.evaluate(() => log.joins.length), 2)
  await Promise.all([a.context.close(), b.context.close(), c.context.close()])
}

/**
 * Sixteen pages join `roomId` at once: each meets every other exactly once, with no rendez
 * warning but those matching `allowedWarning`. Logs and returns the ms from the last page's
 * joinRoom to full mesh.
 */
export async function sixteenPagesMesh (join, roomId, label, allowedWarning = /^$/) {
  const pages = await Promise.all(Array.from({ length: 16 }, () => join(roomId)))
  const opened = Date.now()
  try {
    await Promise.all(pages.map(p => p.page.waitForFunction(() => log.joins.length >= 15, null, { timeout: 60_000 })))
  } catch (error) {
    const state = await Promise.all(pages.map(async (p, i) => `page ${i} (${p.selfId}): ${(await p.page.evaluate(() => log.joins)).length} joined; ${p.warnings.join(' | ')}`))
    throw new Error(`no full mesh after 60 s:\n${state.join('\n')}`, { cause: error })
  }
  const ms = Date.now() - opened
  console.log(`16 pages through ${label}: full mesh ${ms} ms after the last page joined`)
  for (const p of pages) {
    const joins = await p.page.evaluate(() => log.joins)
    assert.equal(new Set(joins).size, 15, 'each page joined every other once')
    assert.deepEqual(p.warnings.filter(w => w.startsWith('rendez:') && !allowedWarning.test(w)), [])
  }
  await Promise.all(pages.map(p => p.context.close()))
  return ms
}

/** Waits until `a` and `b` have seen each other join. */
export const meet = (a, b) => Promise.all([met(a, b), met(b, a)])

/**
 * With `onPeerHandshake`, peers join only once both handshakes pass: pending peers are absent
 * from `getPeers`, a wrong answer is refused with "handshake failed", and a handshake that never
 * ends times out with "handshake timed out". `open(roomId, {config, handshake})` opens a page of
 * Trystero 0.25's shape (harness `openModern`) on the strategy under test.
 */
export async function admitsOnlyAfterHandshake (open, strategy) {
  const room = `handshake-${strategy}`
  const secret = { secret: 'swordfish' }
  const [a, b] = await Promise.all([open(room, { config: secret, handshake: 'password' }), open(room, { config: secret, handshake: 'password' })])
  await meet(a, b)
  const handshakes = await Promise.all([a, b].map(p => p.page.evaluate(() => log.handshakes)))
  assert.deepEqual(handshakes.map(h => h.length), [1, 1])
  assert.deepEqual(handshakes.map(h => h[0].isInitiator).sort(), [false, true], 'exactly one side initiates')
  assert.deepEqual(handshakes.map(h => h[0].peersDuring), [[], []], 'a pending peer is not in getPeers')

  // Whichever side initiates checks the answer: the pair's initiator reports the failure.
  const wrong = await open(room, { config: { secret: 'guess' }, handshake: 'password' })
  const failures = () => Promise.all([a, b, wrong].map(p => p.page.evaluate(() => log.joinErrors.map(e => [e.peerId, e.error]))))
  const deadline = Date.now() + 30_000
  while ((await failures()).flat().length < 2 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 200))
  const [fromA, fromB, fromWrong] = await failures()
  const pairs = [...fromA.map(([, e]) => ['a', e]), ...fromB.map(([, e]) => ['b', e]), ...fromWrong.map(([id, e]) => [id === a.selfId ? 'a' : 'b', e])]
  assert.deepEqual(pairs.map(([who]) => who).sort(), ['a', 'b'], JSON.stringify(pairs))
  assert.ok(pairs.every(([, e]) => e === 'handshake failed: wrong answer'), JSON.stringify(pairs))
  for (const peer of [a, b, wrong]) assert.equal(await peer.page.evaluate(() => log.joins.length), peer === wrong ? 0 : 1)

  const silent = await open(room, { config: { handshakeTimeoutMs: 1500 }, handshake: 'silent' })
  await waitFor(silent.page, () => log.joinErrors.length >= 2, undefined, 30_000)
  const timeouts = await silent.page.evaluate(() => log.joinErrors.map(e => e.error))
  assert.ok(timeouts.every(e => e === 'handshake timed out after 1500ms'), timeouts.join('; '))
  assert.deepEqual(await silent.page.evaluate(() => Object.keys(room.getPeers())), [])
  await Promise.all([a, b, wrong, silent].map(p => p.context.close()))
}

/**
 * `passive: true` peers stay apart until a non-passive peer comes, then each meets it and never
 * each other. `open(roomId, {config})` opens a page of Trystero 0.25's shape on the strategy.
 */
export async function passivePeersWaitForAnActiveOne (open, strategy) {
  const room = `passive-${strategy}`
  const [p, q] = await Promise.all([open(room, { config: { passive: true } }), open(room, { config: { passive: true } })])
  assert.deepEqual(await Promise.all([p, q].map(peer => peer.page.evaluate(() => room.isPassive()))), [true, true])
  await new Promise(resolve => setTimeout(resolve, 3000))
  assert.deepEqual(await Promise.all([p, q].map(peer => peer.page.evaluate(() => log.joins))), [[], []])
  const a = await open(room, {})
  assert.equal(await a.page.evaluate(() => room.isPassive()), false)
  await Promise.all([meet(a, p), meet(a, q)])
  await new Promise(resolve => setTimeout(resolve, 3000))
  assert.deepEqual(await p.page.evaluate(() => log.joins), [a.selfId])
  assert.deepEqual(await q.page.evaluate(() => log.joins), [a.selfId])
  await Promise.all([p, q, a].map(peer => peer.context.close()))
}

/**
 * Shared connections: two pages in two rooms of one app reach each other over one
 * RTCPeerConnection, each room's messages and streams stay in that room, leaving one room keeps
 * the other working on it, and it closes once neither room uses it.
 */
export async function sharesOneConnectionAcrossRooms (open, strategy) {
  const first = `shared-${strategy}`
  const [a, b] = await Promise.all([open(first, {}), open(first, {})])
  await meet(a, b)
  for (const peer of [a, b]) {
    await peer.page.evaluate(second => {
      window.got = { first: [], second: [] }
      room.makeAction('chat').onMessage = data => got.first.push(data)
      window.other = joinAnother(second)
      other.makeAction('chat').onMessage = data => got.second.push(data)
      window.otherLog = { joins: [], leaves: [], streams: [] }
      window.firstStreams = []
      room.onPeerStream = (stream, id, metadata) => firstStreams.push(metadata)
      other.onPeerStream = (stream, id, metadata) => otherLog.streams.push({ stream, metadata })
      other.onPeerJoin = id => otherLog.joins.push(id)
      other.onPeerLeave = id => otherLog.leaves.push(id)
    }, `${first}-2`)
  }
  await waitFor(a.page, id => otherLog.joins.includes(id), b.selfId)
  await waitFor(b.page, id => otherLog.joins.includes(id), a.selfId)
  const shared = await a.page.evaluate(id => {
    window.sharedPc = room.getPeers()[id]
    return sharedPc === other.getPeers()[id]
  }, b.selfId)
  assert.ok(shared, 'both rooms use one RTCPeerConnection')
  await a.page.evaluate(() => Promise.all([room.makeAction('chat').send('to the first'), other.makeAction('chat').send('to the second')]))
  await waitFor(b.page, () => got.first.length + got.second.length === 2)
  assert.deepEqual(await b.page.evaluate(() => got), { first: ['to the first'], second: ['to the second'] })
  // A stream sent in the second room goes over the shared connection, to that room only.
  await a.page.evaluate(async () => other.addStream(await navigator.mediaDevices.getUserMedia({ video: true }), null, { room: 2 }))
  await waitFor(b.page, () => otherLog.streams.length === 1)
  await new Promise(resolve => setTimeout(resolve, 500))
  assert.deepEqual(await b.page.evaluate(() => [otherLog.streams.map(s => s.metadata), firstStreams]), [[{ room: 2 }], []])
  // Leaving the second room keeps the first working over the same connection, and takes the
  // second room's stream off it.
  await a.page.evaluate(() => other.leave())
  await waitFor(b.page, id => otherLog.leaves.includes(id), a.selfId)
  await waitFor(b.page, () => otherLog.streams[0].stream.getTracks().length === 0)
  await a.page.evaluate(() => room.makeAction('chat').send('still here'))
  await waitFor(b.page, () => got.first.includes('still here'))
  assert.equal(await a.page.evaluate(id => room.getPeers()[id] === sharedPc && sharedPc.connectionState, b.selfId), 'connected')
  assert.deepEqual(await b.page.evaluate(() => log.leaves), [])
  // Leaving the first room too: nothing uses the connection, and it closes.
  await a.page.evaluate(() => room.leave())
  await waitFor(b.page, id => log.leaves.includes(id), a.selfId)
  assert.equal(await a.page.evaluate(() => sharedPc.connectionState), 'closed')
  await Promise.all([a, b].map(peer => peer.context.close()))
}

/**
 * `trickleIce: true`: descriptions go out before ICE gathering and candidates follow through the
 * relay, sealed; each side adds the other's and the peers meet. Without it, none travels.
 * `join(roomId, config)` opens a page (`openPeer`) on the strategy.
 */
export async function tricklesCandidates (join, strategy) {
  const [a, b] = await Promise.all([join(`trickle-${strategy}`, { trickleIce: true }), join(`trickle-${strategy}`, { trickleIce: true })])
  await meet(a, b)
  // A candidate the relay refused goes again after the pause, possibly after the peers met
  // through the other side's candidates.
  for (const peer of [a, b]) await waitFor(peer.page, () => candidatesAdded > 0, undefined, 10_000)
  await a.page.evaluate(() => send('trickled'))
  await waitFor(b.page, () => log.received.some(r => r.data === 'trickled'))
  const [c, d] = await Promise.all([join(`bundled-${strategy}`), join(`bundled-${strategy}`)])
  await meet(c, d)
  for (const peer of [c, d]) assert.equal(await peer.page.evaluate(() => candidatesAdded), 0, 'candidates travel in the SDP')
  await Promise.all([a, b, c, d].map(peer => peer.context.close()))
}
