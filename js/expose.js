// What every strategy entry point exports, given its initialised wasm-bindgen module.
export function expose (wasm) {
  const joined = new Map()
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
      const leave = room.leave
      room.leave = () => {
        if (joined.get(key) === room) joined.delete(key)
        return leave.call(room)
      }
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
