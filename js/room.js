// The room object apps use, in both of Trystero's API shapes (see index.d.ts), over the driver's
// room (src/web/bindings.rs): the core keeps every rule (timeouts, held requests, admission);
// this file only shapes calls and events the way apps expect them.

/** Messages kept per action while it has no receiver, oldest dropped first. */
const MAX_UNHANDLED_MESSAGES = 256
/** Streams kept per stream action while it has no `onMessage` (each holds up to its 8 MiB window). */
const MAX_UNHANDLED_STREAMS = 16
/**
 * The high-water mark of an incoming stream's `ReadableStream`: bytes queued beyond it count as
 * not yet consumed. The queue itself holds up to the sender's 8 MiB of credit (`STREAM_WINDOW`).
 */
const STREAM_QUEUE_BYTES = 1024 * 1024
/** Staged bytes handed back to the core at a time when a stream is resumed (`resume`). */
const REHASH_PIECE = 1024 * 1024
/** Handshake messages kept per pending peer until its handshake asks for them. */
const MAX_HANDSHAKE_BACKLOG = 64
const ROOM_EVENTS = ['peerJoin', 'peerLeave', 'peerStream', 'peerTrack']

/** An `Error` like the library's own: `message` prefixed with `rendez: `, and a `code`. */
function rendezError (message, code) {
  const error = new Error(`rendez: ${message}`)
  error.code = code
  if (code === 'aborted') error.name = 'AbortError'
  return error
}

const abortError = () => rendezError('operation aborted', 'aborted')
const messageOf = error => (typeof error?.message === 'string' ? error.message : String(error)).replace(/^rendez: /, '')
/** `context` with `metadata` when there is any (so apps can tell none from `null`). */
const withMetadata = (context, metadata) => (metadata === undefined ? context : { ...context, metadata })
const isOptions = value => value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof MediaStream)

/** Calls an app callback, warning (not throwing) if it throws or its promise rejects. */
function safely (callback, ...args) {
  try {
    const result = callback(...args)
    if (typeof result?.catch === 'function') result.catch(error => console.warn('rendez: a room callback failed:', error))
  } catch (error) {
    console.warn('rendez: a room callback threw:', error)
  }
}

/** Blobs are read into ArrayBuffers before they are handed to the driver. */
const readable = data => (data instanceof Blob ? data.arrayBuffer() : data)

/** A `Uint8Array` over the bytes of an `ArrayBuffer` or any view, or `undefined`. */
const asBytes = value => (value instanceof ArrayBuffer
  ? new Uint8Array(value)
  : ArrayBuffer.isView(value) ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength) : undefined)

/**
 * What a stream action reads from: `read(offset, max)` promising the next bytes (a `Uint8Array`,
 * or `null` at the end), the size when known, whether any offset can be read (then a stream cut
 * off with its connection resumes), and `close()` to release the source. A `Blob` (a
 * `File`) is read slice by slice at the offsets asked for; a `ReadableStream` chunk by chunk;
 * bytes in memory as views.
 */
function streamSource (source, size) {
  if (source instanceof Blob) {
    return {
      read: async (offset, max) => (offset >= source.size ? null : new Uint8Array(await source.slice(offset, offset + max).arrayBuffer())),
      size: source.size,
      seekable: true,
      close: () => {}
    }
  }
  if (source instanceof ReadableStream) {
    const reader = source.getReader()
    let reading = false
    let done = false
    return {
      read: async () => {
        reading = true
        const next = await reader.read()
        if (next.done) {
          done = true
          return null
        }
        const bytes = asBytes(next.value)
        if (!bytes) throw new TypeError('the ReadableStream gave a chunk that is not bytes (an ArrayBuffer or a view)')
        return bytes
      },
      size,
      seekable: false,
      // A stream never read (the send failed at once) is left to the app, unlocked.
      close: () => {
        if (reading && !done) reader.cancel().catch(() => {})
        try { reader.releaseLock() } catch {}
      }
    }
  }
  const bytes = asBytes(source)
  if (bytes) {
    return {
      read: (offset, max) => (offset >= bytes.byteLength ? null : bytes.subarray(offset, offset + max)),
      size: bytes.byteLength,
      seekable: true,
      close: () => {}
    }
  }
  throw rendezError('a stream is sent from a Blob, a File, a ReadableStream or bytes', 'invalid')
}

