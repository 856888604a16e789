// Two browsers meet through a real WebTorrent tracker, talk, and part; a third in another room stays alone.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { MAX_RELAY_MESSAGE, openPeer, suite, waitFor } from './harness.mjs'
import { sixteenPagesMesh } from './scenarios.mjs'

const env = suite()

test('peers in one room connect, exchange an action and see each other leave', async () => {
  const [a, b, c] = await Promise.all([
    openPeer(env.browser, env.files.url, env.relay.url, 'lobby'),
    openPeer(env.browser, env.files.url, env.relay.url, 'lobby'),
    openPeer(env.browser, env.files.url, env.relay.url, 'elsewhere')
  ])
  assert.notEqual(a.selfId, b.selfId)
  assert.match(a.selfId, /^[\w-]{20}$/)

  await waitFor(a.page, id => log.joins.includes(id), b.selfId)
  await waitFor(b.page, id => log.joins.includes(id), a.selfId)
  const ms = Math.max(await a.page.evaluate(id => log.joinMs[id], b.selfId), await b.page.evaluate(id => log.joinMs[id], a.selfId))
  console.log(`join→connected through the local tracker: ${ms.toFixed(0)} ms (joinRoom to onPeerJoin, slower side)`)

  const message = { text: 'hello', n: -12.5, big: 2 ** 52, ok: true, none: null, list: [1, 'two', { three: 3 }] }
  await a.page.evaluate(m => send(m), message)
  await waitFor(b.page, () => log.received.length === 1)
  const [got] = await b.page.evaluate(() => log.received)
  assert.deepEqual(got.data, message)
  assert.equal(got.peerId, a.selfId)

  await b.page.evaluate(id => send('pong', id), a.selfId)
  await waitFor(a.page, () => log.received.length === 1)
  assert.deepEqual(await a.page.evaluate(() => log.received), [{ data: 'pong', peerId: b.selfId, metadata: undefined }])

  // The third page has been in its own room as long as the other two: it must meet nobody.
  await new Promise(resolve => setTimeout(resolve, 2000))
  assert.deepEqual(await c.page.evaluate(() => log.joins), [])
  assert.deepEqual(await a.page.evaluate(() => log.joins), [b.selfId])
  assert.deepEqual(await b.page.evaluate(() => log.joins), [a.selfId])
  assert.deepEqual(Object.keys(await a.page.evaluate(() => room.getPeers())), [b.selfId])

  await b.context.close()
  await waitFor(a.page, id => log.leaves.includes(id), b.selfId)
  assert.deepEqual(await a.page.evaluate(() => Object.keys(room.getPeers())), [])
  await Promise.all([a.context.close(), c.context.close()])
})

test('entry points export defaultRelayUrls and getRelaySockets over every joined room', async () => {
  const peer = await openPeer(env.browser, env.files.url, env.relay.url, 'sockets')
  const { page } = peer
  const defaults = await page.evaluate(async () => {
    const lists = {}
    for (const name of ['torrent', 'mqtt', 'nostr']) {
      const { defaultRelayUrls } = await import(`/js/${name}.js`)
      lists[name] = { urls: [...defaultRelayUrls], frozen: Object.isFrozen(defaultRelayUrls) }
    }
    return lists
  })
  for (const [name, { urls, frozen }] of Object.entries(defaults)) {
    assert.ok(urls.length >= 2 && urls.every(url => url.startsWith('wss://')), `${name}: ${urls}`)
    assert.ok(frozen, name)
  }
  assert.ok(defaults.torrent.urls.includes('wss://tracker.webtorrent.dev'))

  const openUrls = () => page.evaluate(async () => {
    const { getRelaySockets } = await import('/js/torrent.js')
    return Object.entries(getRelaySockets()).filter(([, ws]) => ws.readyState === 1).map(([url]) => url)
  })
  await page.evaluate(async relayUrl => {
    const { joinRoom } = await import('/js/torrent.js')
    window.second = joinRoom({ appId: 'rendez-e2e', relayUrls: [relayUrl], rtcConfig: { iceServers: [] } }, 'sockets-2')
  }, env.relay.url)
  await waitFor(page, url => second.getRelaySockets()[url]?.readyState === 1, env.relay.url)
  await waitFor(page, () => Object.values(room.getRelaySockets()).some(ws => ws.readyState === 1))
  assert.deepEqual(await openUrls(), [env.relay.url])
  await page.evaluate(() => room.leave())
  assert.deepEqual(await openUrls(), [env.relay.url], 'the second room still holds its socket')
  await page.evaluate(() => second.leave())
  assert.deepEqual(await page.evaluate(async () => Object.keys((await import('/js/torrent.js')).getRelaySockets())), [])
  await peer.context.close()
})

