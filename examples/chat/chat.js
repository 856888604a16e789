// A two-person (or more) chat and file drop: rooms are 6-character codes, the URL keeps
// ?code= so a refresh rejoins, chat messages and files share one timeline. Files are streamed to
// OPFS with speed and ETA, verified by SHA-256, and resumed after a refresh.
import { joinRoom, selfId } from '../../js/torrent.js'

const CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789' // no 0/O, 1/I/L
const $ = id => document.getElementById(id)
const params = new URLSearchParams(location.search)
const tracker = params.get('tracker')

function newCode () {
  const bytes = crypto.getRandomValues(new Uint8Array(6))
  return Array.from(bytes, b => CODE_ALPHABET[b % CODE_ALPHABET.length]).join('')
}

function enter (code) {
  params.set('code', code)
  history.replaceState(null, '', `?${params}`)
  start(code)
}

$('create').onclick = () => enter(newCode())
$('join-form').onsubmit = event => {
  event.preventDefault()
  const code = $('join-code').value.trim().toUpperCase()
  if (/^[A-Z0-9]{6}$/.test(code)) enter(code)
}
$('lobby-controls').disabled = false // enabled once the library has loaded and the handlers are set
if (params.get('code')) start(params.get('code').toUpperCase())

function start (code) {
  $('lobby').hidden = true
  $('room').hidden = false
  $('code').textContent = code
  $('me').textContent = short(selfId)
  $('share-link').value = location.href
  $('copy').onclick = () => navigator.clipboard?.writeText(location.href)

  const room = joinRoom({ appId: 'rendez-chat-example', ...(tracker && { relayUrls: [tracker] }) }, code)
  const [sendText, onText] = room.makeAction('text')
  // Files are streamed, never held whole: the receiver writes them to OPFS as they arrive, and a
  // refresh picks an unfinished one up where its staged bytes end.
  const files = room.makeAction('files', { stream: true, resumable: true })
  const pending = pendingFiles(code)

  const showPeers = () => {
    const count = Object.keys(room.getPeers()).length
    $('peers').textContent = count ? `${count} peer${count > 1 ? 's' : ''} connected` : 'waiting for someone to join…'
  }
  room.onPeerJoin(id => { system(`${short(id)} joined`); showPeers() })
  room.onPeerLeave(id => { system(`${short(id)} left`); showPeers() })

  onText((text, id) => entry(`${short(id)}: ${text}`))

  // Staging left by earlier visits goes first; streams arriving meanwhile wait for onMessage.
  const staging = stagingOf(code)
  // Each arriving file is staged under a key of our own (not the sender's metadata).
  staging.keepOnly(pending.all().map(([key]) => key)).then(() => {
    files.onMessage = (stream, { peerId, metadata, ticket }) => {
      const key = crypto.randomUUID()
      pending.set(key, { ticket, peerId, metadata })
      receive(stream, key, peerId, metadata, 0)
    }
    for (const [key, { ticket, peerId, metadata }] of pending.all()) resume(key, ticket, peerId, metadata)
  })

  async function resume (key, ticket, peerId, metadata) {
    const staged = await staging.file(key)
    system(`resuming ${metadata.name} from ${formatSize(staged.size)}`)
    try {
      receive(await files.resume(ticket, staged), key, peerId, metadata, staged.size)
    } catch (e) {
      pending.delete(key)
      system(`${metadata.name} cannot be resumed: ${e.message}`)
    }
  }

  /** Writes `stream` (the bytes of a file from `offset` on) to OPFS as file `key`, showing speed and ETA. */
  async function receive (stream, key, peerId, metadata, offset) {
    const li = entry(`${short(peerId)} sends ${metadata.name} (${formatSize(metadata.size)}) `)
    li.classList.add('file-in')
    const progress = li.appendChild(document.createElement('progress'))
    const status = li.appendChild(document.createElement('span'))
    const meter = rateMeter(offset, metadata.size)
    try {
      await staging.append(stream, key, received => {
        progress.value = received / metadata.size
        status.textContent = ` ${meter(received)}`
      })
      progress.value = 1
      status.textContent = ' verified'
      pending.delete(key)
      saveButtons(li, await staging.file(key), metadata)
    } catch (e) {
      status.textContent = ` failed: ${e.message}`
    }
  }

  $('compose').onsubmit = event => {
    event.preventDefault()
    const text = $('text').value.trim()
    if (!text) return
    sendText(text)
    entry(`me: ${text}`, 'me')
    $('text').value = ''
  }

  $('file').onchange = async () => {
    const file = $('file').files[0]
    if (!file) return
    $('file').value = ''
    const metadata = { name: file.name, type: file.type, size: file.size }
    const li = entry(`me: ${file.name} (${formatSize(file.size)}) `, 'me')
    li.classList.add('file-out')
    const status = li.appendChild(document.createElement('span'))
    const targets = Object.keys(room.getPeers())
    status.textContent = targets.length ? 'sending…' : 'nobody to send to'
    const results = await Promise.allSettled(targets.map(target => files.send(file, { target, metadata })))
    const failed = results.filter(r => r.status === 'rejected')
    status.textContent = failed.length
      ? `failed for ${failed.length} of ${targets.length}: ${failed[0].reason.message}`
      : targets.length ? `delivered and verified (${targets.length} peer${targets.length > 1 ? 's' : ''})` : status.textContent
  }
}

