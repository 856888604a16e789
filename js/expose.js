// What every strategy entry point exports, given its initialised wasm-bindgen module.
export function expose (wasm) {
  const joined = new Map()
  const forget = (key, room) => { if (joined.get(key) === room) joined.delete(key) }
  // A closing page leaves its rooms explicitly, so peers see the channels close at once instead of
  // waiting for ICE consent to expire. Leaving through the wrapped `leave` also forgets the room,
  // so a page restored from the back-forward cache joins afresh.
  globalThis.addEventListener?.('pagehide', () => { for (const room of [...joined.values()]) room.leave() })
  return {
    /** This page's peer id. */
    selfId: wasm.selfId(),
    /**
     * Joins `roomId`; `callbacks` is an `onJoinError` function or `{ onJoinError }`. See index.d.ts.
     * As in Trystero, joining a room this page is in (same appId and roomId) returns that room.
     */
    joinRoom (config, roomId, callbacks) {
      const key = JSON.stringify([config?.appId, roomId])
      if (joined.has(key)) return joined.get(key)
      const room = wasm.joinRoom(config, roomId, callbacks)
      const { leave, free } = room
      room.leave = () => {
        forget(key, room)
        return leave.call(room)
      }
      // Freeing (directly or with `using`) leaves too; the room is forgotten first.
      room.free = () => {
        forget(key, room)
        free.call(room)
      }
      if (Symbol.dispose) room[Symbol.dispose] = room.free
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
