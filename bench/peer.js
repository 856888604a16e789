// One benchmark peer: joins the same room with rendez and with Trystero, and offers a raw
// RTCDataChannel, all driven by bench/run.mjs through window.bench.
import * as rendez from '/js/torrent.js'
import * as trystero from '/bench/dist/trystero-torrent.js'

const waiters = new Map()
const settle = (key, value) => { waiters.get(key)?.(value); waiters.delete(key) }
const wait = key => new Promise(resolve => waiters.set(key, resolve))

// rendez follows Trystero's documented tuple API; Trystero 0.25 itself moved to action objects.
const apis = {
  rendez: {
    config: tracker => ({ relayUrls: [tracker] }),
    onJoin: (room, cb) => room.onPeerJoin(cb),
    action (room, name) {
      const [send, receive] = room.makeAction(name)
      return { send: (data, id) => send(data, id), onReceive: cb => receive((data, id) => cb(data, id)) }
    }
  },
  trystero: {
    config: tracker => ({ relayConfig: { urls: [tracker] } }),
    onJoin: (room, cb) => { room.onPeerJoin = cb },
    action (room, name) {
      const action = room.makeAction(name)
      return { send: (data, id) => action.send(data, { target: id }), onReceive: cb => { action.onMessage = (data, ctx) => cb(data, ctx.peerId) } }
    }
  }
}

function setUp (name, lib, tracker) {
  const api = apis[name]
  const room = lib.joinRoom({ appId: 'rendez-bench', rtcConfig: { iceServers: [] }, ...api.config(tracker) }, 'bench')
  const peers = []
  api.onJoin(room, id => peers.push(id))
  const big = api.action(room, 'big')
  const small = api.action(room, 'small')
  const ack = api.action(room, 'ack')
  big.onReceive((data, id) => ack.send(data.byteLength, id))
  let count = 0
  small.onReceive((data, id) => { if (++count === data.of) { count = 0; ack.send(data.of, id) } })
  ack.onReceive(n => settle('ack', n))
  return { room, peers, selfId: lib.selfId, sendBig: big.send, sendSmall: small.send }
}

let libs, raw

window.bench = {
  async join (tracker) {
    libs = { rendez: setUp('rendez', rendez, tracker), trystero: setUp('trystero', trystero, tracker) }
    return { rendez: libs.rendez.selfId, trystero: libs.trystero.selfId }
  },
  peerCount: name => libs[name].peers.length,

  /** Sends `size` bytes as one ArrayBuffer; resolves to ms until the receiver's ack. */
  async big (name, size) {
    const { sendBig, peers } = libs[name]
    const buf = payload(size).buffer
    const acked = wait('ack')
    const t0 = performance.now()
    sendBig(buf, peers[0])
    await acked
    return performance.now() - t0
  },

  /** Sends `count` small JSON messages; resolves to ms until the receiver's ack. */
  async small (name, count) {
    const { sendSmall, peers } = libs[name]
    const acked = wait('ack')
    const t0 = performance.now()
    for (let i = 0; i < count; i++) sendSmall({ i, of: count, text: 'hello' }, peers[0])
    await acked
    return performance.now() - t0
  },

  async ping (name, times) {
    const { room, peers } = libs[name]
    const samples = []
    // Both libraries timed the same way, around the call (Trystero's own figure is whole ms).
    for (let i = 0; i < times; i++) {
      const start = performance.now()
      await room.ping(peers[0])
      samples.push(performance.now() - start)
    }
    return samples.sort((a, b) => a - b)[samples.length >> 1]
  },

  // Raw RTCDataChannel: the ceiling. RAW_CONNECTIONS connections, each with RAW_CHANNELS negotiated channels.
  async rawOffer () {
    raw = Array.from({ length: RAW_CONNECTIONS }, rawConnection)
    return Promise.all(raw.map(async pc => {
      await pc.setLocalDescription(await pc.createOffer())
      await gathered(pc)
      return pc.localDescription.sdp
    }))
  },
  async rawAnswer (sdps) {
    raw = sdps.map(rawConnection)
    return Promise.all(raw.map(async (pc, i) => {
      await pc.setRemoteDescription({ type: 'offer', sdp: sdps[i] })
      await pc.setLocalDescription(await pc.createAnswer())
      await gathered(pc)
      return pc.localDescription.sdp
    }))
  },
  rawAccept: sdps => Promise.all(raw.map((pc, i) => pc.setRemoteDescription({ type: 'answer', sdp: sdps[i] }))),
  rawOpen: () => raw.every(pc => pc.channels.every(channel => channel.readyState === 'open')),

  /**
   * Sends `size` bytes split evenly over the first `channels` channels of the first `connections`
   * connections, each in `chunk`-byte messages with backpressure at `high`/`low`; resolves to ms
   * until the receiver's ack.
   */
  async raw (size, chunk, high, low, connections, channels) {
    const used = raw.slice(0, connections).flatMap(pc => pc.channels.slice(0, channels))
    const bytes = payload(size)
    const acked = wait('ack')
    const t0 = performance.now()
    used[0].send(JSON.stringify({ size }))
    const share = Math.ceil(size / used.length)
    await Promise.all(used.map(async (channel, i) => {
      channel.bufferedAmountLowThreshold = low
      const end = Math.min(size, (i + 1) * share)
      for (let offset = i * share; offset < end; offset += chunk) {
        if (channel.bufferedAmount > high) {
          await new Promise(resolve => { channel.onbufferedamountlow = resolve })
        }
        channel.send(bytes.subarray(offset, Math.min(offset + chunk, end)))
      }
    }))
    await acked
    return performance.now() - t0
  }
}

const RAW_CONNECTIONS = 2
const RAW_CHANNELS = 4
let expected = -1
let received = 0

function rawConnection () {
  const pc = new RTCPeerConnection({ iceServers: [] })
  pc.channels = Array.from({ length: RAW_CHANNELS }, (_, id) => {
    const channel = pc.createDataChannel(`raw${id}`, { negotiated: true, id })
    channel.binaryType = 'arraybuffer'
    channel.onmessage = onRawMessage
    return channel
  })
  return pc
}

/** Counts bytes over every channel (they may overtake the size message) and acks the whole. */
function onRawMessage ({ data }) {
  if (typeof data === 'string') {
    const message = JSON.parse(data)
    if ('ack' in message) return settle('ack', message.ack)
    expected = message.size
  } else {
    received += data.byteLength
  }
  if (received === expected) {
    raw[0].channels[0].send(JSON.stringify({ ack: received }))
    expected = -1
    received = 0
  }
}

let random = new Uint8Array(0)
/** `size` random bytes (incompressible), made once and reused by every run. */
function payload (size) {
  if (random.byteLength !== size) {
    random = new Uint8Array(size)
    for (let offset = 0; offset < size; offset += 65536) crypto.getRandomValues(random.subarray(offset, offset + 65536))
  }
  return random
}

function gathered (pc) {
  if (pc.iceGatheringState === 'complete') return
  return new Promise(resolve => {
    pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && resolve()
  })
}
