// What every strategy entry point exports, given its initialised wasm-bindgen module.
import { makeRoom } from './room.js'

/** How long a page must have been hidden for its return to wake the relays. */
const WAKE_AFTER_HIDDEN_MS = 30_000

export function expose (wasm) {
  const joined = new Map()
  // A closing page leaves its rooms explicitly, so peers see the channels close at once instead of
  // waiting for ICE consent to expire. Leaving also forgets the room, so a page restored from the
  // back-forward cache joins afresh.
  globalThis.addEventListener?.('pagehide', () => { for (const room of [...joined.values()]) room.leave() })
  // Reconnecting while the browser is offline only fails: relays stop reconnecting on `offline`
  // and reconnect at once on `online`, while a room joined without
  // `relayConfig.manualReconnection` is in. The pause is page-wide, as the app's own is; the two
  // are kept apart, so coming back online does not undo a pause the app asked for.
  // A page that comes back after a while hidden, or from being frozen (a phone that slept),
  // reconnects its relays at once, and rooms still looking for peers announce.
  let hiddenAt = Date.now()
  globalThis.document?.addEventListener?.('visibilitychange', () => {
    if (globalThis.document.visibilityState === 'hidden') hiddenAt = Date.now()
    else if (Date.now() - hiddenAt >= WAKE_AFTER_HIDDEN_MS) wasm.wakeRelays()
  })
  globalThis.document?.addEventListener?.('resume', () => wasm.wakeRelays())
  const watching = new Set()
  let offlinePause = false
  let appPause = false
  const apply = () => offlinePause || appPause ? wasm.pauseRelayReconnection() : wasm.resumeRelayReconnection()
  const offline = () => { offlinePause = true; apply() }
  const online = () => { if (offlinePause) { offlinePause = false; apply() } }
  const watch = (room, on) => {
    const before = watching.size
    if (on) watching.add(room)
    else watching.delete(room)
    if (before === 0 && watching.size > 0) {
      globalThis.addEventListener?.('offline', offline)
      globalThis.addEventListener?.('online', online)
      if (globalThis.navigator?.onLine === false) offline()
    } else if (before > 0 && watching.size === 0) {
      globalThis.removeEventListener?.('offline', offline)
      globalThis.removeEventListener?.('online', online)
      online()
    }
  }
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
        onLeave: () => {
          if (joined.get(key) === room) joined.delete(key)
          watch(room, false)
        }
      })
      joined.set(key, room)
      if (config.relayConfig?.manualReconnection !== true) watch(room, true)
      return room
    },
    /** Stops reconnecting to relays that drop. */
    pauseRelayReconnection: () => { appPause = true; apply() },
    /** Resumes reconnecting, at once for relays that dropped meanwhile (unless the browser is offline). */
    resumeRelayReconnection: () => { appPause = false; apply() },
    /** Relay URL → WebSocket over every joined room. */
    getRelaySockets: () => wasm.getRelaySockets(),
    /** The strategy's public default relays. */
    defaultRelayUrls: Object.freeze(wasm.defaultRelayUrls())
  }
}
