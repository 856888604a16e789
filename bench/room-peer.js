// One page of the relay benchmark: joins and leaves rooms with rendez or Trystero (torrent) and
// records when each peer joined, driven by bench/relays.mjs through window.roomBench.
import * as rendez from '/js/torrent.js'
import * as trystero from '/bench/dist/trystero-torrent.js'

const libs = { rendez, trystero }
const configs = {
  rendez: url => ({ relayUrls: [url] }),
  trystero: url => ({ relayConfig: { urls: [url] } })
}
const rooms = {}

window.roomBench = {
  /** Joins `roomId` through tracker `url` with library `name`, replacing its earlier room. */
  join (name, url, roomId) {
    rooms[name]?.room.leave()
    const state = { joined: performance.now(), joins: [], room: null }
    state.room = libs[name].joinRoom({ appId: 'rendez-bench-relays', rtcConfig: { iceServers: [] }, ...configs[name](url) }, roomId)
    const onJoin = id => state.joins.push({ id, at: performance.now() - state.joined })
    if (name === 'rendez') state.room.onPeerJoin(onJoin)
    else state.room.onPeerJoin = onJoin
    rooms[name] = state
  },
  /** The peers joined so far, and when (ms after joinRoom). */
  joins: name => rooms[name]?.joins ?? [],
  peers: name => Object.keys(rooms[name]?.room.getPeers() ?? {}).length,
  leave (name) {
    rooms[name]?.room.leave()
    delete rooms[name]
  }
}
