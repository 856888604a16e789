/** Configuration of `joinRoom`. */
export interface BaseRoomConfig {
  /** Identifies your app; peers only meet peers of the same appId. Required. */
  appId: string
  /** Room password. Signaling is sealed with a key derived from it (or from appId + roomId). */
  password?: string
  /** Relay URLs to use instead of the strategy's public defaults. */
  relayUrls?: string[]
  /** How many relays to connect to. */
  relayRedundancy?: number
  /** Trystero 0.25's form of `relayUrls` and `relayRedundancy` (it wins over them). */
  relayConfig?: RelayConfig
  /**
   * A backup or relay peer: until it hears a peer that is not passive it makes no offers and
   * announces no presence (trackers still hear of it, to send it offers), and passive peers never
   * connect to each other.
   */
  passive?: boolean
  /**
   * `true`: ICE candidates follow the description through the relay one by one (mqtt, nostr;
   * torrent ignores it). Default `false`: they travel in the description.
   */
  trickleIce?: boolean
  /** Passed to every RTCPeerConnection (ICE servers etc.); without iceServers, public STUN servers are used. */
  rtcConfig?: RTCConfiguration
  /** TURN servers added after the ICE servers, for peers that cannot reach each other directly. */
  turnConfig?: RTCIceServer[]
  /** Largest payload accepted from a peer, in bytes (default 512 MiB). */
  maxMessageSize?: number
  /** Bytes one peer's unfinished transfers may hold (default 512 MiB). */
  maxInFlightPerPeer?: number
  /** Bytes all peers' unfinished transfers may hold (default 1 GiB). */
  maxInFlight?: number
  /** Milliseconds from SDP exchange to an open connection before giving up (default 30000). */
  connectTimeout?: number
}

/** Relays, in Trystero 0.25's form. */
export interface RelayConfig {
  /** Relay URLs to use instead of the strategy's public defaults. */
  urls?: string[]
  /** How many relays to connect to: the first ones of `urls`, or of the defaults. */
  redundancy?: number
  /**
   * `true`: this room does not make relays pause while the browser is offline; the app pauses and
   * resumes them itself (`pauseRelayReconnection`, `resumeRelayReconnection`). By default
   * reconnection pauses (page-wide) on `offline` and resumes at once on `online`.
   */
  manualReconnection?: boolean
  /** `false`: no console warnings about relays that fail or misbehave. Default `true`. */
  warnOnRelayFailure?: boolean
}

export type PeerId = string
export type TargetPeers = PeerId | PeerId[] | null | undefined
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }
export type DataPayload = JsonValue | ArrayBuffer | ArrayBufferView | Blob
/** Binary payloads (ArrayBuffer, views, Blob) arrive as ArrayBuffer. */
export type Received<T> = T extends ArrayBuffer | ArrayBufferView | Blob ? ArrayBuffer : T

/** Who a payload goes to, with what, and how its sending is followed (Trystero 0.25's form). */
export interface SendOptions {
  target?: TargetPeers
  metadata?: JsonValue
  /** Called as each target's share goes out, with the fraction sent (0–1). */
  onProgress?: ActionProgressHandler
  /** Aborting it stops the send: the promise rejects with an `AbortError` (code `aborted`). */
  signal?: AbortSignal
}
export interface ActionContext {
  peerId: PeerId
  metadata?: JsonValue
}
export type ActionProgressHandler = (percent: number, context: ActionContext) => void

/**
 * Sends `data`, either as `send(data, {target, metadata, onProgress, signal})` or as
 * `send(data, targetPeers, metadata, onProgress)`; resolves (one entry per target peer) once
 * every target confirmed holding all of it.
 */
