// Actions between real browsers: types, binary with metadata, progress, targeting, parallel
// transfers, ping, and hostile frames.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { dataFrame, openMesh, openPeer, rendezWarnings, startTracker, suite, waitFor } from './harness.mjs'

let a, b, c
const env = suite(startTracker, async env => {
  ;[a, b, c] = await openMesh(env.browser, env.files.url, env.relay.url, 'actions', 3)
})

const track = (name, ...peers) => Promise.all(peers.map(p => p.page.evaluate(n => track(n), name)))

test('JSON-able values arrive with their types', async () => {
  await track('values', a, b)
  const values = ['text', '', 'ünïcødé 🚀', 0, -1.5, 1e300, 2 ** 53 - 1, -(2 ** 40), true, false, null,
    { nested: { list: [1, { deep: null }], s: 'x' } }, [], [1, 'two', [3, [4]]]]
  await a.page.evaluate(async vs => { for (const v of vs) await tracked.values.send(v) }, values)
  await waitFor(b.page, n => tracked.values.received.length === n, values.length)
  const got = await b.page.evaluate(() => tracked.values.received.map(r => ({ type: typeof r.data, data: r.data, peerId: r.peerId })))
  assert.deepEqual(got.map(g => g.data), values)
  assert.deepEqual(got.map(g => g.type), values.map(v => typeof v))
  assert.ok(got.every(g => g.peerId === a.selfId))
  const rejected = await a.page.evaluate(() => tracked.values.send(undefined).then(() => 'sent', e => e.message))
  assert.match(rejected, /undefined/)
})

test('every binary type arrives as an ArrayBuffer with exact bytes and its metadata', async () => {
  await track('bin', a, b)
  const expected = await a.page.evaluate(async () => {
    const bytes = n => Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 255)
    const backing = bytes(64).buffer
    const inputs = [
      ['ArrayBuffer', bytes(10).buffer],
      ['Uint8Array', bytes(11)],
      ['Uint8ClampedArray', new Uint8ClampedArray(bytes(12))],
      ['Int8Array', new Int8Array(bytes(13).buffer)],
      ['Int16Array', new Int16Array(bytes(14).buffer)],
      ['Uint16Array', new Uint16Array(bytes(16).buffer)],
      ['Int32Array', new Int32Array(bytes(20).buffer)],
      ['Uint32Array', new Uint32Array(bytes(24).buffer)],
      ['Float32Array', new Float32Array(bytes(28).buffer)],
      ['Float64Array', new Float64Array(bytes(32).buffer)],
      ['BigInt64Array', new BigInt64Array(bytes(40).buffer)],
      ['BigUint64Array', new BigUint64Array(bytes(48).buffer)],
      ['DataView', new DataView(backing, 3, 17)],
      ['subarray', new Uint8Array(backing).subarray(5, 30)],
      ['Blob', new Blob([bytes(9), 'tail'])],
      ['empty', new ArrayBuffer(0)]
    ]
    const expected = {}
    for (const [name, value] of inputs) {
      const buf = value instanceof Blob ? await value.arrayBuffer() : ArrayBuffer.isView(value) ? value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength) : value
      expected[name] = Array.from(new Uint8Array(buf))
      await tracked.bin.send(value, null, { name, note: ['meta', 1] })
    }
    return expected
  })
  const count = Object.keys(expected).length
  await waitFor(b.page, n => tracked.bin.received.length === n, count)
  const got = await b.page.evaluate(() => tracked.bin.received.map(r => ({
    isArrayBuffer: r.data instanceof ArrayBuffer, bytes: Array.from(new Uint8Array(r.data)), metadata: r.metadata
  })))
  for (const g of got) {
    assert.ok(g.isArrayBuffer, g.metadata.name)
    assert.deepEqual(g.metadata.note, ['meta', 1])
    assert.deepEqual(g.bytes, expected[g.metadata.name], g.metadata.name)
  }
  assert.deepEqual(new Set(got.map(g => g.metadata.name)), new Set(Object.keys(expected)))
})

const sha256 = buf => crypto.subtle.digest('SHA-256', buf).then(d => Array.from(new Uint8Array(d), x => x.toString(16).padStart(2, '0')).join(''))