/** Files of room `code` still arriving, by staging key, kept in `localStorage` so a refresh can resume them. */
function pendingFiles (code) {
  const key = `rendez-chat/pending/${code}`
  const read = () => JSON.parse(localStorage.getItem(key) ?? '{}')
  const write = all => localStorage.setItem(key, JSON.stringify(all))
  return {
    all: () => Object.entries(read()),
    set: (key, entry) => write({ ...read(), [key]: entry }),
    delete: key => {
      const { [key]: _, ...rest } = read()
      write(rest)
    }
  }
}

const PART = 1024 * 1024
const partName = index => `part-${String(index).padStart(6, '0')}`

/**
 * The files of room `code` staged in OPFS, each a directory of numbered parts of about 1 MiB.
 * Each part is committed once written, so a refresh loses at most the part being written.
 */
function stagingOf (code) {
  const roomDir = async () => {
    const root = await (await navigator.storage.getDirectory()).getDirectoryHandle('rendez-chat', { create: true })
    return root.getDirectoryHandle(code, { create: true })
  }
  const dirOf = async id => (await roomDir()).getDirectoryHandle(id, { create: true })
  const partCount = async dir => {
    let count = 0
    while (await dir.getFileHandle(partName(count)).then(() => true, () => false)) count++
    return count
  }
  /** The staged bytes of file `id` as one `Blob` backed by the parts (nothing read into memory). */
  const file = async id => {
    const dir = await dirOf(id)
    const parts = []
    for (let i = 0, count = await partCount(dir); i < count; i++) parts.push(await (await dir.getFileHandle(partName(i))).getFile())
    return new Blob(parts)
  }
  return {
    file,
    /** Appends `stream` to file `id`, calling `onBytes` with the bytes staged after each part. */
    async append (stream, id, onBytes) {
      const dir = await dirOf(id)
      let index = await partCount(dir)
      let staged = (await file(id)).size
      let part = []
      let length = 0
      const flush = async () => {
        const writable = await (await dir.getFileHandle(partName(index), { create: true })).createWritable()
        await writable.write(new Blob(part))
        await writable.close()
        index++
        staged += length
        part = []
        length = 0
        onBytes(staged)
      }
      for await (const chunk of stream) {
        part.push(chunk)
        length += chunk.length
        if (length >= PART) await flush()
      }
      if (length) await flush()
    },
    /** Removes the files of earlier visits other than `ids` (those still to resume). */
    async keepOnly (ids) {
      const dir = await roomDir()
      for await (const name of dir.keys()) if (!ids.includes(name)) await dir.removeEntry(name, { recursive: true })
    }
  }
}

/** A function of the bytes received so far giving the speed and time left since `start` bytes. */
function rateMeter (start, total) {
  const startedAt = performance.now()
  return received => {
    const seconds = (performance.now() - startedAt) / 1000
    const rate = (received - start) / Math.max(seconds, 0.001)
    const left = rate > 0 ? Math.round((total - received) / rate) : Infinity
    const eta = Number.isFinite(left) ? `${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')} left` : ''
    return `${formatSize(rate)}/s ${eta}`
  }
}

/** A download link for a finished file, and "Save as…" where the browser has a save picker. */
function saveButtons (li, blob, metadata) {
  const typed = new Blob([blob], { type: metadata.type })
  const a = Object.assign(document.createElement('a'), { href: URL.createObjectURL(typed), download: metadata.name, textContent: ' Save', className: 'save' })
  li.append(a)
  if (!window.showSaveFilePicker) return
  const button = Object.assign(document.createElement('button'), { textContent: 'Save as…', className: 'save-as' })
  button.onclick = async () => {
    const handle = await showSaveFilePicker({ suggestedName: metadata.name })
    await blob.stream().pipeTo(await handle.createWritable())
  }
  li.append(' ', button)
}

function entry (text, kind) {
  const li = document.createElement('li')
  li.textContent = text
  if (kind) li.className = kind
  $('timeline').append(li)
  return li
}

function system (text) {
  entry(text, 'system')
}

function short (id) {
  return id.slice(0, 6)
}

function formatSize (n) {
  return n < 1024 ? `${n} B` : n < 1 << 20 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / (1 << 20)).toFixed(1)} MiB`
}
