// A two-person (or more) chat and file drop: rooms are 6-character codes, the URL keeps
// ?code= so a refresh rejoins, chat messages and files share one timeline.
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
  const [sendFile, onFile, onFileProgress] = room.makeAction('file')
  const incoming = new Map() // file id → timeline entry of a file still arriving

  const showPeers = () => {
    const count = Object.keys(room.getPeers()).length
    $('peers').textContent = count ? `${count} peer${count > 1 ? 's' : ''} connected` : 'waiting for someone to join…'
  }
  room.onPeerJoin(id => { system(`${short(id)} joined`); showPeers() })
  room.onPeerLeave(id => { system(`${short(id)} left`); showPeers() })

  onText((text, id) => entry(`${short(id)}: ${text}`))
  onFileProgress((percent, id, meta) => fileEntry(meta, id).progress.value = percent)
  onFile((data, id, meta) => {
    const item = fileEntry(meta, id)
    item.progress.value = 1
    saveLink(item.li, new Blob([data], { type: meta.type }), meta.name)
    incoming.delete(meta.id)
  })

  function fileEntry (meta, id) {
    if (!incoming.has(meta.id)) {
      const li = entry(`${short(id)} sends ${meta.name} (${formatSize(meta.size)}) `)
      li.classList.add('file-in')
      incoming.set(meta.id, { li, progress: li.appendChild(document.createElement('progress')) })
    }
    return incoming.get(meta.id)
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
    const meta = { id: crypto.randomUUID(), name: file.name, type: file.type, size: file.size }
    const li = entry(`me: ${file.name} (${formatSize(file.size)}) `, 'me')
    li.classList.add('file-out')
    const progress = li.appendChild(document.createElement('progress'))
    try {
      await sendFile(file, null, meta, percent => { progress.value = percent })
      progress.value = 1
      saveLink(li, file, file.name)
    } catch (e) {
      li.append(` failed: ${e.message}`)
    }
  }
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

function saveLink (li, blob, name) {
  const a = Object.assign(document.createElement('a'), { href: URL.createObjectURL(blob), download: name, textContent: ' Save', className: 'save' })
  li.append(a)
}

function short (id) {
  return id.slice(0, 6)
}

function formatSize (n) {
  return n < 1024 ? `${n} B` : n < 1 << 20 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / (1 << 20)).toFixed(1)} MiB`
}