test('a large payload is chunked, reported in progress on both sides, and arrives intact', async () => {
  await track('big', a, b)
  const sent = await a.page.evaluate(async ([target, hashSrc]) => {
    const hash = eval(hashSrc)
    const data = new Uint8Array(3 * 1024 * 1024 + 123)
    for (let i = 0; i < data.length; i += 65536) crypto.getRandomValues(data.subarray(i, i + 65536))
    const progress = []
    await tracked.big.send(data, target, { file: 'x.bin' }, (percent, peerId) => progress.push({ percent, peerId }))
    return { hash: await hash(data), progress }
  }, [b.selfId, sha256.toString()])
  assert.ok(sent.progress.length >= 12, `sender progress events: ${sent.progress.length}`)
  assert.equal(sent.progress.at(-1).percent, 1)
  assert.ok(sent.progress.every((p, i, all) => p.peerId === b.selfId && (i === 0 || p.percent > all[i - 1].percent)))
  // send() resolved only after b confirmed holding the whole payload: no waiting here.
  assert.equal(await b.page.evaluate(() => tracked.big.received.length), 1)
  const got = await b.page.evaluate(async hashSrc => {
    const { data, peerId, metadata } = tracked.big.received[0]
    return { hash: await eval(hashSrc)(data), peerId, metadata, progress: tracked.big.progress }
  }, sha256.toString())
  assert.equal(got.hash, sent.hash)
  assert.equal(got.peerId, a.selfId)
  assert.deepEqual(got.metadata, { file: 'x.bin' })
  assert.ok(got.progress.length >= 12, `receiver progress events: ${got.progress.length}`)
  assert.equal(got.progress.at(-1).percent, 1)
  assert.ok(got.progress.every(p => p.peerId === a.selfId && p.metadata.file === 'x.bin'))
})

test('targeted sends reach only their targets and resolve per target; unknown targets reject', async () => {
  await track('target', a, b, c)
  const settled = await a.page.evaluate(([bId, cId]) => Promise.all([
    tracked.target.send('only b', bId), tracked.target.send('b and c', [bId, cId]), tracked.target.send('all', null)
  ]).then(results => results.map(r => r.length)), [b.selfId, c.selfId])
  assert.deepEqual(settled, [1, 2, 2], 'each send resolves to one entry per target, as in Trystero')
  await waitFor(b.page, () => tracked.target.received.length === 3)
  await waitFor(c.page, () => tracked.target.received.length === 2)
  const texts = p => p.page.evaluate(() => tracked.target.received.map(r => r.data).sort())
  assert.deepEqual(await texts(b), ['all', 'b and c', 'only b'])
  assert.deepEqual(await texts(c), ['all', 'b and c'])
  const error = await a.page.evaluate(() => tracked.target.send('x', 'nobody-with-this-id!').then(() => 'sent', e => e.message))
  assert.match(error, /no connected peer/)
})

test('parallel transfers to two peers on two actions do not corrupt each other', async () => {
  await track('p1', a, b, c)
  await track('p2', a, b, c)
  const hashes = await a.page.evaluate(async ([bId, cId, hashSrc]) => {
    const hash = eval(hashSrc)
    const make = seed => { const d = new Uint8Array(2 * 1024 * 1024 + seed); for (let i = 0; i < d.length; i++) d[i] = (i * seed) & 255; return d }
    const payloads = { b1: make(3), b2: make(5), c1: make(7), c2: make(11) }
    await Promise.all([
      tracked.p1.send(payloads.b1, bId, 'b1'), tracked.p2.send(payloads.b2, bId, 'b2'),
      tracked.p1.send(payloads.c1, cId, 'c1'), tracked.p2.send(payloads.c2, cId, 'c2')
    ])
    const out = {}
    for (const [k, v] of Object.entries(payloads)) out[k] = await hash(v)
    return out
  }, [b.selfId, c.selfId, sha256.toString()])
  for (const peer of [b, c]) {
    await waitFor(peer.page, () => tracked.p1.received.length === 1 && tracked.p2.received.length === 1)
    const got = await peer.page.evaluate(async hashSrc => {
      const hash = eval(hashSrc)
      const all = [...tracked.p1.received, ...tracked.p2.received]
      return Promise.all(all.map(async r => [r.metadata, await hash(r.data)]))
    }, sha256.toString())
    for (const [name, hash] of got) assert.equal(hash, hashes[name], name)
  }
})

