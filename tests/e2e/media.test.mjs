// Audio and video between real browsers with Chromium's fake camera and microphone: streams with
// metadata, frames that really flow, removal, replaceTrack without renegotiation, and glare.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { openMesh, suite, waitFor } from './harness.mjs'

const env = suite()

const pair = room => openMesh(env.browser, env.files.url, env.relay.url, room, 2)

/** In the page: plays the n-th received stream in a muted <video> and resolves to its size once frames arrive. */
const playReceived = (page, n = 0) => page.evaluate(async n => {
  const video = document.createElement('video')
  video.muted = true
  video.srcObject = log.streams[n].stream
  document.body.append(video)
  await video.play()
  while (video.videoWidth === 0) await new Promise(resolve => setTimeout(resolve, 50))
  window.video = video
  return [video.videoWidth, video.videoHeight]
}, n)

test('a stream arrives with its metadata and its video carries frames; removal is seen', async () => {
  const [a, b] = await pair('media-basic')
  await a.page.evaluate(async id => {
    window.local = await navigator.mediaDevices.getUserMedia({ video: true, audio: true })
    window.added = await Promise.all(room.addStream(local, id, { name: 'camera', n: 1 }))
  }, b.selfId)
  assert.deepEqual(await a.page.evaluate(() => added), [undefined], 'one settled promise for the one target')
  await waitFor(b.page, () => log.streams.length === 1 && log.tracks.length === 2)
  const got = await b.page.evaluate(() => ({
    metadata: log.streams[0].metadata,
    peerId: log.streams[0].peerId,
    kinds: log.tracks.map(t => t.track.kind).sort(),
    trackMetadata: log.tracks.map(t => t.metadata),
    sameStream: log.tracks.every(t => t.stream === log.streams[0].stream)
  }))
  assert.deepEqual(got, {
    metadata: { name: 'camera', n: 1 }, peerId: a.selfId, kinds: ['audio', 'video'],
    trackMetadata: [{ name: 'camera', n: 1 }, { name: 'camera', n: 1 }], sameStream: true
  })
  const [width, height] = await playReceived(b.page)
  assert.ok(width > 0 && height > 0, `${width}x${height}`)
  const decoded = await b.page.evaluate(async () => {
    const stats = await Object.values(room.getPeers())[0].getStats()
    return [...stats.values()].find(s => s.type === 'inbound-rtp' && s.kind === 'video')?.framesDecoded ?? 0
  })
  assert.ok(decoded > 0, `frames decoded: ${decoded}`)

  await a.page.evaluate(() => room.removeStream(local))
  await waitFor(b.page, () => log.streams[0].stream.getTracks().length === 0)
  await Promise.all([a.context.close(), b.context.close()])
})

test('replaceTrack swaps the video without renegotiating', async () => {
  const [a, b] = await pair('media-replace')
  await a.page.evaluate(async id => {
    const canvas = Object.assign(document.createElement('canvas'), { width: 320, height: 240 })
    const ctx = canvas.getContext('2d')
    setInterval(() => { ctx.fillStyle = `hsl(${Date.now() % 360} 80% 50%)`; ctx.fillRect(0, 0, 320, 240) }, 30)
    window.local = canvas.captureStream(30)
    window.camera = (await navigator.mediaDevices.getUserMedia({ video: true })).getVideoTracks()[0]
    room.addStream(local, id)
  }, b.selfId)
  await waitFor(b.page, () => log.tracks.length === 1)
  assert.deepEqual(await playReceived(b.page), [320, 240])
  await new Promise(resolve => setTimeout(resolve, 500))
  const before = await Promise.all([a, b].map(p => p.page.evaluate(() => remoteDescriptions)))
  // Trystero's current form (targets after the tracks), then its earlier one (the stream first).
  const replaced = await a.page.evaluate(id => Promise.all(room.replaceTrack(local.getVideoTracks()[0], camera, id)).then(r => r.length), b.selfId)
  assert.equal(replaced, 1)
  await waitFor(b.page, () => video.videoWidth === 640, undefined, 20_000)
  await a.page.evaluate(() => Promise.all(room.replaceTrack(camera, local.getVideoTracks()[0], local)))
  await waitFor(b.page, () => video.videoWidth === 320, undefined, 20_000)
  await new Promise(resolve => setTimeout(resolve, 500))
  const after = await Promise.all([a, b].map(p => p.page.evaluate(() => remoteDescriptions)))
  assert.deepEqual(after, before, 'no description was exchanged')
  assert.equal(await b.page.evaluate(() => log.tracks.length), 1)
  await Promise.all([a.context.close(), b.context.close()])
})

