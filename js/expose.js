// What every strategy entry point exports, given its initialised wasm-bindgen module.
import { makeRoom } from './room.js'

export function expose (wasm) {
  const joined = new Map()
  // A closing page leaves its rooms explicitly, so peers see the channels close at once instead of
  // waiting for ICE consent to expire. Leaving also forgets the room, so a page restored from the
  // back-forward cache joins afresh.
  globalThis.addEventListener?.('pagehide', () => { for (const room of [...joined.values()]) room.leave() })
  return {
    /** This page's peer id. */
    selfId: wasm.selfId(),
    /**
     * Joins `roomId`; `callbacks` is `{onJoinError, onPeerHandshake, handshakeTimeoutMs}` or an
     * `onJoinError` function. See index.d.ts. As in Trystero, joining a room this page is in
     * (same appId and roomId) returns that room.
     */
    joinRoom (config, roomId, callbacks) {
      const key = JSON.stringify([config?.appId, roomId])
      if (joined.has(key)) return joined.get(key)
      const handshake = typeof callbacks?.onPeerHandshake === 'function'
      const raw = wasm.joinRoom(config, roomId, { handshake, handshakeTimeoutMs: callbacks?.handshakeTimeoutMs })
      const room = makeRoom(raw, {
        passive: config.passive === true,
        callbacks,
        onLeave: () => { if (joined.get(key) === room) joined.delete(key) }
      })
      joined.set(key, room)
      return room
    },
    /** Stops reconnecting to relays that drop. */
    pauseRelayReconnection: () => wasm.pauseRelayReconnection(),
    /** Resumes reconnecting, at once for relays that dropped meanwhile. */
    resumeRelayReconnection: () => wasm.resumeRelayReconnection(),
    /** Relay URL → WebSocket over every joined room. */
    getRelaySockets: () => wasm.getRelaySockets(),
    /** The strategy's public default relays. */
    defaultRelayUrls: Object.freeze(wasm.defaultRelayUrls())
  }
}
