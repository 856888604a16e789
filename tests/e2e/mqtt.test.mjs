// The MQTT strategy against a real Aedes broker: connect, talk, survive a broker restart,
// shrug off a broker that sends malformed packets, and a flood of announcements for made-up peers.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { WebSocketServer } from 'ws'
import { randomBytes } from 'node:crypto'
import { openModern, openPeer, rendezWarnings, sealForRoom, startBroker, suite, waitFor } from './harness.mjs'
import { admitsOnlyAfterHandshake, passivePeersWaitForAnActiveOne, sharesOneConnectionAcrossRooms, sixteenPagesMesh, tricklesCandidates, met, meet, survivesRelayRestart } from './scenarios.mjs'

const env = suite(startBroker)

const join = (room, config = {}, url = env.relay.url) => openPeer(env.browser, env.files.url, url, room, config, 'mqtt')

test('two peers meet through the broker and exchange an action', async () => {
  const a = await join('mqtt-basic')
  const b = await join('mqtt-basic')
  await Promise.all([met(a, b), met(b, a)])
  const ms = await b.page.evaluate(id => log.joinMs[id], a.selfId)
  console.log(`join→connected through the local MQTT broker: ${ms.toFixed(0)} ms (newcomer's joinRoom to onPeerJoin)`)
  await a.page.evaluate(() => send({ via: 'mqtt', n: 1 }))
  await waitFor(b.page, () => log.received.length === 1)
  assert.deepEqual(await b.page.evaluate(() => log.received[0]), { data: { via: 'mqtt', n: 1 }, peerId: a.selfId, metadata: undefined })
  const sockets = await a.page.evaluate(() => Object.entries(room.getRelaySockets()).map(([url, ws]) => [url, ws.protocol, ws.readyState]))
  assert.deepEqual(sockets, [[env.relay.url, 'mqtt', 1]])
  await Promise.all([a.context.close(), b.context.close()])
})

test('peers keep talking while the broker restarts, and a newcomer joins afterwards', async () => {
  const port = env.relay.port
  await survivesRelayRestart(join, 'mqtt-restart', { stop: () => env.relay.close(), start: async () => { env.relay = await startBroker(port) } })
})

test('a broker sending malformed packets is dropped while the good one carries the room', async () => {
  const hostile = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: () => 'mqtt' })
  await new Promise(resolve => hostile.on('listening', resolve))
  let connections = 0
  hostile.on('connection', socket => {
    connections++
    socket.on('message', () => {
      socket.send(Buffer.from([0x20, 2, 0, 0])) // CONNACK accepted
      socket.send(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])) // remaining length over 4 bytes
    })
  })
  const hostileUrl = `ws://127.0.0.1:${hostile.address().port}/mqtt`
  const config = { relayUrls: [hostileUrl, env.relay.url] }
  const [a, b] = await Promise.all([join('mqtt-hostile', config), join('mqtt-hostile', config)])
  await Promise.all([met(a, b), met(b, a)])
  await b.page.evaluate(() => send('fine'))
  await waitFor(a.page, () => log.received.length === 1)
  const warnings = await rendezWarnings(a, 1)
  assert.ok(warnings.some(w => w.includes(hostileUrl) && /remaining length is malformed; reconnecting/.test(w)), warnings.join('\n'))
  assert.ok(connections >= 2, 'each page connected to the hostile broker')
  await Promise.all([a.context.close(), b.context.close()])
  await new Promise(resolve => hostile.close(resolve))
})

