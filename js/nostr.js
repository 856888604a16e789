// Entry point of the Nostr strategy: `import { joinRoom, selfId } from 'rendez/nostr'`.
import init, * as wasm from '../pkg/nostr/rendez_nostr.js'
import { expose } from './expose.js'

await init()

export const { selfId, joinRoom, pauseRelayReconnection, resumeRelayReconnection, getRelaySockets, defaultRelayUrls } = expose(wasm)
