// One page of the file benchmark (bench/files.mjs): joins a room with rendez (a stream action and
// a whole-value action) or Trystero 0.25 (a whole-value action) and sends or receives random
// payloads generated and consumed without holding them where the library allows it.
import * as rendez from '/js/torrent.js'
import * as trystero from '/bench/dist/trystero-torrent.js'

const BLOCK = 1024 * 1024
let room
let actions
const arrivals = []

/** `size` random bytes as a ReadableStream, made a MiB at a time. */
function randomStream (size) {
  let offset = 0
  return new ReadableStream({
    pull (controller) {
      if (offset >= size) return controller.close()
      const chunk = new Uint8Array(Math.min(BLOCK, size - offset))
      for (let at = 0; at < chunk.length; at += 65536) crypto.getRandomValues(chunk.subarray(at, at + 65536))
      offset += chunk.length
      controller.enqueue(chunk)
    }
  }, { highWaterMark: 0 })
}

/** `size` random bytes in one ArrayBuffer, as a whole-value send needs them. */
function randomBuffer (size) {
  const bytes = new Uint8Array(size)
  for (let at = 0; at < size; at += 65536) crypto.getRandomValues(bytes.subarray(at, at + 65536))
  return bytes.buffer
}

window.fileBench = {
  join (lib, tracker, roomId) {
    const config = { appId: 'rendez-file-bench', rtcConfig: { iceServers: [] }, relayConfig: { urls: [tracker] } }
    if (lib === 'rendez') Object.assign(config, { maxMessageSize: 2 ** 31, maxInFlightPerPeer: 2 ** 31, maxInFlight: 2 ** 31 })
    room = (lib === 'rendez' ? rendez : trystero).joinRoom(config, roomId)
    const whole = room.makeAction('whole')
    whole.onMessage = data => arrivals.push({ bytes: data.byteLength, at: performance.now() })
    actions = { whole }
    if (lib === 'rendez') {
      actions.stream = room.makeAction('stream', { stream: true })
      actions.stream.onMessage = async stream => {
        let bytes = 0
        for await (const chunk of stream) bytes += chunk.length
        arrivals.push({ bytes, at: performance.now() })
      }
    }
  },
  peers: () => Object.keys(room.getPeers()),
  /** Sends `size` random bytes to `target` as a stream or as a whole value. */
  async send (mode, target, size) {
    if (mode === 'stream') await actions.stream.send(randomStream(size), { target, size })
    else await actions.whole.send(randomBuffer(size), { target })
  },
  arrived: () => arrivals.at(-1)?.bytes ?? 0
}