export interface ActionSender<T extends DataPayload> {
  (data: T, options?: SendOptions): Promise<void[]>
  (data: T, targetPeers?: TargetPeers, metadata?: JsonValue, onProgress?: (percent: number, peerId: PeerId) => void): Promise<void[]>
}
export type ActionReceiver<T extends DataPayload> = (
  receiver: (data: Received<T>, peerId: PeerId, metadata?: JsonValue) => void
) => void
export type ActionProgress = (
  progress: (percent: number, peerId: PeerId, metadata?: JsonValue) => void
) => void

/**
 * A message action: it destructures as the earlier `[send, receive, onProgress]` and is Trystero
 * 0.25's object too. Messages that arrive while it has no receiver are kept (up to 256) until one is set.
 */
export type MessageAction<T extends DataPayload> = [ActionSender<T>, ActionReceiver<T>, ActionProgress] & {
  send: ActionSender<T>
  onMessage: ((data: Received<T>, context: ActionContext) => void) | null
  onReceiveProgress: ActionProgressHandler | null
}
export interface MessageActionConfig<T extends DataPayload> {
  kind?: 'message'
  onMessage?: (data: Received<T>, context: ActionContext) => void
  onReceiveProgress?: ActionProgressHandler
}

/** Where a stream goes, and how it can be stopped. */
export interface StreamSendOptions {
  /**
   * The peer it goes to, or several (each reads the source on its own: a `Blob`, a `File` or
   * bytes; a `ReadableStream` goes to one peer).
   */
  target: PeerId | PeerId[]
  metadata?: JsonValue
  /** The size of a `ReadableStream` source, when known (a `Blob`'s or bytes' own size is used). */
  size?: number
  /** Aborting it stops the stream: the promise rejects with an `AbortError`, and the receiver's stream errors. */
  signal?: AbortSignal
}
export interface StreamContext extends ActionContext {
  /** Total bytes, when the sender announced them. */
  size?: number
  /**
   * On a resumable action: what a later page needs, with the bytes staged, to pick the stream up
   * with `resume` (store it beside them, e.g. in `localStorage`). Whoever holds it can claim the
   * stream from its sender: keep it as private as the data.
   */
  ticket?: string
}
/**
 * A stream action (`makeAction(name, {stream: true})`): `send` reads its source piece by piece as
 * the receiver makes room, never whole; `onMessage` gets a `ReadableStream` of the bytes, which
 * errors (code `integrity`) instead of closing if their SHA-256 differs from the sender's. Reading
 * slowly slows the sender; cancelling it stops the sender.
 */
export interface StreamAction {
  /**
   * Resolves with the size once every target received every byte and verified their SHA-256;
   * rejects with the first failure, which stops the streams to the other targets.
   */
  send(source: Blob | ArrayBuffer | ArrayBufferView | ReadableStream<Uint8Array>, options: StreamSendOptions): Promise<number>
  onMessage: ((stream: ReadableStream<Uint8Array>, context: StreamContext) => void) | null
  /**
   * On a resumable action, after a reload: picks up the stream `ticket` names, of which `staged`
   * holds the first bytes (e.g. the OPFS file written so far). Resolves, once `staged` is hashed,
   * with a `ReadableStream` of the bytes after it; it closes once the SHA-256 of all of them
   * matches the sender's, or errors (code `gone` when the sender no longer has the stream, `left`
   * when it does not come back within 60 s).
   */
  resume(ticket: string, staged?: Blob): Promise<ReadableStream<Uint8Array>>
}
export interface StreamActionConfig {
  stream: true
  /**
   * The receiver stages what arrives (e.g. in OPFS) so a later page can `resume` it: leaving,
   * or reloading, does not end its incoming streams for their senders, which wait 60 s for them.
   */
  resumable?: boolean
  onMessage?: (stream: ReadableStream<Uint8Array>, context: StreamContext) => void
}

