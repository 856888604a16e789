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
    const buf = new Uint8Array(size).fill(7).buffer
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
    for (let i = 0; i < times; i++) samples.push(await room.ping(peers[0]))
    return samples.sort((a, b) => a - b)[samples.length >> 1]
  },

  // Raw RTCDataChannel: the ceiling.
  async rawOffer () {
    raw = new RTCPeerConnection({ iceServers: [] })
    raw.channel = raw.createDataChannel('raw', { negotiated: true, id: 0 })
    rawHandlers(raw.channel)
    await raw.setLocalDescription(await raw.createOffer())
    await gathered(raw)
    return raw.localDescription.sdp
  },
  async rawAnswer (sdp) {
    raw = new RTCPeerConnection({ iceServers: [] })
    raw.channel = raw.createDataChannel('raw', { negotiated: true, id: 0 })
    rawHandlers(raw.channel)
    await raw.setRemoteDescription({ type: 'offer', sdp })
    await raw.setLocalDescription(await raw.createAnswer())
    await gathered(raw)
    return raw.localDescription.sdp
  },
  rawAccept: sdp => raw.setRemoteDescription({ type: 'answer', sdp }),
  rawOpen: () => raw.channel.readyState === 'open',

  /** Sends `size` bytes in `chunk`-byte messages with backpressure at `high`/`low`. */
  async raw (size, chunk, high, low) {
    const channel = raw.channel
    channel.bufferedAmountLowThreshold = low
    const buf = new Uint8Array(size).fill(7)
    const acked = wait('ack')
    const t0 = performance.now()
    channel.send(JSON.stringify({ size }))
    for (let offset = 0; offset < size; offset += chunk) {
      if (channel.bufferedAmount > high) {
        await new Promise(resolve => { channel.onbufferedamountlow = resolve })
      }
      channel.send(buf.subarray(offset, offset + chunk))
    }
    await acked
    return performance.now() - t0
  }
}

function rawHandlers (channel) {
  channel.binaryType = 'arraybuffer'
  let expected = 0
  let parts = []
  let received = 0
  channel.onmessage = ({ data }) => {
    if (typeof data === 'string') {
      const message = JSON.parse(data)
      if ('ack' in message) return settle('ack', message.ack)
      expected = message.size
      parts = []
      received = 0
      return
    }
    parts.push(data)
    received += data.byteLength
    if (received === expected) channel.send(JSON.stringify({ ack: received }))
  }
}

function gathered (pc) {
  if (pc.iceGatheringState === 'complete') return
  return new Promise(resolve => {
    pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && resolve()
  })
}
