// Entry point of the BitTorrent-tracker strategy: `import {joinRoom, selfId} from 'rendez/torrent'`.
import init, { joinRoom as join, selfId as wasmSelfId } from '../pkg/torrent/rendez_torrent.js'

await init()

/** This page's peer id. */
export const selfId = wasmSelfId()

/** Joins `roomId`; see index.d.ts for the config and the returned room. */
export const joinRoom = (config, roomId) => join(config, roomId)
