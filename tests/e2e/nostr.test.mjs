// The Nostr strategy against a real relay that verifies NIP-01 ids and signatures: connect,
// talk, survive a relay restart, and stay unconfused by forged events.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { WebSocket, WebSocketServer } from 'ws'
import { schnorr } from '@noble/curves/secp256k1'
import { NOSTR_RATE_LIMIT, openModern, openPeer, rendezWarnings, startNostrRelay, suite, waitFor } from './harness.mjs'
import { admitsOnlyAfterHandshake, passivePeersWaitForAnActiveOne, sharesOneConnectionAcrossRooms, sixteenPagesMesh, tricklesCandidates, met, survivesRelayRestart } from './scenarios.mjs'

const env = suite(startNostrRelay)

const join = (room, config = {}, url = env.relay.url) => openPeer(env.browser, env.files.url, url, room, config, 'nostr')
const hex = bytes => Buffer.from(bytes).toString('hex')

/** A NIP-01 event signed with `secret`, then (if `forge`) altered so its signature no longer matches. */
function signedEvent (secret, content, tags, forge = false) {
  const pubkey = hex(schnorr.getPublicKey(secret))
  const event = { pubkey, created_at: Math.floor(Date.now() / 1000), kind: 29371, tags, content }
  const id = e => createHash('sha256').update(JSON.stringify([0, e.pubkey, e.created_at, e.kind, e.tags, e.content])).digest('hex')
  event.id = id(event)
  event.sig = hex(schnorr.sign(event.id, secret))
  if (forge) {
    event.content += ' (forged)'
    event.id = id(event)
  }
  return event
}

test('two peers meet through the relay and exchange an action', async () => {
  const a = await join('nostr-basic')
  const b = await join('nostr-basic')
  await Promise.all([met(a, b), met(b, a)])
  const ms = await b.page.evaluate(id => log.joinMs[id], a.selfId)
  console.log(`join→connected through the local Nostr relay: ${ms.toFixed(0)} ms (newcomer's joinRoom to onPeerJoin)`)
  await a.page.evaluate(() => send({ via: 'nostr' }))
  await waitFor(b.page, () => log.received.length === 1)
  assert.deepEqual(await b.page.evaluate(() => log.received[0]), { data: { via: 'nostr' }, peerId: a.selfId, metadata: undefined })
  assert.deepEqual(Object.keys(await a.page.evaluate(() => room.getRelaySockets())), [env.relay.url])
  assert.deepEqual(a.warnings.filter(w => w.startsWith('rendez:')), [])
  await Promise.all([a.context.close(), b.context.close()])
})

test('peers keep talking while the relay restarts, and a newcomer joins afterwards', async () => {
  const port = env.relay.port
  await survivesRelayRestart(join, 'nostr-restart', { stop: () => env.relay.close(), start: async () => { env.relay = await startNostrRelay(port) } })
})

test('the relay rejects a forged event, and a relay that forwards one does not confuse the library', async () => {
  // A client of the real relay publishes a forged event: the relay answers OK false.
  const client = new WebSocket(env.relay.url)
  await new Promise(resolve => client.on('open', resolve))
  const forged = signedEvent(schnorr.utils.randomPrivateKey(), '{"type":"presence","from":"AAAAAAAAAAAAAAAAAAAA"}', [['x', 'anything']], true)
  client.send(JSON.stringify(['EVENT', forged]))
  const [verdict] = await new Promise(resolve => client.once('message', data => resolve([JSON.parse(data)])))
  assert.deepEqual(verdict.slice(0, 3), ['OK', forged.id, false])
  assert.match(verdict[3], /signature/)
  client.close()

  // A hostile relay forwards a forged event, an event for another topic (ignored) and
  // broken JSON on the page's own subscription.
  const hostile = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise(resolve => hostile.on('listening', resolve))
  hostile.on('connection', socket => socket.on('message', data => {
    const [type, subscription, filter] = JSON.parse(data)
    if (type !== 'REQ') return
    const [roomTopic] = filter['#x']
    const presence = from => JSON.stringify({ type: 'presence', from })
    socket.send(JSON.stringify(['EOSE', subscription]))
    socket.send(JSON.stringify(['EVENT', subscription, signedEvent(schnorr.utils.randomPrivateKey(), presence('BBBBBBBBBBBBBBBBBBBB'), [['x', roomTopic]], true)]))
    socket.send(JSON.stringify(['EVENT', subscription, signedEvent(schnorr.utils.randomPrivateKey(), presence('CCCCCCCCCCCCCCCCCCCC'), [['x', 'not-our-topic']])]))
    socket.send('["EVENT",')
  }))
  const hostileUrl = `ws://127.0.0.1:${hostile.address().port}`
  const config = { relayUrls: [hostileUrl, env.relay.url] }
  const [a, b] = await Promise.all([join('nostr-forged', config), join('nostr-forged', config)])
  await Promise.all([met(a, b), met(b, a)])
  await b.page.evaluate(() => send('fine'))
  await waitFor(a.page, () => log.received.length === 1)
  assert.deepEqual(await a.page.evaluate(() => log.joins), [b.selfId])
  assert.deepEqual(Object.keys(await a.page.evaluate(() => room.getPeers())), [b.selfId])
  const warnings = (await rendezWarnings(a, 2)).join('\n')
  assert.match(warnings, /dropped a relayed event: event id does not match|dropped a relayed event: event signature is invalid/)
  assert.match(warnings, /relay message is invalid/)
  await Promise.all([a.context.close(), b.context.close()])
  await new Promise(resolve => hostile.close(resolve))
})

