// Entry point of the BitTorrent-tracker strategy: `import { joinRoom, selfId } from 'rendez/torrent'`.
import init, * as wasm from '../pkg/torrent/rendez_torrent.js'
import { expose } from './expose.js'

await init()

export const { selfId, joinRoom, pauseRelayReconnection, resumeRelayReconnection, getRelaySockets, defaultRelayUrls } = expose(wasm)
