// Two browsers meet through a real WebTorrent tracker, talk, and part; a third in another room stays alone.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { openPeer, suite, waitFor } from './harness.mjs'

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