test('presence needs the room key, and announcements of made-up peers are offered a few at a time', async () => {
  const room = 'mqtt-flood'
  const [a, b] = await Promise.all([join(room), join(room)])
  await Promise.all([met(a, b), met(b, a)])
  // A third page's announcement shows which topic the room's presence travels on.
  const presenceTopic = new Promise(resolve => {
    const watch = packet => {
      if (packet.payload?.toString().startsWith('{"type":"presence"')) {
        env.relay.broker.removeListener('publish', watch)
        resolve(packet.topic)
      }
    }
    env.relay.broker.on('publish', watch)
  })
  const c = await join(room)
  const topic = await presenceTopic
  await Promise.all([met(a, c), met(b, c)])
  const made = () => Promise.all([a, b].map(peer => peer.page.evaluate(() => connectionsMade)))
  const before = await made()
  const publish = message => new Promise(resolve => env.relay.broker.publish({ cmd: 'publish', topic, payload: Buffer.from(JSON.stringify(message)), qos: 0, retain: false }, resolve))
  const madeUpId = () => randomBytes(15).toString('base64url')

  // Strangers without the key: every forged proof is refused before any connection is made.
  const forged = Array.from({ length: 100 }, madeUpId)
  for (const from of forged) await publish({ type: 'presence', from, proof: randomBytes(28).toString('base64') })
  await waitFor(a.page, ids => ids.every(id => log.joinErrors.some(e => e.peerId === id)), forged)
  assert.deepEqual(await made(), before)
  assert.match((await a.page.evaluate(() => log.joinErrors.at(-1).error)), /cannot open its presence proof: sealed message failed authentication/)

  // With the key (a passwordless room's key follows from appId and roomId): 200 valid
  // announcements of made-up peers, and no more than 3 offers through the broker set up at once
  // (src/room/presences.rs: MAX_RELAY_OFFERS; the rest wait, bounded, and expire), besides the
  // offer the room's keeper makes ahead for the next newcomer.
  const valid = Array.from({ length: 200 }, madeUpId)
  for (const from of valid) {
    await publish({ type: 'presence', from, proof: sealForRoom({ appId: 'rendez-e2e', roomId: room }, `${Math.floor(Date.now() / 1000)}\n`, `presence\0${from}`) })
  }
  await new Promise(resolve => setTimeout(resolve, 4000))
  const after = await made()
  for (let i = 0; i < 2; i++) {
    assert.ok(after[i] - before[i] <= 4, `page ${i} set up ${after[i] - before[i]} connections`)
  }
  assert.ok(after.some((n, i) => n > before[i]), 'the announcers are offered connections')

  // The room keeps working meanwhile.
  await b.page.evaluate(id => send('still here', id), a.selfId)
  await waitFor(a.page, () => log.received.some(m => m.data === 'still here'))
  await Promise.all([a, b, c].map(peer => peer.context.close()))
})

test('handshakes admit peers that pass, and refuse or time out the others', () =>
  admitsOnlyAfterHandshake((roomId, options) => openModern(env.browser, env.files.url, env.relay.url, roomId, { ...options, strategy: 'mqtt' }), 'mqtt'))

test('passive peers wait for an active one and never meet each other', () =>
  passivePeersWaitForAnActiveOne((roomId, options) => openModern(env.browser, env.files.url, env.relay.url, roomId, { ...options, strategy: 'mqtt' }), 'mqtt'))

test('rooms of one app share one connection per peer', () =>
  sharesOneConnectionAcrossRooms((roomId, options) => openModern(env.browser, env.files.url, env.relay.url, roomId, { ...options, strategy: 'mqtt' }), 'mqtt'))

test('trickleIce: candidates travel sealed through the relay', () => tricklesCandidates(join, 'mqtt'))

test('sixteen pages joining at once reach full mesh through a strict broker', async () => {
  await sixteenPagesMesh(join, 'mqtt-sixteen', 'a broker taking packets up to 16 KiB')
})

test('a broker that refuses us is retried ever more slowly and warned about once, while another carries the room', async () => {
  const refusing = await startBroker(0, { refuse: true })
  try {
    const [a, b] = await Promise.all([0, 1].map(() => join('mqtt-refusing', { relayUrls: [refusing.url, env.relay.url] })))
    const joined = Date.now()
    await meet(a, b)
    await new Promise(resolve => setTimeout(resolve, Math.max(0, joined + 10_000 - Date.now())))
    // Reconnection waits 1 s doubling (jitter ×0.5–1): at most 5 attempts per page in 10 s.
    const attempts = refusing.connects()
    console.log(`a refusing broker saw ${attempts} CONNECTs from 2 pages in 10 s`)
    assert.ok(attempts >= 4 && attempts <= 10, `${attempts} CONNECTs`)
    for (const p of [a, b]) {
      const warned = (await rendezWarnings(p, 1)).filter(w => /broker refused the connection \(code 3\)/.test(w))
      assert.equal(warned.length, 1, p.warnings.join('\n'))
    }
    await Promise.all([a.context.close(), b.context.close()])
  } finally {
    await refusing.close()
  }
})
