// ICE servers from the config: `turnConfig` TURN servers are added to the connection's ICE
// servers, tested against a real TURN server (coturn) with peers that may use relayed
// candidates only; bad entries fail joinRoom with the browser's reason.
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { openMesh, openPeer, startTurnServer, suite } from './harness.mjs'

const env = suite(undefined, async env => { env.turn = await startTurnServer() })
after(() => env.turn?.close())

test('turnConfig adds a TURN server: peers restricted to relayed candidates connect through it', async () => {
  const { urls, username, credential } = env.turn
  const config = { rtcConfig: { iceServers: [], iceTransportPolicy: 'relay' }, turnConfig: [{ urls, username, credential }] }
  const [a, b] = await openMesh(env.browser, env.files.url, env.relay.url, 'turn', 2, config)
  await a.page.evaluate(id => send('through the relay', id), b.selfId)
  await b.page.waitForFunction(() => log.received.some(m => m.data === 'through the relay'))
  const localCandidate = await a.page.evaluate(async id => {
    const stats = [...(await room.getPeers()[id].getStats()).values()]
    const transport = stats.find(s => s.type === 'transport')
    const pair = stats.find(s => s.id === transport.selectedCandidatePairId)
    const local = stats.find(s => s.id === pair.localCandidateId)
    return { type: local.candidateType, url: local.url }
  }, b.selfId)
  assert.equal(localCandidate.type, 'relay')
  assert.equal(localCandidate.url, urls)
  await Promise.all([a.context.close(), b.context.close()])
})

test('a turnConfig that is not an array, a TURN server without credentials or non-list iceServers fail joinRoom clearly', async () => {
  const peer = await openPeer(env.browser, env.files.url, env.relay.url, 'turn-config')
  const attempt = (turnConfig, rtcConfig) => peer.page.evaluate(async ([relayUrl, turnConfig, rtcConfig]) => {
    const { joinRoom } = await import('/js/torrent.js')
    try {
      joinRoom({ appId: 'rendez-e2e', relayUrls: [relayUrl], turnConfig, rtcConfig }, 'turn-config-bad').leave()
      return 'joined'
    } catch (e) {
      return e.message
    }
  }, [env.relay.url, turnConfig, rtcConfig])
  assert.equal(await attempt({ urls: 'turn:127.0.0.1:3478' }), 'rendez: config.turnConfig must be an array of {urls, username, credential}')
  assert.match(await attempt([{ urls: 'turn:127.0.0.1:3478' }]), /^rendez: invalid rtcConfig or turnConfig: .*username/)
  assert.match(await attempt(undefined, { iceServers: 'stun:127.0.0.1' }), /^rendez: invalid rtcConfig or turnConfig: /)
  assert.equal(await attempt([{ urls: env.turn.urls, username: 'rendez', credential: 'turn-secret' }]), 'joined')
  assert.equal(await attempt(null), 'joined')
  await peer.context.close()
})