test('addTrack sends one track with metadata; removeTrack takes it from its targets only, in each call form', async () => {
  const [a, b, c] = await openMesh(env.browser, env.files.url, env.relay.url, 'media-tracks', 3)
  const ids = [b.selfId, c.selfId]
  await a.page.evaluate(async ids => {
    window.local = await navigator.mediaDevices.getUserMedia({ video: true, audio: true })
    window.added = await Promise.all(room.addTrack(local.getAudioTracks()[0], local, ids, { kind: 'voice' }))
  }, ids)
  assert.deepEqual(await a.page.evaluate(() => added), [undefined, undefined], 'one settled promise per target')
  for (const peer of [b, c]) {
    await waitFor(peer.page, () => log.tracks.length === 1)
    assert.deepEqual(await peer.page.evaluate(() => [log.tracks[0].track.kind, log.tracks[0].metadata, log.tracks[0].peerId]),
      ['audio', { kind: 'voice' }, a.selfId])
  }
  await a.page.evaluate(ids => room.addTrack(local.getVideoTracks()[0], local, ids), ids)
  const kinds = peer => peer.page.evaluate(() => log.tracks[0].stream.getTracks().map(t => t.kind).sort())
  for (const peer of [b, c]) await waitFor(peer.page, () => log.tracks[0].stream.getTracks().length === 2)
  const settle = () => new Promise(resolve => setTimeout(resolve, 1000))

  // Trystero's current form: removeTrack(track, targetPeers).
  await a.page.evaluate(id => room.removeTrack(local.getAudioTracks()[0], id), b.selfId)
  await waitFor(b.page, () => log.tracks[0].stream.getAudioTracks().length === 0)
  await settle()
  assert.deepEqual([await kinds(b), await kinds(c)], [['video'], ['audio', 'video']])
  // The earlier form with its stream slot left null: removeTrack(track, null, targetPeers).
  await a.page.evaluate(id => room.removeTrack(local.getVideoTracks()[0], null, [id]), c.selfId)
  await waitFor(c.page, () => log.tracks[0].stream.getVideoTracks().length === 0)
  await settle()
  assert.deepEqual([await kinds(b), await kinds(c)], [['video'], ['audio']])
  // The earlier form with the stream: removeTrack(track, stream, targetPeers).
  await a.page.evaluate(id => room.removeTrack(local.getVideoTracks()[0], local, id), b.selfId)
  await waitFor(b.page, () => log.tracks[0].stream.getTracks().length === 0)
  assert.deepEqual(await kinds(c), ['audio'])
  await Promise.all([a, b, c].map(p => p.context.close()))
})

test('both peers adding streams at once (glare) both receive', async () => {
  const [a, b] = await pair('media-glare')
  // Both pages hold their camera, then add it at the same wall-clock instant, so both offers
  // are in flight at once and perfect negotiation has to settle the collision.
  const at = Date.now() + 1500
  await Promise.all([[a, b, 'a'], [b, a, 'b']].map(([from, to, name]) => from.page.evaluate(async ([id, name, at]) => {
    window.local = await navigator.mediaDevices.getUserMedia({ video: true })
    await new Promise(resolve => setTimeout(resolve, at - Date.now()))
    room.addStream(local, id, { from: name })
  }, [to.selfId, name, at])))
  await waitFor(a.page, () => log.streams.length === 1)
  await waitFor(b.page, () => log.streams.length === 1)
  assert.deepEqual(await a.page.evaluate(() => log.streams[0].metadata), { from: 'b' })
  assert.deepEqual(await b.page.evaluate(() => log.streams[0].metadata), { from: 'a' })
  for (const peer of [a, b]) {
    const [width] = await playReceived(peer.page)
    assert.ok(width > 0)
  }
  await Promise.all([a.context.close(), b.context.close()])
})
