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
  /** Passed to every RTCPeerConnection (ICE servers etc.). */
  rtcConfig?: RTCConfiguration
}

export type PeerId = string
export type TargetPeers = PeerId | PeerId[] | null | undefined
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }
export type DataPayload = JsonValue | ArrayBuffer | ArrayBufferView
/** Binary payloads arrive as ArrayBuffer. */
export type Received<T> = T extends ArrayBuffer | ArrayBufferView ? ArrayBuffer : T

export type ActionSender<T extends DataPayload> = (
  data: T,
  targetPeers?: TargetPeers,
  metadata?: JsonValue,
  onProgress?: (percent: number, peerId: PeerId) => void
) => Promise<void>
export type ActionReceiver<T extends DataPayload> = (
  receiver: (data: Received<T>, peerId: PeerId, metadata?: JsonValue) => void
) => void
export type ActionProgress = (
  progress: (percent: number, peerId: PeerId, metadata?: JsonValue) => void
) => void

export interface Room {
  makeAction<T extends DataPayload = DataPayload>(name: string): [ActionSender<T>, ActionReceiver<T>, ActionProgress]
  onPeerJoin(callback: (peerId: PeerId) => void): void
  onPeerLeave(callback: (peerId: PeerId) => void): void
  getPeers(): Record<PeerId, RTCPeerConnection>
  getRelaySockets(): Record<string, WebSocket>
  leave(): Promise<void>
}

export declare const selfId: PeerId
export declare function joinRoom(config: BaseRoomConfig, roomId: string): Room
