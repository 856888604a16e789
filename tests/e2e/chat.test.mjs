// The chat example on two pages: create a room, share the link, chat both ways, send a 20 MiB
// file that arrives byte-identical, rejoin after a refresh, and a file whose receiver refreshes
// mid-way resumed from OPFS.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { root, suite } from './harness.mjs'

const env = suite()
const pageErrors = []

async function open (url) {
  const context = await env.browser.newContext({ acceptDownloads: true })
  const page = await context.newPage()
  page.on('pageerror', e => pageErrors.push(e.message))
  await page.goto(url)
  return { page, context }
}

const sha256 = bytes => createHash('sha256').update(bytes).digest('hex')
const timeout = { timeout: 30_000 }

test('two people chat, share a 20 MiB file, and a refresh rejoins the room', async () => {
  const a = await open(`${env.files.url}/examples/chat/?tracker=${encodeURIComponent(env.relay.url)}`)
  await a.page.click('#create')
  const code = await a.page.textContent('#code')
  assert.match(code, /^[A-HJ-NP-Z2-9]{6}$/)
  assert.equal(new URL(a.page.url()).searchParams.get('code'), code)
  assert.ok(await a.page.isHidden('#lobby'), 'the lobby gives way to the room')

  const link = await a.page.inputValue('#share-link')
  const b = await open(link)
  // The page fills in the code once its module (and the wasm it awaits) has run, which may be after `load`.
  await b.page.waitForSelector(`#code:text-is("${code}")`, timeout)
  for (const { page } of [a, b]) await page.waitForSelector('#peers:text("1 peer connected")', timeout)

  await a.page.fill('#text', 'hi from a')
  await a.page.press('#text', 'Enter')
  await b.page.waitForSelector('#timeline li:text-matches(": hi from a$")', timeout)
  await b.page.fill('#text', 'hello back')
  await b.page.click('#compose button')
  await a.page.waitForSelector('#timeline li:text-matches(": hello back$")', timeout)

  const data = Buffer.alloc(20 * 1024 * 1024)
  for (let i = 0; i < data.length; i += 4) data.writeUInt32LE((i * 2654435761) >>> 0, i)
  await a.page.setInputFiles('#file', { name: 'data.bin', mimeType: 'application/octet-stream', buffer: data })
  await b.page.waitForSelector('li.file-in a.save', { timeout: 120_000 })
  await a.page.waitForFunction(() => document.querySelector('li.file-out')?.textContent.endsWith('delivered and verified (1 peer)'), undefined, { timeout: 120_000 })
  assert.equal(await b.page.evaluate(() => document.querySelector('li.file-in progress').value), 1)
  assert.match(await b.page.textContent('li.file-in'), /data\.bin \(20\.0 MiB\) +verified/)
  const [download] = await Promise.all([b.page.waitForEvent('download'), b.page.click('li.file-in a.save')])
  assert.equal(download.suggestedFilename(), 'data.bin')
  assert.equal(sha256(await readFile(await download.path())), sha256(data))

  await a.page.reload()
  await a.page.waitForSelector(`#code:text-is("${code}")`, timeout)
  await a.page.waitForSelector('#peers:text("1 peer connected")', timeout)
  await b.page.waitForSelector('#timeline li.system:text-matches("left$")', timeout)
  await a.page.fill('#text', 'back after refresh')
  await a.page.press('#text', 'Enter')
  await b.page.waitForSelector('#timeline li:text-matches(": back after refresh$")', timeout)
  assert.deepEqual(pageErrors, [])
  await Promise.all([a.context.close(), b.context.close()])
})

