// What every strategy entry point exports, given its initialised wasm-bindgen module.
export function expose (wasm) {
  return {
    /** This page's peer id. */
    selfId: wasm.selfId(),
    /** Joins `roomId`; `callbacks` is an `onJoinError` function or `{ onJoinError }`. See index.d.ts. */
    joinRoom: (config, roomId, callbacks) => wasm.joinRoom(config, roomId, callbacks),
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