export interface RequestContext extends ActionContext {
  /** Aborted once the reply went out, or when the asking peer leaves. */
  signal: AbortSignal
}
export interface RequestOptions {
  target: PeerId
  metadata?: JsonValue
  /** Milliseconds to wait for the reply once the peer holds the whole request (default: no limit). */
  timeoutMs?: number
  onProgress?: ActionProgressHandler
  signal?: AbortSignal
}
export type PeerResult<R> =
  | { peerId: PeerId; status: 'fulfilled'; value: R }
  | { peerId: PeerId; status: 'timeout' }
  | { peerId: PeerId; status: 'rejected'; error: RendezError }
  | { peerId: PeerId; status: 'disconnected' }
export interface RequestManyOptions<R> extends Omit<RequestOptions, 'target'> {
  targets: PeerId[]
  /** Called with each peer's result as it settles. */
  onResult?: (result: PeerResult<R>) => void
}
/** A request action: ask one peer (or several) and get its handler's reply. */
export interface RequestAction<T extends DataPayload, R extends DataPayload> {
  /** Rejects with the handler's error (code `rejected`), `timeout`, `left`, `not-connected` or `aborted`. */
  request(data: T, options: RequestOptions): Promise<Received<R>>
  requestMany(data: T, options: RequestManyOptions<Received<R>>): Promise<PeerResult<Received<R>>[]>
  /** Answers peers' requests; what it throws refuses the request with its message. Requests that
   * arrive before it is set wait for it (up to 5 s, 64 at most). */
  onRequest: ((data: Received<T>, context: RequestContext) => R | Promise<R>) | null
  onReceiveProgress: ActionProgressHandler | null
}
export interface RequestActionConfig<T extends DataPayload, R extends DataPayload> {
  kind: 'request'
  onRequest?: (data: Received<T>, context: RequestContext) => R | Promise<R>
  onReceiveProgress?: ActionProgressHandler
}

/** Who media goes to, and its metadata (Trystero 0.25's form). */
export interface MediaOptions {
  target?: TargetPeers
  metadata?: JsonValue
}

/**
 * A room event handler slot: assign a handler (or null), or call it with one (the earlier form).
 * Reading it gives a function that calls the handler set at that time, for chaining.
 */
export type HandlerSlot<F extends (...args: any[]) => void> = F & ((handler: F | null) => void)

export interface RoomEvents {
  peerJoin: (peerId: PeerId) => void
  peerLeave: (peerId: PeerId) => void
  peerStream: (stream: MediaStream, peerId: PeerId, metadata?: JsonValue) => void
  peerTrack: (track: MediaStreamTrack, stream: MediaStream, peerId: PeerId, metadata?: JsonValue) => void
  joinError: JoinErrorHandler
}