test('a file whose receiver refreshes mid-way resumes from what it staged in OPFS and arrives byte-identical', async () => {
  const a = await open(`${env.files.url}/examples/chat/?tracker=${encodeURIComponent(env.relay.url)}`)
  await a.page.click('#create')
  const b = await open(await a.page.inputValue('#share-link'))
  for (const { page } of [a, b]) await page.waitForSelector('#peers:text("1 peer connected")', timeout)
  // Files over 50 MiB go to the page by path (the page reads the file as it sends).
  const data = Buffer.alloc(64 * 1024 * 1024)
  for (let i = 0; i < data.length; i += 4) data.writeUInt32LE((i * 2246822519) >>> 0, i)
  const dir = await mkdtemp(join(tmpdir(), 'rendez-chat-'))
  await writeFile(join(dir, 'big.bin'), data)
  await a.page.setInputFiles('#file', join(dir, 'big.bin'))
  await b.page.waitForFunction(() => document.querySelector('li.file-in progress')?.value > 0.3, undefined, { timeout: 120_000 })
  assert.match(await b.page.textContent('li.file-in span'), /\/s \d+:\d\d left$/, 'speed and time left')
  await b.page.reload()
  await b.page.waitForSelector('#timeline li.system:text-matches("^resuming big.bin from [0-9.]+ MiB$")', timeout)
  await b.page.waitForSelector('li.file-in a.save', { timeout: 120_000 })
  await a.page.waitForFunction(() => document.querySelector('li.file-out')?.textContent.endsWith('delivered and verified (1 peer)'), undefined, { timeout: 120_000 })
  const [download] = await Promise.all([b.page.waitForEvent('download'), b.page.click('li.file-in a.save')])
  assert.equal(sha256(await readFile(await download.path())), sha256(data))
  assert.deepEqual(pageErrors, [])
  await Promise.all([a.context.close(), b.context.close()])
  await rm(dir, { recursive: true })
})

test('the example server (npm run example) opens the chat at its home address, on its own tracker', async () => {
  const server = spawn(process.execPath, [join(root, 'scripts/serve-example.mjs')], {
    env: { ...process.env, PORT: '0', TRACKER_PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  try {
    let printed = ''
    const home = await new Promise((resolve, reject) => {
      setTimeout(() => reject(new Error(`the example server printed no address within 30 s: ${printed}`)), 30_000).unref()
      server.on('exit', code => reject(new Error(`the example server exited (${code}): ${printed}`)))
      server.stdout.on('data', chunk => {
        printed += chunk
        const url = printed.match(/(http:\/\/127\.0\.0\.1:\d+\/) /)
        if (url && printed.includes('Ctrl-C stops.')) resolve(url[1])
      })
    })
    const a = await open(home)
    assert.match(a.page.url(), /\/examples\/chat\/\?tracker=ws/)
    await a.page.click('#create')
    const b = await open(await a.page.inputValue('#share-link'))
    for (const { page } of [a, b]) await page.waitForSelector('#peers:text("1 peer connected")', timeout)
    assert.deepEqual(pageErrors, [])
    await Promise.all([a.context.close(), b.context.close()])
  } finally {
    server.kill()
  }
})

test('the basic example: two pages list each other and chat', async () => {
  const url = `${env.files.url}/examples/basic/?room=basic&tracker=${encodeURIComponent(env.relay.url)}`
  const [a, b] = await Promise.all([open(url), open(url)])
  const selfIdOf = async ({ page }) => {
    await page.waitForFunction(() => document.querySelector('#me').textContent !== '')
    return page.textContent('#me')
  }
  const [aId, bId] = await Promise.all([selfIdOf(a), selfIdOf(b)])
  await a.page.waitForSelector(`#peers:text-is("${bId}")`, timeout)
  await b.page.waitForSelector(`#peers:text-is("${aId}")`, timeout)
  await a.page.fill('#text', 'hello basic')
  await a.page.press('#text', 'Enter')
  await b.page.waitForFunction(line => document.querySelector('#log').textContent.includes(line), `${aId}: hello basic`, timeout)
  assert.deepEqual(pageErrors, [])
  await Promise.all([a.context.close(), b.context.close()])
})
