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

/** The ids of the room's joined peers, kept current. */
export function usePeers (room) {
  const [peers, setPeers] = useState([])
  useEffect(() => {
    if (!room) return setPeers([])
    const sync = () => setPeers(Object.keys(room.getPeers()))
    sync()
    const stops = [room.on('peerJoin', sync), room.on('peerLeave', sync)]
    return () => stops.forEach(stop => stop())
  }, [room])
  return peers
}

/** Calls `callback(peerId)` whenever a peer joins `room` (and for peers already there), while mounted. */
export function usePeerJoin (room, callback) {
  usePeerEvent(room, 'peerJoin', callback)
}

/** Calls `callback(peerId)` whenever a peer leaves `room`, while mounted. */
export function usePeerLeave (room, callback) {
  usePeerEvent(room, 'peerLeave', callback)
}

/** Listens to `event` of `room` (a listener beside the app's own handlers) while mounted. */
function usePeerEvent (room, event, callback) {
  const latest = useRef(callback)
  latest.current = callback
  useEffect(() => {
    if (!room) return
    return room.on(event, peerId => latest.current(peerId))
  }, [room, event])
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