test('ping measures a round trip', async () => {
  const ms = await a.page.evaluate(id => room.ping(id), b.selfId)
  assert.equal(typeof ms, 'number')
  assert.ok(ms >= 0 && ms < 1000, `${ms} ms`)
  const error = await a.page.evaluate(() => room.ping('nobody-with-this-id!').then(() => 'ok', e => e.message))
  assert.match(error, /no connected peer/)
})

test('hostile frames are dropped with a warning and the connection keeps working', async () => {
  const victim = await openPeer(env.browser, env.files.url, env.relay.url, 'hostile', { maxMessageSize: 1000 })
  const attacker = await openPeer(env.browser, env.files.url, env.relay.url, 'hostile')
  await waitFor(attacker.page, id => log.joins.includes(id), victim.selfId)
  await waitFor(victim.page, id => log.joins.includes(id), attacker.selfId)
  await track('x', victim, attacker)
  const frames = [
    [0], // truncated prefix
    [0, 200, 1, 0], // header longer than the frame
    [0, 3, 1, 0, 0], // truncated data header
    dataFrame({ transfer: 999, seq: 4 }), // chunk of an unknown transfer
    dataFrame({ transfer: 1, seq: 0, action: 'x', total: 100 * 2 ** 30, payload: [1] }), // claims 100 GiB
    dataFrame({ transfer: 2, seq: 0, action: 'x', total: 2000, payload: [1] }), // over maxMessageSize 1000
    dataFrame({ transfer: 3, seq: 0, action: 'x', total: 10, payload: [1, 2] }), // fine so far, then
    dataFrame({ transfer: 3, seq: 2, payload: [3] }), // out of order
    dataFrame({ transfer: 4, seq: 0, action: 'x', total: 2, payload: [1, 2, 3] }), // more than announced
    dataFrame({ transfer: 5, seq: 0, action: 'x', total: 2, kind: 9, payload: [1, 2] }), // unknown payload kind
    dataFrame({ transfer: 6, seq: 0, action: 'x', total: 4, kind: 1, payload: [123, 123, 123, 123] }) // invalid JSON
  ]
  const quiet = [
    [0, 1, 77], // unknown frame kind: ignored without a warning, for forward compatibility
    dataFrame({ transfer: 7, seq: 0, action: 'no-such-action', total: 1, kind: 2, payload: [65] }) // unknown action
  ]
  await attacker.page.evaluate(([id, frames]) => {
    const channel = channelOf(id)
    for (const f of frames) inject(id, f)
    channel.send('a text message')
  }, [victim.selfId, [...frames, ...quiet]])
  await attacker.page.evaluate(async id => {
    await tracked.x.send({ still: 'working' }, id)
    await tracked.x.send(new Uint8Array(1000), id)
  }, victim.selfId)
  await waitFor(victim.page, () => tracked.x.received.length === 2)
  const got = await victim.page.evaluate(() => tracked.x.received.map(r => r.data instanceof ArrayBuffer ? r.data.byteLength : r.data))
  assert.deepEqual(got, [{ still: 'working' }, 1000])
  // One warning per hostile frame (transfer 3's good first chunk has none) and one for the text message.
  const expected = frames.length - 1 + 1
  const warnings = await rendezWarnings(victim, expected)
  assert.equal(warnings.length, expected, warnings.join('\n'))
  for (const pattern of [/truncated/, /longer than the frame/, /unknown transfer 999/, /107374182400 bytes exceeds the 1000-byte limit/,
    /2000 bytes exceeds/, /expected chunk 1, got 2/, /more bytes than announced/, /unknown payload kind 9/, /undecodable payload/, /not binary/]) {
    assert.ok(warnings.some(w => pattern.test(w)), `no warning matching ${pattern}:\n${warnings.join('\n')}`)
  }
  const refused = await attacker.page.evaluate(id => tracked.x.send(new Uint8Array(2000), id).then(() => 'sent', e => e.message), victim.selfId)
  assert.match(refused, /refused the data/)
  assert.match((await rendezWarnings(victim, expected + 1)).at(-1), /2000 bytes exceeds the 1000-byte limit/)
  assert.deepEqual(await victim.page.evaluate(() => log.leaves), [])
  await Promise.all([victim.context.close(), attacker.context.close()])
})