test('as in Trystero, joinRoom and makeAction are idempotent while the room is joined', async () => {
  const peer = await openPeer(env.browser, env.files.url, env.relay.url, 'idempotent')
  const checks = await peer.page.evaluate(async relayUrl => {
    const { joinRoom } = await import('/js/torrent.js')
    const config = { appId: 'rendez-e2e', relayUrls: [relayUrl], rtcConfig: { iceServers: [] } }
    const again = joinRoom(config, 'idempotent')
    const other = joinRoom(config, 'idempotent-other')
    const otherApp = joinRoom({ ...config, appId: 'another-app' }, 'idempotent')
    const [first, second] = [room.makeAction('same'), room.makeAction('same')]
    const result = {
      sameRoom: again === room,
      otherRoom: other !== room,
      otherApp: otherApp !== room,
      sameAction: first === second && first.every((f, i) => f === second[i]),
      otherAction: room.makeAction('different')[0] !== first[0]
    }
    other.leave()
    otherApp.leave()
    await room.leave()
    const rejoined = joinRoom(config, 'idempotent')
    result.freshAfterLeave = rejoined !== room
    await rejoined.leave()
    return result
  }, env.relay.url)
  assert.deepEqual(checks, { sameRoom: true, otherRoom: true, otherApp: true, sameAction: true, otherAction: true, freshAfterLeave: true })
  await peer.context.close()
})

test('announces stay within 16 KiB with many ICE candidates per offer, and a strict tracker connects the peers', async t => {
  if (process.env.RENDEZ_ISOLATED !== '1') return t.skip('adding addresses needs the private network namespace (scripts/isolated.sh as root)')
  // A host with many networks (8 interfaces, 10 subnets each): each offer carries a UDP and a TCP
  // host candidate for every one, a description of over 16 KiB before rendez fits it.
  const interfaces = Array.from({ length: 8 }, (_, i) => `rdzx${i}`)
  for (const [i, name] of interfaces.entries()) {
    execFileSync('ip', ['link', 'add', name, 'type', 'veth', 'peer', 'name', `${name}p`])
    for (let j = 0; j < 10; j++) execFileSync('ip', ['addr', 'add', `198.18.${10 + i * 10 + j}.1/24`, 'dev', name])
    execFileSync('ip', ['link', 'set', name, 'up'])
    execFileSync('ip', ['link', 'set', `${name}p`, 'up'])
  }
  try {
    const peers = await Promise.all([0, 1, 2].map(() => openPeer(env.browser, env.files.url, env.relay.url, 'many-candidates')))
    for (const peer of peers) {
      await waitFor(peer.page, ids => ids.every(id => log.joins.includes(id)), peers.filter(p => p !== peer).map(p => p.selfId), 30_000)
    }
    const largest = env.relay.largest()
    console.log(`largest tracker message with 80 networks: ${largest} bytes`)
    assert.ok(largest <= MAX_RELAY_MESSAGE, `${largest} bytes`)
    assert.ok(largest > 10_000, `offers carry candidates up to the limit: ${largest} bytes`)
    const trimmed = peers.flatMap(p => p.warnings).filter(w => /a description of \d+ bytes was too large for relays: \d+ ICE candidates/.test(w))
    assert.ok(trimmed.length > 0, 'descriptions were fitted')
    await Promise.all(peers.map(p => p.context.close()))
  } finally {
    for (const name of interfaces) execFileSync('ip', ['link', 'del', name])
  }
})

test('sixteen pages joining at once reach full mesh through a strict tracker', async () => {
  await sixteenPagesMesh(room => openPeer(env.browser, env.files.url, env.relay.url, room), 'sixteen', 'a strict tracker')
})