test('handshakes admit peers that pass, and refuse or time out the others', () =>
  admitsOnlyAfterHandshake((roomId, options) => openModern(env.browser, env.files.url, env.relay.url, roomId, { ...options, strategy: 'nostr' }), 'nostr'))

test('passive peers wait for an active one and never meet each other', () =>
  passivePeersWaitForAnActiveOne((roomId, options) => openModern(env.browser, env.files.url, env.relay.url, roomId, { ...options, strategy: 'nostr' }), 'nostr'))

test('rooms of one app share one connection per peer', () =>
  sharesOneConnectionAcrossRooms((roomId, options) => openModern(env.browser, env.files.url, env.relay.url, roomId, { ...options, strategy: 'nostr' }), 'nostr'))

test('trickleIce: candidates travel sealed through the relay', () => tricklesCandidates(join, 'nostr'))

// Paced under the relay's limit, pages are refused only when the relay itself falls behind (its
// limiter, like public relays', times events as it reads them, so a stall bunches them): then
// the refused signaling waits out the pause and goes again, and the room still meshes.
test('sixteen pages joining at once reach full mesh through a rate-limited relay, which refuses few if any of their events', async () => {
  const refused = env.relay.refused()
  const accepted = env.relay.accepted()
  await sixteenPagesMesh(join, 'nostr-sixteen', `a Nostr relay limited to ${NOSTR_RATE_LIMIT.burst} events, then ${NOSTR_RATE_LIMIT.perSecond}/s, per connection`, /a Nostr relay refused us \(rate-limited: slow down\)/)
  const [no, yes] = [env.relay.refused() - refused, env.relay.accepted() - accepted]
  console.log(`events refused: ${no} of ${no + yes}`)
  // Pages now start in step (the room key no longer holds each main thread for 70-100 ms), so a
  // stalled relay sees more of them at once: a few percent of events, which go again.
  assert.ok(no <= 12, `${no} events refused`)
})

test('a relay that refuses our events gets ever fewer, is warned about once, and another carries the room', async () => {
  const refusing = await startNostrRelay(0, { refuseEvents: true })
  try {
    const accepted = env.relay.accepted()
    const pages = await Promise.all(Array.from({ length: 6 }, () => join('nostr-refusing', { relayUrls: [refusing.url, env.relay.url] })))
    const joined = Date.now()
    await Promise.all(pages.map(p => p.page.waitForFunction(() => log.joins.length >= 5, null, { timeout: 30_000 })))
    await new Promise(resolve => setTimeout(resolve, Math.max(0, joined + 8000 - Date.now())))
    const [toRefusing, toAccepting] = [refusing.refused(), env.relay.accepted() - accepted]
    console.log(`8 s after 6 pages joined: ${toRefusing} events to the refusing relay, ${toAccepting} to the accepting one`)
    // Each page's first refusal quiets it for 2 s, the next for 4 s, so within 8 s a page sends
    // it one event after each pause, plus what it sent before the first refusal came back (the
    // presence and the first offers leave together once the room key is derived): a few each.
    assert.ok(toRefusing <= 4 * pages.length, `${toRefusing} events to the refusing relay`)
    assert.ok(toAccepting > toRefusing, `${toAccepting} events to the accepting relay`)
    for (const p of pages) {
      const warned = (await rendezWarnings(p, 1)).filter(w => /a Nostr relay refused us \(rate-limited: refusing every event\)/.test(w))
      assert.equal(warned.length, 1, p.warnings.join('\n'))
    }
    await Promise.all(pages.map(p => p.context.close()))
  } finally {
    await refusing.close()
  }
})
