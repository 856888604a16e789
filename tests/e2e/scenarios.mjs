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
