// React hooks: `import { useRoom, useAction, usePeers } from 'rendez/react'`.
import { useEffect, useRef, useState } from 'react'
import { joinRoom as joinTorrentRoom } from './torrent.js'

/**
 * Joins `roomId` while the component is mounted; leaves on unmount or when the config or room
 * changes. `joinRoom` picks the strategy (default: the torrent strategy). Components that use the
 * same room share it (joinRoom returns the joined room), and it is left when the last one lets go.
 */
export function useRoom (config, roomId, joinRoom = joinTorrentRoom) {
  const [room, setRoom] = useState(null)
  const configKey = JSON.stringify(config)
  useEffect(() => {
    const joined = joinRoom(JSON.parse(configKey), roomId)
    roomUsers.set(joined, (roomUsers.get(joined) ?? 0) + 1)
    setRoom(joined)
    return () => {
      setRoom(null)
      const users = roomUsers.get(joined) - 1
      roomUsers.set(joined, users)
      if (users === 0) joined.leave()
    }
  }, [configKey, roomId, joinRoom])
  return room
}

/** How many mounted useRoom hooks hold each room. */
const roomUsers = new WeakMap()

/**
 * The ids of the room's connected peers, kept current. The hooks share the room's single
 * onPeerJoin/onPeerLeave callbacks (so do not set those yourself as well: use usePeerJoin and
 * usePeerLeave).
 */
export function usePeers (room) {
  const [peers, setPeers] = useState([])
  useEffect(() => {
    if (!room) return setPeers([])
    const sync = () => setPeers(Object.keys(room.getPeers()))
    sync()
    return onPeersChange(room, sync)
  }, [room])
  return peers
}

/** Calls `callback(peerId)` whenever a peer joins `room`, while mounted; works beside usePeers. */
export function usePeerJoin (room, callback) {
  usePeerEvent(room, 'join', callback)
}

/** Calls `callback(peerId)` whenever a peer leaves `room`, while mounted; works beside usePeers. */
export function usePeerLeave (room, callback) {
  usePeerEvent(room, 'leave', callback)
}

function usePeerEvent (room, kind, callback) {
  const latest = useRef(callback)
  latest.current = callback
  useEffect(() => {
    if (!room) return
    return onPeersChange(room, (event, peerId) => { if (event === kind) latest.current(peerId) })
  }, [room, kind])
}

const peerListeners = new WeakMap()

/** Calls `listener('join' | 'leave', peerId)` on every join and leave in `room`; returns the unsubscriber. */
function onPeersChange (room, listener) {
  let listeners = peerListeners.get(room)
  if (!listeners) {
    listeners = new Set()
    peerListeners.set(room, listeners)
    const notify = event => peerId => listeners.forEach(notifyOne => notifyOne(event, peerId))
    room.onPeerJoin(notify('join'))
    room.onPeerLeave(notify('leave'))
  }
  listeners.add(listener)
  return () => listeners.delete(listener)
}

/**
 * Action `name` of `room`: `[send, received]`, `received` being every `{data, peerId, metadata}` so far.
 * With `onReceive`, arrivals go to it instead and `received` stays empty, so nothing (a stream of
 * files, say) piles up in state. Every useAction of one room and name shares the action's single
 * receive callback.
 */
export function useAction (room, name, onReceive) {
  const [action, setAction] = useState(null)
  const [received, setReceived] = useState([])
  const latest = useRef(onReceive)
  latest.current = onReceive
  useEffect(() => {
    setReceived([])
    if (!room) return setAction(null)
    const { send, listeners } = sharedAction(room, name)
    const listener = (data, peerId, metadata) => latest.current
      ? latest.current(data, peerId, metadata)
      : setReceived(list => [...list, { data, peerId, metadata }])
    listeners.add(listener)
    setAction(() => send)
    return () => listeners.delete(listener)
  }, [room, name])
  return [action ?? notJoined, received]
}

const actions = new WeakMap()

/** The room's action `name`, made once, with the set of hooks listening to it. */
function sharedAction (room, name) {
  let byName = actions.get(room)
  if (!byName) actions.set(room, (byName = new Map()))
  let shared = byName.get(name)
  if (!shared) {
    const [send, receive] = room.makeAction(name)
    shared = { send, listeners: new Set() }
    receive((...args) => shared.listeners.forEach(listener => listener(...args)))
    byName.set(name, shared)
  }
  return shared
}

function notJoined () {
  return Promise.reject(new Error('rendez: the room is not joined yet'))
}
