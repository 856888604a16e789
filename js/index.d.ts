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

export type PeerId = string
export type TargetPeers = PeerId | PeerId[] | null | undefined
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }
export type DataPayload = JsonValue | ArrayBuffer | ArrayBufferView | Blob
/** Binary payloads (ArrayBuffer, views, Blob) arrive as ArrayBuffer. */
export type Received<T> = T extends ArrayBuffer | ArrayBufferView | Blob ? ArrayBuffer : T

/** Sends `data`; resolves (one entry per target peer) once every target confirmed holding all of it. */
export type ActionSender<T extends DataPayload> = (
  data: T,
  targetPeers?: TargetPeers,
  metadata?: JsonValue,
  onProgress?: (percent: number, peerId: PeerId) => void
) => Promise<void[]>
export type ActionReceiver<T extends DataPayload> = (
  receiver: (data: Received<T>, peerId: PeerId, metadata?: JsonValue) => void
) => void
export type ActionProgress = (
  progress: (percent: number, peerId: PeerId, metadata?: JsonValue) => void
) => void

export interface Room {
  makeAction<T extends DataPayload = DataPayload>(name: string): [ActionSender<T>, ActionReceiver<T>, ActionProgress]
  ping(peerId: PeerId): Promise<number>
  onPeerJoin(callback: (peerId: PeerId) => void): void
  onPeerLeave(callback: (peerId: PeerId) => void): void
  onPeerStream(callback: (stream: MediaStream, peerId: PeerId, metadata?: JsonValue) => void): void
  onPeerTrack(callback: (track: MediaStreamTrack, stream: MediaStream, peerId: PeerId, metadata?: JsonValue) => void): void
  /** One promise per target peer, settled once the stream's metadata went out and its tracks were added. */
  addStream(stream: MediaStream, targetPeers?: TargetPeers, metadata?: JsonValue): Promise<void>[]
  removeStream(stream: MediaStream, targetPeers?: TargetPeers): void
  /** One promise per target peer, as for addStream. */
  addTrack(track: MediaStreamTrack, stream: MediaStream, targetPeers?: TargetPeers, metadata?: JsonValue): Promise<void>[]
  removeTrack(track: MediaStreamTrack, targetPeers?: TargetPeers): void
  /** The earlier form, with the track's stream. */
  removeTrack(track: MediaStreamTrack, stream: MediaStream, targetPeers?: TargetPeers): void
  /** Swaps the track without renegotiating; one promise per target peer. */
  replaceTrack(oldTrack: MediaStreamTrack, newTrack: MediaStreamTrack, targetPeers?: TargetPeers): Promise<void>[]
  /** The earlier form, with the track's stream. */
  replaceTrack(oldTrack: MediaStreamTrack, newTrack: MediaStreamTrack, stream: MediaStream, targetPeers?: TargetPeers): Promise<void>[]
  getPeers(): Record<PeerId, RTCPeerConnection>
  getRelaySockets(): Record<string, WebSocket>
  leave(): Promise<void>
  /** Leaves the room and frees its memory (as `Symbol.dispose` does). */
  free(): void
}

/** Codes of the errors rendez rejects promises with. */
export type RendezErrorCode = 'invalid' | 'not-connected' | 'closed' | 'refused' | 'timeout' | 'left' | 'busy'

/** What rejected sends, pings and media calls reject with: `message` starts with `rendez:`. */
export interface RendezError extends Error {
  code: RendezErrorCode
}

/** Why a peer could not join: its offer or answer could not be opened, or its connection never opened. */
export interface JoinError {
  appId: string
  roomId: string
  peerId: PeerId
  error: string
}
export type JoinErrorHandler = (details: JoinError) => void

export declare const selfId: PeerId
export declare function joinRoom(
  config: BaseRoomConfig,
  roomId: string,
  callbacks?: JoinErrorHandler | { onJoinError?: JoinErrorHandler }
): Room
export declare function pauseRelayReconnection(): void
export declare function resumeRelayReconnection(): void
/** Relay URL → WebSocket over every room this entry point has joined. */
export declare function getRelaySockets(): Record<string, WebSocket>
/** The strategy's public default relays, used when `relayUrls` is not given. */
export declare const defaultRelayUrls: readonly string[]
