// Type test: `tsc -p tests/types` must accept the correct uses and reject the marked wrong ones.
import { joinRoom, selfId, pauseRelayReconnection, getRelaySockets, defaultRelayUrls, type JoinError, type RendezError, type RendezErrorCode, type Room } from 'rendez/torrent'
import { joinRoom as joinNostr } from 'rendez/nostr'
import { joinRoom as joinMqtt } from 'rendez/mqtt'
import { useAction, usePeerJoin, usePeerLeave, usePeers, useRoom } from 'rendez/react'

const id: string = selfId
const room: Room = joinRoom({ appId: 'app', password: 'pw', maxMessageSize: 1024 }, 'room', (e: JoinError) => e.peerId)
joinNostr({ appId: 'app', relayUrls: ['wss://relay'] }, 'room', { onJoinError: e => e.error })
joinMqtt({ appId: 'app', relayRedundancy: 2 }, 'room')
joinRoom({ appId: 'app', turnConfig: [{ urls: 'turn:turn.example:3478', username: 'u', credential: 'c' }] }, 'room')
// @ts-expect-error turnConfig is a list of RTCIceServer objects
joinRoom({ appId: 'app', turnConfig: 'turn:turn.example:3478' }, 'room')
pauseRelayReconnection()
const sockets: WebSocket[] = Object.values(getRelaySockets())
const firstDefault: string | undefined = defaultRelayUrls[0]
// @ts-expect-error the default list is read-only
defaultRelayUrls.push('wss://mine')

type Chat = { text: string; at: number }
const [sendChat, onChat, onChatProgress] = room.makeAction<Chat>('chat')
void sendChat({ text: 'hi', at: 1 }, [id], { note: 'meta' }, (percent: number, peer: string) => percent + peer.length)
onChat((message, peerId, metadata) => message.text.toUpperCase() + peerId + JSON.stringify(metadata))
onChatProgress((percent, peerId) => percent.toFixed() + peerId)
// @ts-expect-error the payload type is enforced
void sendChat({ text: 1 })

const [sendFile, onFile] = room.makeAction<Uint8Array>('file')
void sendFile(new Uint8Array(4), null)
onFile(data => data.byteLength satisfies number)
// @ts-expect-error binary arrives as ArrayBuffer, not as the sent view type
onFile((data: Uint8Array) => data)

room.onPeerStream((stream, peerId, metadata) => [stream.id, peerId, metadata])
declare const stream: MediaStream
const [camera] = stream.getVideoTracks()
const added: Promise<void>[] = room.addStream(stream, id, { name: 'cam' })
void Promise.all([...added, ...room.addTrack(camera, stream, null), ...room.replaceTrack(camera, camera, [id])])
room.removeTrack(camera, id)
room.removeTrack(camera, stream, id)
const delivered: Promise<void[]> = sendChat({ text: 'x', at: 2 })
room.onPeerTrack((track, stream) => [track.kind, stream.id])
const ms: Promise<number> = room.ping(id)
ms.catch((e: RendezError) => (e.code === 'left' ? 0 : e.code === 'timeout' ? 1 : 2))
// @ts-expect-error codes are a closed set
export const unknownCode: RendezErrorCode = 'oops'
// @ts-expect-error appId is required
joinRoom({ password: 'x' }, 'room')

export function ChatBox (): string[] {
  const r = useRoom({ appId: 'app' }, 'room')
  const peers: string[] = usePeers(r)
  usePeerJoin(r, (peerId: string) => peerId.length)
  usePeerLeave(r, peerId => peerId.toUpperCase())
  const [send, received] = useAction<Chat>(r, 'chat')
  useAction<Uint8Array>(r, 'file', (data, peerId) => data.byteLength + peerId.length)
  void send({ text: 'x', at: 0 })
  return [...peers, ...received.map(m => m.data.text), String(ms), String(sockets.length), String(firstDefault), String(delivered)]
}

// Trystero 0.25's shape.
const modern = joinRoom({ appId: 'app', trickleIce: true, relayConfig: { urls: ['wss://tracker'], redundancy: 1, manualReconnection: false, warnOnRelayFailure: true } }, 'room', {
  onJoinError: e => e.error,
  handshakeTimeoutMs: 5000,
  onPeerHandshake: async (peerId, send, receive, isInitiator) => {
    if (isInitiator) await send({ hello: peerId }, { step: 1 })
    const { data, metadata } = await receive()
    void [data, metadata]
  }
})
modern.onPeerJoin = peerId => peerId.length
modern.onPeerJoin = null
const previousJoin = modern.onPeerJoin
modern.onPeerJoin = peerId => { previousJoin(peerId) }
const stopListening: () => void = modern.on('peerLeave', peerId => peerId.toUpperCase())
stopListening()
// @ts-expect-error unknown events are refused
modern.on('peerWave', () => {})
const chat = modern.makeAction<Chat>('chat')
chat.onMessage = (message, { peerId, metadata }) => message.text + peerId + JSON.stringify(metadata)
chat.onReceiveProgress = (percent, { peerId }) => percent + peerId.length
void chat.send({ text: 'hi', at: 1 }, { target: id, metadata: { m: 1 }, onProgress: (p, { peerId }) => p + peerId.length, signal: AbortSignal.timeout(1000) })
const [tupleSend] = chat
void tupleSend({ text: 'hi', at: 1 }, id)
const isEven = modern.makeAction<number, boolean>('is-even', { kind: 'request', onRequest: (n, { peerId, signal }) => (signal.aborted ? false : n % 2 === peerId.length % 2) })
const even: Promise<boolean> = isEven.request(4, { target: id, timeoutMs: 1000 })
void isEven.requestMany(4, { targets: [id], onResult: r => (r.status === 'fulfilled' ? r.value : r.status === 'rejected' ? r.error.code : r.peerId) })
// @ts-expect-error a request needs a target
void isEven.request(4, {})
const files = modern.makeAction('big-file', { stream: true })
files.onMessage = (incoming, { peerId, size }) => void incoming.pipeTo(new WritableStream({ write: chunk => void (chunk.byteLength + peerId.length + (size ?? 0)) }))
const streamed: Promise<number> = files.send(new Blob(['x']), { target: id, metadata: { name: 'x.txt' }, signal: AbortSignal.timeout(1000) })
void files.send(new ReadableStream<Uint8Array>(), { target: id, size: 10 })
// @ts-expect-error a stream goes to a target
void files.send(new Blob(['x']), {})
const toSeveral: Promise<number> = files.send(new Blob(['x']), { target: [id, id] })
const resumable = modern.makeAction('staged-file', { stream: true, resumable: true })
resumable.onMessage = (incoming, { ticket }) => { localStorage.setItem('ticket', ticket ?? ''); void incoming.cancel() }
const rest: Promise<ReadableStream<Uint8Array>> = resumable.resume(localStorage.getItem('ticket') ?? '', new Blob(['staged']))
// @ts-expect-error the staged bytes are a Blob
void resumable.resume('ticket', new Uint8Array(1))
const left: Promise<void> = modern.leave()
modern.addStream(stream, { target: id, metadata: { name: 'cam' } })
modern.replaceTrack(camera, camera, { target: [id] })
export const modernUses = [even, left, streamed]
