// The MQTT strategy against a real Aedes broker: connect, talk, survive a broker restart,
// and shrug off a broker that sends malformed packets.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { WebSocketServer } from 'ws'
import { openPeer, rendezWarnings, startBroker, suite, waitFor } from './harness.mjs'
import { met, survivesRelayRestart } from './scenarios.mjs'

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
