// Test harness: a real WebTorrent tracker and a static file server on 127.0.0.1, and
// headless Debian Chromium driven by playwright-core.
import { spawn } from 'node:child_process'
import { createCipheriv, createHash, pbkdf2Sync, randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { createServer } from 'node:http'
import { readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { extname, join, normalize } from 'node:path'
import { fileURLToPath } from 'node:url'
import TrackerServer from 'bittorrent-tracker/server'
import { Aedes } from 'aedes'
import { WebSocketServer, createWebSocketStream } from 'ws'
import { NostrRelay } from '@nostr-relay/core'
import { EventRepository, EventUtils } from '@nostr-relay/common'
import { Validator } from '@nostr-relay/validator'
import { chromium } from 'playwright-core'
import { after, before } from 'node:test'

export const root = fileURLToPath(new URL('../..', import.meta.url))

const mime = {
  '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.wasm': 'application/wasm', '.json': 'application/json', '.css': 'text/css'
}

/**
 * Serves `dir` (default: the repository root) over HTTP on 127.0.0.1, redirecting `/` to `home`
 * when given; resolves to its base URL, a setter of `home` and a closer.
 */
export async function startFileServer (port = 0, dir = root) {
  let home = null
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname))
    if (path === '/' && home) return res.writeHead(302, { location: home }).end()
    if (path.includes('..')) return res.writeHead(400).end()
    const file = join(dir, path.endsWith('/') ? `${path}index.html` : path)
    try {
      const body = await readFile(file)
      res.writeHead(200, { 'content-type': mime[extname(file)] ?? 'application/octet-stream' }).end(body)
    } catch {
      res.writeHead(404).end()
    }
  })
  await new Promise(resolve => server.listen(port, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${server.address().port}`, setHome: url => { home = url }, close: () => server.close() }
}

/**
 * Counts a WebSocket server's traffic: `largest()` is the largest message a client sent,
 * `messages()` the WebSocket messages received and sent (what a settled room costs a relay).
 */
function countTraffic (wss) {
  let largest = 0
  let messages = 0
  wss.on('connection', socket => {
    socket.on('message', data => { largest = Math.max(largest, data.length); messages++ })
    const send = socket.send
    socket.send = function (...args) { messages++; return send.apply(this, args) }
  })
  return { largest: () => largest, messages: () => messages }
}

/**
 * The strictest limit public relays put on a WebSocket message: aquatic_ws (run by many public
 * WebTorrent trackers) closes the connection past 16 KiB (code 1009); the tests' Nostr relay
 * refuses events and the tests' broker packets past it too.
 */
export const MAX_RELAY_MESSAGE = 16 * 1024

/**
 * Starts a bittorrent-tracker WebSocket server on 127.0.0.1, as strict as aquatic_ws about
 * message size; resolves to its ws:// URL, a closer, and the traffic counters of `countTraffic`.
 */
export async function startTracker (port = 0) {
  const tracker = new TrackerServer({ udp: false, http: false, ws: { clientTracking: true, maxPayload: MAX_RELAY_MESSAGE }, stats: false })
  tracker.on('warning', () => {})
  const traffic = countTraffic(tracker.ws)
  await new Promise(resolve => tracker.listen(port, '127.0.0.1', resolve))
  const { port: bound } = tracker.ws.address()
  const close = () => {
    for (const client of tracker.ws.clients) client.terminate()
    return new Promise(resolve => tracker.close(resolve))
  }
  return { url: `ws://127.0.0.1:${bound}`, port: bound, close, ...traffic }
}

/**
 * Starts an Aedes MQTT broker with a WebSocket listener on 127.0.0.1, strict as brokers are: a
 * packet over MAX_RELAY_MESSAGE closes the connection (as brokers with a `max_packet_size` do),
 * client ids over 23 characters are refused (MQTT 3.1.1's guarantee, Aedes's default), and with
 * `refuse` every CONNECT is answered "server unavailable" (CONNACK code 3), as a full broker does.
 * Resolves to its ws:// URL, the Aedes `broker` (to publish or watch messages from a test), the
 * traffic counters of `countTraffic`, `connects()` (CONNECT packets seen) and a closer.
 */
export async function startBroker (port = 0, { refuse = false } = {}) {
  let connects = 0
  const authenticate = (client, username, password, callback) => {
    connects++
    if (!refuse) return callback(null, true)
    callback(Object.assign(new Error('server unavailable'), { returnCode: 3 }), false)
  }
  const broker = await Aedes.createBroker({ authenticate })
  const wss = new WebSocketServer({ host: '127.0.0.1', port, maxPayload: MAX_RELAY_MESSAGE, handleProtocols: protocols => protocols.has('mqtt') && 'mqtt' })
  const traffic = countTraffic(wss)
  wss.on('connection', socket => broker.handle(createWebSocketStream(socket)))
  await new Promise(resolve => wss.on('listening', resolve))
  const bound = wss.address().port
  const close = async () => {
    for (const client of wss.clients) client.terminate()
    await new Promise(resolve => wss.close(resolve))
    await new Promise(resolve => broker.close(resolve))
  }
  return { url: `ws://127.0.0.1:${bound}/mqtt`, port: bound, broker, close, connects: () => connects, ...traffic }
}

/** Keeps a Nostr relay's stored (non-ephemeral) events in memory. */
class MemoryEventRepository extends EventRepository {
  events = new Map()
  isSearchSupported () { return false }
  async upsert (event) {
    const isDuplicate = this.events.has(event.id)
    this.events.set(event.id, event)
    return { isDuplicate }
  }

  async find (filter) {
    return [...this.events.values()].filter(event => EventUtils.isMatchingFilter(event, filter)).slice(0, filter.limit ?? Infinity)
  }
}

/**
 * The rate limit of the tests' Nostr relay, per connection, as public relays apply one (e.g.
 * nostr-rs-relay's `messages_per_sec`, a GCRA limiter): a burst, then so many events per second.
 */
export const NOSTR_RATE_LIMIT = { burst: 10, perSecond: 5 }

/**
 * Starts a Nostr relay (@nostr-relay/core: NIP-01 with id and signature verification, schema
 * validation by @nostr-relay/validator, at most 20 subscriptions per connection) on 127.0.0.1,
 * as strict as public relays: WebSocket messages over 128 KiB close the connection (strfry's and
 * nostr-rs-relay's default), events over MAX_RELAY_MESSAGE are refused (`OK false`, "invalid:"),
 * and each connection is rate-limited (`NOSTR_RATE_LIMIT`; `OK false`, "rate-limited:").
 * `refuseEvents: true` refuses every event as rate-limited. Resolves to its ws:// URL, a closer,
 * the traffic counters of `countTraffic`, `refused()` (events refused) and `accepted()`.
 */
export async function startNostrRelay (port = 0, { refuseEvents = false, rateLimit = NOSTR_RATE_LIMIT } = {}) {
  const relay = new NostrRelay(new MemoryEventRepository(), { logLevel: 4 })
  const validator = new Validator()
  const wss = new WebSocketServer({ host: '127.0.0.1', port, maxPayload: 128 * 1024 })
  const traffic = countTraffic(wss)
  let refused = 0
  let accepted = 0
  const interval = 1000 / rateLimit.perSecond
  wss.on('connection', (socket, req) => {
    relay.handleConnection(socket, req.socket.remoteAddress)
    socket.on('error', () => {})
    socket.on('close', () => relay.handleDisconnect(socket))
    let nextArrival = 0
    const refusal = data => {
      if (!data.startsWith('["EVENT"')) return null
      if (refuseEvents) return 'rate-limited: refusing every event'
      if (data.length > MAX_RELAY_MESSAGE) return `invalid: event over ${MAX_RELAY_MESSAGE} bytes`
      const now = Date.now()
      const arrival = Math.max(nextArrival, now)
      if (arrival - now > interval * (rateLimit.burst - 1)) return 'rate-limited: slow down'
      nextArrival = arrival + interval
      return null
    }
    socket.on('message', async raw => {
      const data = raw.toString()
      const why = refusal(data)
      if (why) {
        refused++
        let id = ''
        try { id = JSON.parse(data)[1]?.id ?? '' } catch {}
        return socket.send(JSON.stringify(['OK', id, false, why]))
      }
      if (data.startsWith('["EVENT"')) accepted++
      try {
        await relay.handleMessage(socket, await validator.validateIncomingMessage(raw))
      } catch (e) {
        socket.send(JSON.stringify(['NOTICE', e.message]))
      }
    })
  })
  await new Promise(resolve => wss.on('listening', resolve))
  const bound = wss.address().port
  const close = async () => {
    for (const client of wss.clients) client.terminate()
    await new Promise(resolve => wss.close(resolve))
    await relay.destroy()
  }
  return { url: `ws://127.0.0.1:${bound}`, port: bound, close, refused: () => refused, accepted: () => accepted, ...traffic }
}

/**
 * Starts a TURN server (Debian's coturn `turnserver`, UDP only) on 127.0.0.1 with one long-term
 * credential user; resolves, once it answers a STUN binding request, to an RTCIceServer
 * (`urls`, `username`, `credential`) and a closer.
 */
export async function startTurnServer () {
  const port = await freeUdpPort()
  const dir = await mkdtemp(join(tmpdir(), 'rendez-turn-'))
  const server = spawn('turnserver', [
    '-n', '--listening-ip=127.0.0.1', '--relay-ip=127.0.0.1', `--listening-port=${port}`, '--allow-loopback-peers',
    '--lt-cred-mech', '--user=rendez:turn-secret', '--realm=rendez.test', '--no-tls', '--no-dtls', '--no-cli',
    '--fingerprint', '--log-file=stdout', `--pidfile=${join(dir, 'turnserver.pid')}`, `--userdb=${join(dir, 'turndb')}`
  ], { stdio: 'ignore' })
  const failed = new Promise((resolve, reject) => server.once('error', e => reject(new Error(`cannot start turnserver (Debian package coturn): ${e.message}`))))
  const exited = new Promise(resolve => server.once('exit', resolve))
  const close = async () => {
    if (server.exitCode === null && server.pid) {
      server.kill()
      await exited
    }
    await rm(dir, { recursive: true, force: true })
  }
  try {
    await Promise.race([stunAnswers(port), failed])
  } catch (e) {
    await close()
    throw e
  }
  return { urls: `turn:127.0.0.1:${port}?transport=udp`, username: 'rendez', credential: 'turn-secret', close }
}

async function freeUdpPort () {
  const socket = createSocket('udp4')
  await new Promise(resolve => socket.bind(0, '127.0.0.1', resolve))
  const { port } = socket.address()
  await new Promise(resolve => socket.close(resolve))
  return port
}

/** Resolves once a STUN server on 127.0.0.1:`port` answers a binding request (RFC 5389), within 10 s. */
async function stunAnswers (port) {
  const socket = createSocket('udp4')
  const request = Buffer.concat([Buffer.from([0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42]), randomBytes(12)])
  try {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no STUN answer on 127.0.0.1:${port}`)), 10_000)
      const retry = setInterval(() => socket.send(request, port, '127.0.0.1'), 100)
      socket.on('message', answer => {
        if (answer.readUInt16BE(0) === 0x0101 && answer.subarray(8, 20).equals(request.subarray(8, 20))) {
          clearTimeout(timer)
          clearInterval(retry)
          resolve()
        }
      })
    })
  } finally {
    socket.close()
  }
}

/**
 * Seals `plaintext` for the room as the library does (src/crypto.rs): AES-256-GCM under a key
 * from PBKDF2-HMAC-SHA256 (100,000 rounds) over the password or appId and roomId, the salt
 * bound to appId and roomId; base64 of nonce, ciphertext and tag, with `context` authenticated.
 */
export function sealForRoom ({ appId, roomId, password }, plaintext, context) {
  const salt = createHash('sha256').update(`rendez/salt/v1\0${appId}\0${roomId}`).digest()
  const key = pbkdf2Sync(password ?? `${appId}\0${roomId}`, salt, 100_000, 32, 'sha256')
  const nonce = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, nonce).setAAD(Buffer.from(context))
  const sealed = Buffer.concat([nonce, cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()])
  return sealed.toString('base64')
}

export const chromiumArgs = [
  '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-quic',
  // Peers on one machine: gather 127.0.0.1 host candidates, unobfuscated.
  '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns',
  // Media tests: a fake camera and microphone, granted without a prompt.
  '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', '--autoplay-policy=no-user-gesture-required'
]

/** Launches headless Debian Chromium with a fresh profile (and `extraArgs`). */
export function launchBrowser (extraArgs = []) {
  return chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: [...chromiumArgs, ...extraArgs] })
}

/**
 * Proportional set size (bytes) of the browser launched with `marker` among its arguments and of
 * every process it started (renderers, GPU, network): the memory of that one browser.
 */
export function browserMemory (marker) {
  const parents = new Map()
  let root
  for (const pid of readdirSync('/proc').filter(name => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      parents.set(pid, stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (!root && readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(marker)) root = pid
    } catch {}
  }
  const inTree = pid => {
    for (let p = pid; p && p !== '0' && p !== '1'; p = parents.get(p)) if (p === root) return true
    return false
  }
  let total = 0
  for (const pid of parents.keys()) {
    if (!root || !inTree(pid)) continue
    try {
      const pss = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').match(/^Pss:\s+(\d+) kB/m)
      total += Number(pss?.[1] ?? 0) * 1024
    } catch {}
  }
  return total
}

/**
 * Opens a page in its own browser context (its own origin storage, like another user),
 * loads the library and joins `roomId`. In the page: `room`, `send` for the `echo` action,
 * `log` (joins, leaves, echo arrivals, ms from joinRoom to each join, onJoinError events), `track(name)` to register an action whose arrivals and
 * progress are kept in `tracked[name]`, `channelOf(peerId)` giving the raw data channel to a
 * peer, `inject(peerId, bytes)` sending a room frame on it as the library does (after the room's
 * tag, learned from the library's own messages; see src/hub.rs), `remoteDescriptions` counting setRemoteDescription calls, `candidatesAdded` counting
 * addIceCandidate calls,
 * `connectionsMade` counting the library's peer connections;
 * `log.streams` and `log.tracks` record onPeerStream and onPeerTrack. Console warnings are
 * collected in `warnings`.
 * Resolves to `{page, context, selfId, warnings}`.
 */
export async function openPeer (browser, baseUrl, relayUrl, roomId, config = {}, strategy = 'torrent') {
  const context = await browser.newContext()
  const page = await context.newPage()
  const warnings = []
  page.on('pageerror', e => console.error('[page error]', e.message))
  page.on('console', m => { if (m.type() === 'warning') warnings.push(m.text()) })
  await page.addInitScript(() => {
    const channels = new Map()
    const create = RTCPeerConnection.prototype.createDataChannel
    window.connectionsMade = 0
    const tags = new WeakMap()
    RTCPeerConnection.prototype.createDataChannel = function (...args) {
      const channel = create.apply(this, args)
      channels.set(this, channel)
      const send = channel.send
      channel.send = function (data) {
        if (ArrayBuffer.isView(data) && data.byteLength > 8 && !tags.has(channel)) {
          const tag = new Uint8Array(data.buffer, data.byteOffset, 8).slice()
          if (tag.some(b => b !== 0)) tags.set(channel, tag)
        }
        return send.call(this, data)
      }
      window.connectionsMade++
      return channel
    }
    window.channelOf = peerId => channels.get(window.room.getPeers()[peerId])
    window.inject = (peerId, bytes) => {
      const channel = window.channelOf(peerId)
      const message = new Uint8Array(8 + bytes.length)
      message.set(tags.get(channel))
      message.set(bytes, 8)
      channel.send(message)
    }
    window.candidatesAdded = 0
    const addCandidate = RTCPeerConnection.prototype.addIceCandidate
    RTCPeerConnection.prototype.addIceCandidate = function (...args) {
      window.candidatesAdded++
      return addCandidate.apply(this, args)
    }
    window.remoteDescriptions = 0
    const setRemote = RTCPeerConnection.prototype.setRemoteDescription
    RTCPeerConnection.prototype.setRemoteDescription = function (...args) {
      window.remoteDescriptions++
      return setRemote.apply(this, args)
    }
  })
  await page.goto(`${baseUrl}/tests/e2e/page.html`)
  const selfId = await joinInPage(page, relayUrl, roomId, config, strategy)
  return { page, context, selfId, warnings }
}

/** Joins `roomId` in `page` as `openPeer` does; resolves to its peer id. */
function joinInPage (page, relayUrl, roomId, config, strategy) {
  return page.evaluate(async ({ relayUrl, roomId, config, strategy }) => {
    const { joinRoom, selfId } = await import(`/js/${strategy}.js`)
    const log = { joins: [], leaves: [], received: [], joinMs: {}, joinErrors: [], streams: [], tracks: [] }
    const startedAt = performance.now()
    const room = joinRoom({ appId: 'rendez-e2e', relayUrls: [relayUrl], rtcConfig: { iceServers: [] }, ...config }, roomId, {
      onJoinError: e => log.joinErrors.push(e)
    })
    room.onPeerJoin(id => { log.joins.push(id); log.joinMs[id] = performance.now() - startedAt })
    room.onPeerLeave(id => log.leaves.push(id))
    room.onPeerStream((stream, peerId, metadata) => log.streams.push({ stream, peerId, metadata }))
    room.onPeerTrack((track, stream, peerId, metadata) => log.tracks.push({ track, stream, peerId, metadata }))
    const [send, receive] = room.makeAction('echo')
    receive((data, peerId, metadata) => log.received.push({ data, peerId, metadata }))
    const tracked = {}
    const track = name => {
      const [send, receive, onProgress] = room.makeAction(name)
      const entry = { send, received: [], progress: [] }
      receive((data, peerId, metadata) => entry.received.push({ data, peerId, metadata }))
      onProgress((percent, peerId, metadata) => entry.progress.push({ percent, peerId, metadata }))
      tracked[name] = entry
    }
    Object.assign(window, { log, room, send, track, tracked })
    return selfId
  }, { relayUrl, roomId, config, strategy })
}

/**
 * Reloads the page of `peer` (opened by `openPeer`) and joins `roomId` again: the page's
 * storage stays, its peer id changes. Resolves to the new peer id.
 */
export async function reloadPeer (peer, relayUrl, roomId, config = {}, strategy = 'torrent') {
  await peer.page.reload()
  peer.selfId = await joinInPage(peer.page, relayUrl, roomId, config, strategy)
  return peer.selfId
}

/**
 * Opens a page that joins `roomId` with Trystero 0.25's shape: `room.onPeerJoin = …`, and in the
 * page `log` (joins, leaves, joinErrors), `room`, and `joinAnother(roomId, config?)` joining
 * another room of the same app and relay. `handshake` names an `onPeerHandshake` set
 * up in the page: 'password' (a challenge answered with `config.secret`) or 'silent' (never ends).
 */
export async function openModern (browser, baseUrl, relayUrl, roomId, { config = {}, handshake, strategy = 'torrent' } = {}) {
  const context = await browser.newContext()
  const page = await context.newPage()
  page.on('pageerror', e => console.error('[page error]', e.message))
  await page.goto(`${baseUrl}/tests/e2e/page.html`)
  const selfId = await page.evaluate(async ({ relayUrl, roomId, config, handshake, strategy }) => {
    const { joinRoom, selfId } = await import(`/js/${strategy}.js`)
    const log = { joins: [], leaves: [], joinErrors: [], handshakes: [] }
    const handshakes = {
      password: async (peerId, send, receive, isInitiator) => {
        log.handshakes.push({ peerId, isInitiator, peersDuring: Object.keys(room.getPeers()) })
        if (isInitiator) {
          await send({ challenge: 'who goes there' }, { step: 1 })
          const { data, metadata } = await receive()
          if (data.answer !== config.secret || metadata.step !== 2) throw new Error('wrong answer')
        } else {
          const { data } = await receive()
          if (data.challenge !== 'who goes there') throw new Error('no challenge')
          await send({ answer: config.secret }, { step: 2 })
        }
      },
      silent: () => new Promise(() => {})
    }
    const callbacks = { onJoinError: e => log.joinErrors.push(e), handshakeTimeoutMs: config.handshakeTimeoutMs }
    if (handshake) callbacks.onPeerHandshake = handshakes[handshake]
    const settings = { appId: 'rendez-e2e', relayConfig: { urls: [relayUrl] }, rtcConfig: { iceServers: [] }, ...config }
    const room = joinRoom(settings, roomId, callbacks)
    window.joinAnother = (otherRoomId, extra = {}) => joinRoom({ ...settings, ...extra }, otherRoomId)
    room.onPeerJoin = id => log.joins.push(id)
    room.onPeerLeave = id => log.leaves.push(id)
    Object.assign(window, { log, room })
    return selfId
  }, { relayUrl, roomId, config, handshake, strategy })
  return { page, context, selfId }
}

/** Waits until `fn(arg)` is truthy in `page`. */
export const waitFor = (page, fn, arg, timeout = 20_000) => page.waitForFunction(fn, arg, { timeout })

/** Opens `count` peers in `roomId` and waits until each has met all the others. */
export async function openMesh (browser, baseUrl, relayUrl, roomId, count, config = {}, strategy = 'torrent') {
  const peers = await Promise.all(Array.from({ length: count }, () => openPeer(browser, baseUrl, relayUrl, roomId, config, strategy)))
  for (const peer of peers) {
    const others = peers.filter(p => p !== peer).map(p => p.selfId)
    await waitFor(peer.page, ids => ids.every(id => log.joins.includes(id)), others)
  }
  return peers
}

/** Builds a data frame as the wire format documents it (src/frame.rs), as an array of bytes. */
export function dataFrame ({ transfer, seq, action, total, kind = 3, meta = null, payload = [] }) {
  const enc = new TextEncoder()
  const u32 = n => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]
  const u64 = n => [...u32(Math.floor(n / 2 ** 32)), ...u32(n >>> 0)]
  const head = [1, ...u32(transfer), ...u32(seq)]
  if (seq === 0) {
    const name = enc.encode(action)
    head.push(name.length, ...name, ...u64(total), kind)
    if (meta === null) head.push(255, 255, 255, 255)
    else { const m = enc.encode(meta); head.push(...u32(m.length), ...m) }
  }
  return [head.length >> 8, head.length & 255, ...head, ...payload]
}

/**
 * Waits until `peer` logged at least `count` console warnings starting with `rendez:` (console
 * events reach the test asynchronously) and returns them.
 */
export async function rendezWarnings (peer, count, timeout = 10_000) {
  const deadline = Date.now() + timeout
  const matching = () => peer.warnings.filter(w => w.startsWith('rendez:'))
  while (matching().length < count && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 50))
  return matching()
}

/**
 * Registers a test file's before/after hooks: headless Chromium, the file server and the relay
 * `startRelay` starts, then `prepare(env)` if given. Returns `{browser, files, relay}`, filled in
 * once `before` has run; a test that restarts the relay assigns `env.relay` anew, and the new one
 * is closed after the file.
 */
export function suite (startRelay = startTracker, prepare = async () => {}) {
  const env = {}
  before(async () => {
    ;[env.browser, env.files, env.relay] = await Promise.all([launchBrowser(), startFileServer(), startRelay()])
    await prepare(env)
  })
  after(async () => {
    await env.browser?.close()
    env.files?.close()
    await env.relay?.close()
  })
  return env
}
