import type { BaseRoomConfig, DataPayload, ActionSender, JsonValue, PeerId, Received, Room, joinRoom } from './index.js'

/** Joins `roomId` while mounted; `null` until joined. Components using the same room share it; the last to unmount leaves. */
export declare function useRoom(config: BaseRoomConfig, roomId: string, join?: typeof joinRoom): Room | null
/** Joined peer ids, kept current (listeners beside the app's own onPeerJoin/onPeerLeave). */
export declare function usePeers(room: Room | null): PeerId[]
/** Calls `callback` with each joining peer's id (and those already there) while mounted. */
export declare function usePeerJoin(room: Room | null, callback: (peerId: PeerId) => void): void
/** Calls `callback` with each leaving peer's id while mounted. */
export declare function usePeerLeave(room: Room | null, callback: (peerId: PeerId) => void): void
/**
 * `[send, received]` for action `name`; with `onReceive`, arrivals go to it and `received` stays empty.
 * Every useAction of one room and name shares the action's receive callback.
 */
export declare function useAction<T extends DataPayload = DataPayload>(
  room: Room | null,
  name: string,
  onReceive?: (data: Received<T>, peerId: PeerId, metadata?: JsonValue) => void
): [ActionSender<T>, Array<{ data: Received<T>; peerId: PeerId; metadata?: JsonValue }>]
