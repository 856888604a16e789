import { joinRoom, selfId } from 'rendez/torrent'

const params = new URLSearchParams(location.search)
const room = joinRoom({ appId: 'vite-consumer', relayUrls: [params.get('tracker')], rtcConfig: { iceServers: [] } }, params.get('room'))
const log = { joins: [], received: [] }
room.onPeerJoin(id => log.joins.push(id))
const [send, receive] = room.makeAction('msg')
receive((data, peerId) => log.received.push({ data, peerId }))
Object.assign(window, { log, room, send, selfId })
