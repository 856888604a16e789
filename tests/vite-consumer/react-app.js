import { createElement as h, useState } from 'react'
import { createRoot } from 'react-dom/client'
import { useAction, usePeerJoin, usePeerLeave, usePeers, useRoom } from 'rendez/react'
import { selfId } from 'rendez/torrent'

const params = new URLSearchParams(location.search)
const config = { appId: 'vite-consumer-react', relayUrls: [params.get('tracker')], rtcConfig: { iceServers: [] } }

/**
 * A second usePeers and useAction (in its callback form) of the same room, and join/leave events:
 * every hook must stay current.
 */
function Counts ({ room }) {
  const peers = usePeers(room)
  const [receivedCount, setReceivedCount] = useState(0)
  const [, kept] = useAction(room, 'chat', () => setReceivedCount(n => n + 1))
  const [events, setEvents] = useState([])
  usePeerJoin(room, id => setEvents(list => [...list, `+${id}`]))
  usePeerLeave(room, id => setEvents(list => [...list, `-${id}`]))
  return h('p', null,
    h('span', { id: 'count' }, String(peers.length)),
    h('span', { id: 'received' }, `${receivedCount}/${kept.length}`),
    h('span', { id: 'events' }, events.join(' ')))
}

function Chat () {
  const room = useRoom(config, params.get('room'))
  const peers = usePeers(room)
  const [send, received] = useAction(room, 'chat')
  const [text, setText] = useState('')
  return h('section', null,
    h('p', { id: 'peers' }, peers.join(',')),
    h(Counts, { room }),
    h('ul', { id: 'messages' }, received.map((m, i) => h('li', { key: i }, `${m.peerId}: ${m.data}`))),
    h('input', { id: 'text', value: text, onChange: e => setText(e.target.value) }),
    h('button', { id: 'send', onClick: () => send(text) }, 'Send'))
}

/** A second useRoom of the same room: the room stays joined until both have unmounted. */
function Watcher () {
  const peers = usePeers(useRoom(config, params.get('room')))
  return h('p', { id: 'watched' }, peers.join(','))
}

function App () {
  const [joined, setJoined] = useState(true)
  const [watching, setWatching] = useState(true)
  return h('main', { 'data-self': selfId },
    h('button', { id: 'toggle', onClick: () => setJoined(!joined) }, joined ? 'Leave' : 'Join'),
    h('button', { id: 'toggle-watcher', onClick: () => setWatching(!watching) }, watching ? 'Stop watching' : 'Watch'),
    joined && h(Chat),
    watching && h(Watcher))
}

createRoot(document.getElementById('root')).render(h(App))