export interface Room {
  makeAction(name: string, config: StreamActionConfig): StreamAction
  makeAction<T extends DataPayload = DataPayload>(name: string, config?: MessageActionConfig<T>): MessageAction<T>
  makeAction<T extends DataPayload = DataPayload, R extends DataPayload = DataPayload>(name: string, config: RequestActionConfig<T, R>): RequestAction<T, R>
  ping(peerId: PeerId): Promise<number>
  /** Whether the room was joined with `passive: true`. */
  isPassive(): boolean
  /** A join handler is called at once for peers already there. */
  get onPeerJoin(): HandlerSlot<RoomEvents['peerJoin']>
  set onPeerJoin(handler: RoomEvents['peerJoin'] | null)
  get onPeerLeave(): HandlerSlot<RoomEvents['peerLeave']>
  set onPeerLeave(handler: RoomEvents['peerLeave'] | null)
  get onPeerStream(): HandlerSlot<RoomEvents['peerStream']>
  set onPeerStream(handler: RoomEvents['peerStream'] | null)
  get onPeerTrack(): HandlerSlot<RoomEvents['peerTrack']>
  set onPeerTrack(handler: RoomEvents['peerTrack'] | null)
  /** Adds a listener beside any others (a join listener is called at once for peers already there); returns its remover. */
  on<E extends keyof RoomEvents>(event: E, listener: RoomEvents[E]): () => void
  /** One promise per target peer, settled once the stream's metadata went out and its tracks were added. */
  addStream(stream: MediaStream, options?: MediaOptions): Promise<void>[]
  addStream(stream: MediaStream, targetPeers?: TargetPeers, metadata?: JsonValue): Promise<void>[]
  removeStream(stream: MediaStream, options?: MediaOptions | TargetPeers): void
  /** One promise per target peer, as for addStream. */
  addTrack(track: MediaStreamTrack, stream: MediaStream, options?: MediaOptions): Promise<void>[]
  addTrack(track: MediaStreamTrack, stream: MediaStream, targetPeers?: TargetPeers, metadata?: JsonValue): Promise<void>[]
  removeTrack(track: MediaStreamTrack, options?: MediaOptions | TargetPeers): void
  /** The earlier form, with the track's stream. */
  removeTrack(track: MediaStreamTrack, stream: MediaStream, targetPeers?: TargetPeers): void
  /** Swaps the track without renegotiating; one promise per target peer. */
  replaceTrack(oldTrack: MediaStreamTrack, newTrack: MediaStreamTrack, options?: MediaOptions | TargetPeers): Promise<void>[]
  /** The earlier form, with the track's stream. */
  replaceTrack(oldTrack: MediaStreamTrack, newTrack: MediaStreamTrack, stream: MediaStream, targetPeers?: TargetPeers): Promise<void>[]
  /** Joined peers (peers still in their handshake are not). */
  getPeers(): Record<PeerId, RTCPeerConnection>
  getRelaySockets(): Record<string, WebSocket>
  leave(): Promise<void>
  /** Leaves the room and frees its memory (as `Symbol.dispose` does). */
  free(): void
}

/** Codes of the errors rendez rejects promises with. */
export type RendezErrorCode = 'invalid' | 'not-connected' | 'closed' | 'refused' | 'timeout' | 'left' | 'busy' | 'aborted' | 'rejected' | 'integrity' | 'cancelled' | 'source' | 'gone'

/** What rejected sends, requests, pings and media calls reject with: `message` starts with `rendez:`; aborts are named `AbortError`. */
export interface RendezError extends Error {
  code: RendezErrorCode
}

/** Why a peer could not join: its offer or answer could not be opened, its connection never opened, or its handshake failed ("handshake failed: …") or timed out ("handshake timed out after …ms"). */
export interface JoinError {
  appId: string
  roomId: string
  peerId: PeerId
  error: string
}
export type JoinErrorHandler = (details: JoinError) => void

export declare const selfId: PeerId
/** Sends handshake data to the pending peer; resolves once it holds it. */
export type HandshakeSender = (data: DataPayload, metadata?: JsonValue) => Promise<void>
/** Resolves to the pending peer's next handshake message. */
export type HandshakeReceiver = () => Promise<{ data: Received<DataPayload>; metadata?: JsonValue }>
/**
 * Vets a peer whose connection opened before it joins: resolve to admit it, throw to refuse it.
 * `isInitiator` is true on exactly one side.
 */
export type PeerHandshake = (peerId: PeerId, send: HandshakeSender, receive: HandshakeReceiver, isInitiator: boolean) => void | Promise<void>
export interface JoinRoomCallbacks {
  onJoinError?: JoinErrorHandler
  /** With it, peers join only once both sides' handshakes pass. */
  onPeerHandshake?: PeerHandshake
  /** Milliseconds a handshake may take (default 10000). */
  handshakeTimeoutMs?: number
}

export declare function joinRoom(config: BaseRoomConfig, roomId: string, callbacks?: JoinErrorHandler | JoinRoomCallbacks): Room
export declare function pauseRelayReconnection(): void
export declare function resumeRelayReconnection(): void
/** Relay URL → WebSocket over every room this entry point has joined. */
export declare function getRelaySockets(): Record<string, WebSocket>
/** The strategy's public default relays, used when `relayUrls` is not given. */
export declare const defaultRelayUrls: readonly string[]
