// One page of the relay benchmark: joins and leaves rooms with rendez or Trystero 0.25 on any of
// the three strategies and records when each peer joined, driven by bench/relays.mjs through
// window.roomBench.
import * as rendezTorrent from '/js/torrent.js'
import * as rendezNostr from '/js/nostr.js'
import * as rendezMqtt from '/js/mqtt.js'
import * as trysteroTorrent from '/bench/dist/trystero-torrent.js'
import * as trysteroNostr from '/bench/dist/trystero-nostr.js'
import * as trysteroMqtt from '/bench/dist/trystero-mqtt.js'

const libs = {
  rendez: { torrent: rendezTorrent, nostr: rendezNostr, mqtt: rendezMqtt },
  trystero: { torrent: trysteroTorrent, nostr: trysteroNostr, mqtt: trysteroMqtt }
}
const rooms = {}

window.roomBench = {
  /**
   * Joins `roomId` of app `appId` through relay `url` with library `lib` on `strategy`,
   * replacing that library's earlier room on that strategy. Both libraries take Trystero 0.25's
   * `relayConfig`.
   */
  join (lib, strategy, url, roomId, appId) {
    const key = `${lib}/${strategy}`
    rooms[key]?.room.leave()
    const state = { joined: performance.now(), joins: [], room: null }
    const config = { appId, rtcConfig: { iceServers: [] }, relayConfig: { urls: [url] } }
    state.room = libs[lib][strategy].joinRoom(config, roomId)
    state.room.onPeerJoin = id => state.joins.push({ id, at: performance.now() - state.joined })
    rooms[key] = state
  },
  /** The peers joined so far, and when (ms after joinRoom). */
  joins: (lib, strategy) => rooms[`${lib}/${strategy}`]?.joins ?? [],
  peers: (lib, strategy) => Object.keys(rooms[`${lib}/${strategy}`]?.room.getPeers() ?? {}).length,
  leave (lib, strategy) {
    const key = `${lib}/${strategy}`
    rooms[key]?.room.leave()
    delete rooms[key]
  }
}

/**
 * The reference for a full mesh: bare RTCPeerConnections, one per pair with an RTCDataChannel, the
 * lower index offering, descriptions and trickled candidates handed over at once by the benchmark
 * (window.bareSignal, bound in bench/relays.mjs) instead of through relays or peers.
 */
const bare = { connections: new Map(), open: 0, queues: new Map() }

function bareConnection (peer) {
  const pc = new RTCPeerConnection({ iceServers: [] })
  pc.onicecandidate = ({ candidate }) => { if (candidate) window.bareSignal(peer, { candidate: candidate.toJSON() }) }
  const opened = channel => {
    if (channel.readyState === 'open') bare.open++
    else channel.onopen = () => { bare.open++ }
  }
  pc.ondatachannel = ({ channel }) => opened(channel)
  bare.connections.set(peer, pc)
  return { pc, opened }
}

window.bareMesh = {
  /** Connects page `self` to pages 0..n-1: offers to those with a greater index, one after another. */
  async start (self, n) {
    for (const pc of bare.connections.values()) pc.close()
    bare.connections.clear()
    bare.queues.clear()
    bare.open = 0
    for (let peer = self + 1; peer < n; peer++) {
      const { pc, opened } = bareConnection(peer)
      opened(pc.createDataChannel('bare'))
      await pc.setLocalDescription()
      window.bareSignal(peer, { description: pc.localDescription.toJSON() })
    }
  },
  /** A description or candidate from page `from`, applied after the ones before it. */
  deliver (from, { description, candidate }) {
    const pc = bare.connections.get(from) ?? bareConnection(from).pc
    const apply = async () => {
      if (candidate) return pc.addIceCandidate(candidate)
      await pc.setRemoteDescription(description)
      if (description.type === 'offer') {
        await pc.setLocalDescription()
        window.bareSignal(from, { description: pc.localDescription.toJSON() })
      }
    }
    const queued = (bare.queues.get(from) ?? Promise.resolve()).then(apply)
    bare.queues.set(from, queued.catch(e => console.error('[bare]', e.message)))
  },
  /** Data channels open in this page. */
  open: () => bare.open,
  stop () {
    for (const pc of bare.connections.values()) pc.close()
    bare.connections.clear()
  }
}