/**
 * Runs `start()` (returning `[promise, id]`) and ties `signal` to `abort(id)`: an aborted signal
 * rejects at once with an `AbortError`.
 */
async function abortable (signal, start, abort) {
  if (signal?.aborted) throw abortError()
  const [promise, id] = start()
  if (!signal) return promise
  const onAbort = () => abort(id)
  signal.addEventListener('abort', onAbort, { once: true })
  try {
    return await promise
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

/**
 * Wraps the driver's room `raw`, joined as `passive` or not; `callbacks` is `joinRoom`'s third
 * argument (`{onJoinError, onPeerHandshake}` or an `onJoinError` function); `onLeave` runs when
 * the room is left or freed.
 */
export function makeRoom (raw, { passive, callbacks, onLeave }) {
  const onJoinError = typeof callbacks === 'function' ? callbacks : callbacks?.onJoinError
  const onPeerHandshake = typeof callbacks === 'function' ? undefined : callbacks?.onPeerHandshake
  const handlers = Object.fromEntries(ROOM_EVENTS.map(name => [name, null]))
  const listeners = Object.fromEntries([...ROOM_EVENTS, 'joinError'].map(name => [name, new Set()]))
  const actions = new Map()
  const servedRequests = new Map()
  const handshakes = new Map()
  const incomingStreams = new Map()

  const fire = (name, ...args) => {
    if (handlers[name]) safely(handlers[name], ...args)
    for (const listener of [...listeners[name]]) safely(listener, ...args)
  }
  const joinedPeers = () => Object.keys(raw.getPeers())

  const events = {
    join: peerId => fire('peerJoin', peerId),
    leave: peerId => fire('peerLeave', peerId),
    stream: (stream, peerId, metadata) => fire('peerStream', stream, peerId, metadata),
    track: (track, stream, peerId, metadata) => fire('peerTrack', track, stream, peerId, metadata),
    joinError: details => {
      if (onJoinError) safely(onJoinError, details)
      for (const listener of [...listeners.joinError]) safely(listener, details)
    },
    message: (name, data, peerId, metadata) => actions.get(name)?.deliver(data, peerId, metadata),
    streamStart: (name, id, peerId, size, metadata, ticket) => startIncomingStream(name, id, peerId, size, metadata, ticket),
    streamData: (id, bytes) => incomingStreams.get(id)?.data(bytes),
    streamEnd: (id, error) => incomingStreams.get(id)?.end(error),
    progress: (name, percent, peerId, metadata) => actions.get(name)?.progress(percent, peerId, metadata),
    request: (name, id, data, peerId, metadata) => serveRequest(name, id, data, peerId, metadata),
    withdrawn: id => servedRequests.get(id)?.abort(),
    handshake: (conn, peerId, initiator) => startHandshake(conn, peerId, initiator),
    handshakeData: (conn, data, metadata) => handshakes.get(conn)?.arrive(withMetadata({ data }, metadata)),
    handshakeEnded: conn => handshakes.get(conn)?.end()
  }
  raw.onEvent((type, ...args) => events[type]?.(...args))

  function serveRequest (name, id, data, peerId, metadata) {
    const handler = actions.get(name)?.requestHandler()
    if (!handler) return raw.reply(id, false, 'request handler unavailable')
    const controller = new AbortController()
    servedRequests.set(id, controller)
    const context = withMetadata({ peerId, signal: controller.signal }, metadata)
    Promise.resolve()
      .then(() => handler(data, context))
      .then(async value => {
        if (value === undefined) throw new Error('request handler returned undefined')
        raw.reply(id, true, await readable(value))
      })
      .catch(error => raw.reply(id, false, messageOf(error)))
      .finally(() => {
        servedRequests.delete(id)
        controller.abort()
      })
      .catch(error => console.warn('rendez: a reply could not be sent:', error))
  }

  /**
   * A peer streams to us on action `name`: a `ReadableStream` of its bytes goes to the action's
   * `onMessage`, and what the app reads from it is reported consumed. Streams to an action that
   * does not take streams are cancelled; those to a resumable action are staged.
   */
  function startIncomingStream (name, id, peerId, size, metadata, ticket) {
    const action = actions.get(name)
    if (action?.kind !== 'stream') {
      console.warn(`rendez: cancelled a stream to action "${name}", which is not a stream action`)
      return raw.cancelStream(id)
    }
    if (action.resumable) raw.stageStream(id)
    action.deliver(incomingReadable(id, 0), peerId, metadata, size, ticket)
  }

  /**
   * The `ReadableStream` of incoming stream `id`, whose bytes from offset `start` on arrive as
   * `streamData` events; what the app reads from it is reported consumed.
   */
  function incomingReadable (id, start) {
    let controller
    let enqueued = start
    let reported = start
    const reportConsumed = () => {
      const queued = Math.max(0, STREAM_QUEUE_BYTES - (controller.desiredSize ?? 0))
      const consumed = enqueued - queued
      if (consumed <= reported) return
      try {
        raw.streamConsumed(id, consumed)
        reported = consumed
      } catch {
        // The driver was busy: the total goes again with the next report.
      }
    }
    const readable = new ReadableStream({
      start: c => { controller = c },
      pull: reportConsumed,
      cancel: () => {
        incomingStreams.delete(id)
        raw.cancelStream(id)
      }
    }, new ByteLengthQueuingStrategy({ highWaterMark: STREAM_QUEUE_BYTES }))
    incomingStreams.set(id, {
      data: bytes => {
        controller.enqueue(bytes)
        enqueued += bytes.byteLength
        reportConsumed()
      },
      end: error => {
        incomingStreams.delete(id)
        if (error) controller.error(error)
        else controller.close()
      }
    })
    return readable
  }

  /** Runs the app's handshake with `peerId` over connection `conn` (its token for the driver). */
  function startHandshake (conn, peerId, initiator) {
    const backlog = []
    const waiters = []
    let ended = false
    const state = {
      arrive: payload => {
        if (waiters.length) return waiters.shift().resolve(payload)
        if (backlog.length < MAX_HANDSHAKE_BACKLOG) backlog.push(payload)
      },
      end: () => {
        ended = true
        handshakes.delete(conn)
        for (const waiter of waiters.splice(0)) waiter.reject(rendezError('peer disconnected during handshake', 'left'))
      }
    }
    handshakes.set(conn, state)
    const send = async (data, metadata) => { await raw.handshakeSend(conn, await readable(data), metadata) }
    const receive = () => new Promise((resolve, reject) => {
      if (backlog.length) return resolve(backlog.shift())
      if (ended) return reject(rendezError('peer disconnected during handshake', 'left'))
      waiters.push({ resolve, reject })
    })
    Promise.resolve()
      .then(() => onPeerHandshake(peerId, send, receive, initiator))
      .then(() => raw.handshakeDone(conn), error => raw.handshakeDone(conn, messageOf(error)))
      .catch(error => console.warn('rendez: a handshake could not end:', error))
  }

  /**
   * A room event property in both shapes: assigning sets the handler (and a join handler is
   * called at once for peers already there); calling the value with a function (or null) sets
   * it too, while calling it with anything else calls the handler set when it was read, so code
   * that saved the previous handler to chain it keeps working.
   */
  const eventProperty = name => {
    const set = handler => {
      if (handler !== null && handler !== undefined && typeof handler !== 'function') {
        throw rendezError(`on${name[0].toUpperCase()}${name.slice(1)} takes a function or null`, 'invalid')
      }
      handlers[name] = handler ?? null
      if (handler && name === 'peerJoin') for (const peerId of joinedPeers()) safely(handler, peerId)
    }
    const get = () => {
      const handler = handlers[name]
      return (first, ...rest) => (typeof first === 'function' || first === null || first === undefined ? set(first) : handler?.(first, ...rest))
    }
    return { get, set, enumerable: true }
  }

  function makeAction (name, config = {}) {
    const kind = config?.stream ? 'stream' : config?.kind ?? 'message'
    if (kind !== 'message' && kind !== 'request' && kind !== 'stream') throw rendezError('config.kind must be "message" or "request"', 'invalid')
    if (config?.stream && config?.kind !== undefined && config.kind !== 'message') throw rendezError('a stream action cannot be a request action', 'invalid')
    if (config && 'onRequest' in config && kind !== 'request') throw rendezError('request actions must use kind: "request"', 'invalid')
    const length = typeof name === 'string' ? new TextEncoder().encode(name).length : 0
    if (length < 1 || length > 255) throw rendezError('action name must be 1 to 255 bytes', 'invalid')
    const existing = actions.get(name)
    if (existing) {
      if (existing.kind !== kind) throw rendezError(`action "${name}" cannot be redefined as a ${kind} action`, 'invalid')
      return existing.api
    }
    const state = { request: requestAction, stream: streamAction, message: messageAction }[kind](name, config)
    actions.set(name, state)
    // Serving starts once the action is known: requests held for it are handed over at once.
    if (kind === 'request' && config?.onRequest) state.api.onRequest = config.onRequest
    return state.api
  }

  function messageAction (name, config) {
    let onMessage = config?.onMessage ?? null
    let onReceiveProgress = config?.onReceiveProgress ?? null
    let receiver = null
    let progressReceiver = null
    const unhandled = []
    let warned = false
    const deliverNow = (data, peerId, metadata) => {
      if (receiver) safely(receiver, data, peerId, metadata)
      if (onMessage) safely(onMessage, data, withMetadata({ peerId }, metadata))
    }
    const flush = () => {
      if (receiver || onMessage) for (const message of unhandled.splice(0)) deliverNow(...message)
    }
    const send = (data, second, metadata, onProgress) => {
      const options = isOptions(second) ? second : { target: second, metadata, onProgress: undefined }
      const progress = isOptions(second)
        ? second.onProgress && ((percent, peerId) => second.onProgress(percent, withMetadata({ peerId }, second.metadata)))
        : onProgress
      return (async () => {
        const bytes = await readable(data)
        return abortable(options.signal, () => raw.send(name, bytes, options.target, options.metadata, progress), id => raw.abortSend(id))
      })()
    }
    const receive = callback => { receiver = callback ?? null; flush() }
    const onProgressTuple = callback => { progressReceiver = callback ?? null }
    const api = [send, receive, onProgressTuple]
    Object.defineProperties(api, {
      send: { value: send, enumerable: true },
      onMessage: { get: () => onMessage, set: handler => { onMessage = handler ?? null; flush() }, enumerable: true },
      onReceiveProgress: { get: () => onReceiveProgress, set: handler => { onReceiveProgress = handler ?? null }, enumerable: true }
    })
    const progress = (percent, peerId, metadata) => {
      if (progressReceiver) safely(progressReceiver, percent, peerId, metadata)
      if (onReceiveProgress) safely(onReceiveProgress, percent, withMetadata({ peerId }, metadata))
    }
    return {
      kind: 'message',
      api,
      requestHandler: () => null,
      progress,
      deliver: (data, peerId, metadata) => {
        // Receivers see progress reach 1 as the whole payload arrives.
        progress(1, peerId, metadata)
        if (receiver || onMessage) return deliverNow(data, peerId, metadata)
        if (unhandled.length === MAX_UNHANDLED_MESSAGES) {
          unhandled.shift()
          if (!warned) console.warn(`rendez: action "${name}" has no receiver; keeping only its ${MAX_UNHANDLED_MESSAGES} latest messages`)
          warned = true
        }
        unhandled.push([data, peerId, metadata])
      }
    }
  }

  function streamAction (name, config) {
    const resumable = config?.resumable === true
    let onMessage = config?.onMessage ?? null
    const unhandled = []
    const flush = () => {
      if (onMessage) for (const [readable, context] of unhandled.splice(0)) safely(onMessage, readable, context)
    }
    /** Streams `source` to one peer, or to several (each reads the source on its own). */
    const send = async (source, options) => {
      const { target, metadata, signal } = options ?? {}
      const targets = typeof target === 'string' ? [target] : Array.isArray(target) && target.every(t => typeof t === 'string') ? [...new Set(target)] : []
      if (!targets.length) throw rendezError('a stream goes to options.target: a peer id, or a list of them', 'invalid')
      if (targets.length > 1 && source instanceof ReadableStream) {
        throw rendezError('a ReadableStream is read once, so it goes to one peer (a Blob, a File or bytes go to several)', 'invalid')
      }
      /** Streams `source` to `peer`, stopped by `stopping`. */
      const sendTo = async (peer, stopping) => {
        const { read, size, seekable, close } = streamSource(source, options?.size)
        try {
          return await abortable(stopping, () => raw.sendStream(name, peer, read, size, seekable, metadata), id => raw.abortStream(id))
        } finally {
          close()
        }
      }
      if (targets.length === 1) return sendTo(targets[0], signal)
      // Several: every target must be there before any stream starts, and the first failure stops the rest.
      const joined = joinedPeers()
      const absent = targets.find(peer => !joined.includes(peer))
      if (absent) throw rendezError(`no connected peer ${absent}`, 'not-connected')
      const stop = new AbortController()
      const onAbort = () => stop.abort()
      signal?.addEventListener('abort', onAbort, { once: true })
      if (signal?.aborted) stop.abort()
      let failure = null
      try {
        const sends = targets.map(peer => sendTo(peer, stop.signal).catch(error => {
          failure ??= error
          stop.abort()
          throw error
        }))
        const results = await Promise.allSettled(sends)
        if (failure) throw failure
        return results[0].value
      } finally {
        signal?.removeEventListener('abort', onAbort)
      }
    }
    /** Picks up after a reload the stream `ticket` names, of which `staged` holds the first bytes. */
    const resume = async (ticket, staged) => {
      if (!resumable) throw rendezError(`action "${name}" was not made with {resumable: true}`, 'invalid')
      if (typeof ticket !== 'string') throw rendezError('resume takes the ticket onMessage was given', 'invalid')
      if (staged !== undefined && staged !== null && !(staged instanceof Blob)) throw rendezError('the staged bytes are a Blob or a File', 'invalid')
      const size = staged?.size ?? 0
      const id = raw.adoptStream(ticket, size)
      const readable = incomingReadable(id, size)
      try {
        for (let at = 0; at < size; at += REHASH_PIECE) {
          const bytes = new Uint8Array(await staged.slice(at, Math.min(size, at + REHASH_PIECE)).arrayBuffer())
          // A stream that ended meanwhile (the sender no longer has it) has errored with why.
          if (!incomingStreams.has(id)) break
          raw.streamRehash(id, bytes)
        }
      } catch (error) {
        readable.cancel().catch(() => {})
        throw error
      }
      return readable
    }
    const api = {
      send,
      resume,
      get onMessage () { return onMessage },
      set onMessage (handler) { onMessage = handler ?? null; flush() }
    }
    return {
      kind: 'stream',
      resumable,
      api,
      requestHandler: () => null,
      progress: () => {},
      deliver: (readable, peerId, metadata, size, ticket) => {
        const context = withMetadata(size === undefined ? { peerId } : { peerId, size }, metadata)
        if (resumable) context.ticket = ticket
        if (onMessage) return safely(onMessage, readable, context)
        if (unhandled.length === MAX_UNHANDLED_STREAMS) {
          console.warn(`rendez: action "${name}" has no onMessage; cancelled a stream beyond the ${MAX_UNHANDLED_STREAMS} kept`)
          return readable.cancel()
        }
        unhandled.push([readable, context])
      }
    }
  }

  function requestAction (name, config) {
    let onRequest = null
    let onReceiveProgress = config?.onReceiveProgress ?? null
    const setHandler = handler => {
      if (handler !== null && handler !== undefined && typeof handler !== 'function') throw rendezError('onRequest takes a function or null', 'invalid')
      onRequest = handler ?? null
      raw.serve(name, onRequest !== null)
    }
    const request = async (data, options) => {
      const { target, metadata, timeoutMs, onProgress, signal } = options ?? {}
      if (typeof target !== 'string') throw rendezError('request needs options.target, a peer id', 'invalid')
      const progress = onProgress && ((percent, peerId) => onProgress(percent, withMetadata({ peerId }, metadata)))
      const bytes = await readable(data)
      return abortable(signal, () => raw.request(name, bytes, target, metadata, timeoutMs, progress), id => raw.abortRequest(id))
    }
    const requestMany = async (data, options) => {
      const { targets, onResult, ...rest } = options ?? {}
      if (!Array.isArray(targets)) throw rendezError('requestMany needs options.targets, an array of peer ids', 'invalid')
      if (rest.signal?.aborted) throw abortError()
      const bytes = await readable(data)
      return Promise.all(targets.map(async peerId => {
        let result
        try {
          result = { peerId, status: 'fulfilled', value: await request(bytes, { ...rest, target: peerId }) }
        } catch (error) {
          // Only what a peer did is a result; an abort or a bad call fails the whole call.
          if (['aborted', 'invalid', 'busy'].includes(error?.code)) throw error
          const status = { timeout: 'timeout', left: 'disconnected', 'not-connected': 'disconnected', closed: 'disconnected' }[error?.code]
          result = status ? { peerId, status } : { peerId, status: 'rejected', error }
        }
        if (onResult) safely(onResult, result)
        return result
      }))
    }
    const api = {
      request,
      requestMany,
      get onRequest () { return onRequest },
      set onRequest (handler) { setHandler(handler) },
      get onReceiveProgress () { return onReceiveProgress },
      set onReceiveProgress (handler) { onReceiveProgress = handler ?? null }
    }
    return {
      kind: 'request',
      api,
      requestHandler: () => onRequest,
      deliver: () => {},
      progress: (percent, peerId, metadata) => {
        if (onReceiveProgress) safely(onReceiveProgress, percent, withMetadata({ peerId }, metadata))
      }
    }
  }

  /** `[targets, metadata]` from either `(targets, metadata)` or `({target, metadata})`. */
  const mediaArgs = (first, metadata) => (isOptions(first) ? [first.target, first.metadata] : [first, metadata])
  /** The targets after an optional stream (the earlier `removeTrack` and `replaceTrack` forms). */
  const afterStream = (first, second) =>
    first instanceof MediaStream || ((first === null || first === undefined) && (typeof second === 'string' || Array.isArray(second) || isOptions(second)))
      ? second
      : first

  let left = false
  let freed = false
  const leave = async () => {
    if (left || freed) return
    left = true
    onLeave?.()
    raw.leave()
  }

  const room = {
    makeAction,
    ping: peerId => raw.ping(peerId),
    leave,
    /** Whether the room was joined with `passive: true`. */
    isPassive: () => passive,
    getPeers: () => raw.getPeers(),
    getRelaySockets: () => raw.getRelaySockets(),
    addStream: (stream, first, metadata) => raw.addStream(stream, ...mediaArgs(first, metadata)),
    removeStream: (stream, first) => raw.removeStream(stream, mediaArgs(first)[0]),
    addTrack: (track, stream, first, metadata) => raw.addTrack(track, stream, ...mediaArgs(first, metadata)),
    removeTrack: (track, first, second) => raw.removeTrack(track, mediaArgs(afterStream(first, second))[0]),
    replaceTrack: (oldTrack, newTrack, first, second) => raw.replaceTrack(oldTrack, newTrack, mediaArgs(afterStream(first, second))[0]),
    /**
     * Adds a listener of `event` ('peerJoin', 'peerLeave', 'peerStream', 'peerTrack' or
     * 'joinError') beside any others; a join listener is called at once for peers already
     * there. Returns the function that removes it.
     */
    on (event, listener) {
      if (!listeners[event]) throw rendezError(`unknown room event "${event}"`, 'invalid')
      if (typeof listener !== 'function') throw rendezError('a listener must be a function', 'invalid')
      listeners[event].add(listener)
      if (event === 'peerJoin') for (const peerId of joinedPeers()) safely(listener, peerId)
      return () => { listeners[event].delete(listener) }
    },
    /** Leaves the room and frees its memory (as `Symbol.dispose` does); idempotent. */
    free () {
      if (!left) onLeave?.()
      left = true
      if (freed) return
      freed = true
      raw.free()
    }
  }
  for (const name of ROOM_EVENTS) Object.defineProperty(room, `on${name[0].toUpperCase()}${name.slice(1)}`, eventProperty(name))
  if (Symbol.dispose) room[Symbol.dispose] = room.free
  return room
}
