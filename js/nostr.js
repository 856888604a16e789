// Entry point of the Nostr strategy: `import {joinRoom, selfId} from 'rendez/nostr'`.
import init, { joinRoom as join, selfId as wasmSelfId } from '../pkg/nostr/rendez_nostr.js'

await init()

/** This page's peer id. */
export const selfId = wasmSelfId()

/** Joins `roomId`; see index.d.ts for the config and the returned room. */
export const joinRoom = (config, roomId) => join(config, roomId)
