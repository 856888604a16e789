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
