// The package as users get it: the single-file ESM from a script tag, and the `npm pack`
// tarball installed into a fresh Vite app (production build and dev server), React hooks included.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { openPeer, root, startFileServer, startTracker, suite, waitFor } from './harness.mjs'

const consumer = join(root, 'target/consumer')
// Prepared once: the production build of the Vite app (both its pages).
const env = suite(startTracker, async () => {
  execFileSync(process.execPath, [join(consumer, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'error'], { cwd: consumer, stdio: 'inherit' })
})

/** Opens `url` in a fresh context and waits until the page's `selfId` is set. */
async function open (url) {
  const context = await env.browser.newContext()
  const page = await context.newPage()
  page.on('pageerror', e => console.error('[page error]', e.message))
  await page.goto(url)
  await page.waitForFunction(() => window.selfId || document.querySelector('[data-self]'))
  const selfId = await page.evaluate(() => window.selfId || document.querySelector('[data-self]').dataset.self)
  return { page, context, selfId }
}

/** Two pages of `base` (a URL prefix) in one room meet and exchange a message. */
async function twoPagesTalk (base, room) {
  const query = `?tracker=${encodeURIComponent(env.relay.url)}&room=${room}`
  const [a, b] = await Promise.all([open(base + query), open(base + query)])
  await waitFor(a.page, id => log.joins.includes(id), b.selfId)
  await a.page.evaluate(() => send({ from: 'a', bytes: [1, 2, 3] }))
  await waitFor(b.page, () => log.received.length === 1)
  assert.deepEqual(await b.page.evaluate(() => log.received[0]), { data: { from: 'a', bytes: [1, 2, 3] }, peerId: a.selfId })
  await Promise.all([a.context.close(), b.context.close()])
}

test('the single-file ESM works from a <script type="module"> and meets a regular peer', async () => {
  const tagged = await open(`${env.files.url}/tests/e2e/script-tag.html?tracker=${encodeURIComponent(env.relay.url)}&room=tag`)
  const regular = await openPeer(env.browser, env.files.url, env.relay.url, 'tag')
  await waitFor(tagged.page, id => log.joins.includes(id), regular.selfId)
  await regular.page.evaluate(() => send('hello, script tag'))
  await waitFor(tagged.page, () => log.received.length === 1)
  assert.deepEqual(await tagged.page.evaluate(() => log.received[0]), { data: 'hello, script tag', peerId: regular.selfId })
  await Promise.all([tagged.context.close(), regular.context.close()])
})

test('the packed tarball works in a Vite production build', async () => {
  const built = await startFileServer(0, join(consumer, 'dist'))
  try {
    await twoPagesTalk(`${built.url}/index.html`, 'vite-build')
  } finally {
    built.close()
  }
})

test('the packed tarball works under the Vite dev server', async () => {
  const { createServer } = await import(pathToFileURL(join(consumer, 'node_modules/vite/dist/node/index.js')))
  const server = await createServer({ root: consumer, configFile: join(consumer, 'vite.config.js'), logLevel: 'error', server: { host: '127.0.0.1', port: 0 } })
  await server.listen()
  try {
    const { port } = server.httpServer.address()
    await twoPagesTalk(`http://127.0.0.1:${port}/index.html`, 'vite-dev')
  } finally {
    await server.close()
  }
})

test('React hooks: useRoom, usePeers, usePeerJoin, usePeerLeave and useAction in a Vite-built page', async () => {
  const built = await startFileServer(0, join(consumer, 'dist'))
  try {
    const url = `${built.url}/react.html?tracker=${encodeURIComponent(env.relay.url)}&room=react`
    const [a, b] = await Promise.all([open(url), open(url)])
    await a.page.waitForSelector(`#peers:text("${b.selfId}")`, { timeout: 20_000 })
    await b.page.waitForSelector(`#peers:text("${a.selfId}")`, { timeout: 20_000 })
    for (const { page } of [a, b]) await page.waitForSelector('#count:text-is("1")', { timeout: 20_000 })
    await b.page.waitForSelector(`#events:text-is("+${a.selfId}")`, { timeout: 20_000 })
    await a.page.fill('#text', 'hello from React')
    await a.page.click('#send')
    await b.page.waitForSelector(`#messages li:text("${a.selfId}: hello from React")`, { timeout: 20_000 })
    await b.page.waitForSelector('#received:text-is("1/0")', { timeout: 20_000 }) // one arrival, none kept
    await a.page.waitForSelector(`#watched:text-is("${b.selfId}")`, { timeout: 20_000 })
    await a.page.click('#toggle') // unmounts the chat; a's watcher still holds the room
    await new Promise(resolve => setTimeout(resolve, 1500))
    assert.equal(await a.page.textContent('#watched'), b.selfId)
    assert.equal(await b.page.textContent('#peers'), a.selfId)
    await a.page.click('#toggle-watcher') // the last useRoom of the room unmounts: it is left
    await b.page.waitForFunction(() => document.querySelector('#peers').textContent === '', undefined, { timeout: 20_000 })
    await b.page.waitForSelector('#count:text-is("0")', { timeout: 20_000 })
    await b.page.waitForSelector(`#events:text-is("+${a.selfId} -${a.selfId}")`, { timeout: 20_000 })
    await Promise.all([a.context.close(), b.context.close()])
  } finally {
    built.close()
  }
})
