// Entry point of the MQTT strategy: `import { joinRoom, selfId } from 'rendez/mqtt'`.
import init, * as wasm from '../pkg/mqtt/rendez_mqtt.js'
import { expose } from './expose.js'

await init()

export const { selfId, joinRoom, pauseRelayReconnection, resumeRelayReconnection, getRelaySockets, defaultRelayUrls } = expose(wasm)
