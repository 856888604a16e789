// The rendez command line against a local tracker: a directory (nested files, one of 20 MiB, one
// empty) from one terminal to another arrives identical; a 200 MiB file arrives identical after
// the receiving command line is killed at a third and run again; a file from the command line to a
// Chromium page on the chat example's stream action, and one from the page to the command line,
// arrive byte-identical; a name that would leave the output directory is refused; the same
// password meets, and a wrong one, no sender and a malformed code end with clear errors and
// distinct exit codes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { openPeer, root, suite, waitFor } from './harness.mjs'

const env = suite()
const rendez = join(root, 'target/debug/rendez')
const CHAT = { appId: 'rendez-chat-example' }

/** Runs the command line; resolves with its exit code and output once it exits. `onLine` sees stdout lines. */
function run (args, onLine = () => {}) {
  const child = spawn(rendez, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', d => { stdout += d; for (const line of String(d).split('\n').filter(Boolean)) onLine(line) })
  child.stderr.on('data', d => { stderr += d })
  return new Promise(resolve => child.on('exit', code => resolve({ code, stdout, stderr })))
}

/** Starts `rendez send …` (`-q` unless `quiet` is false); resolves with the code it printed and the promise of its end. */
function send (args, { quiet = true } = {}) {
  let codeSeen
  const printed = new Promise(resolve => { codeSeen = resolve })
  const onLine = line => {
    const code = quiet ? line.trim() : line.match(/rendez recv ([A-Z0-9]{6})/)?.[1]
    if (code) codeSeen(code)
  }
  const done = run(['send', ...(quiet ? ['-q'] : []), '--relay', env.relay.url, ...args], onLine)
  return printed.then(code => ({ code, done }))
}

const sha256 = bytes => createHash('sha256').update(bytes).digest('hex')

/** Every file under `dir`, by relative path, with its SHA-256. */
function tree (dir) {
  const files = {}
  const walk = at => {
    for (const name of readdirSync(at)) {
      const path = join(at, name)
      if (statSync(path).isDirectory()) walk(path)
      else files[relative(dir, path)] = sha256(readFileSync(path))
    }
  }
  walk(dir)
  return files
}

test('a directory goes from one terminal to another whole and identical', async () => {
  const work = mkdtempSync(join(tmpdir(), 'rendez-cli-'))
  const source = join(work, 'album')
  mkdirSync(join(source, 'nested', 'deeper'), { recursive: true })
  writeFileSync(join(source, 'big.bin'), randomBytes(20 * 1024 * 1024))
  writeFileSync(join(source, 'nested', 'notes.txt'), 'hello from the command line\n')
  writeFileSync(join(source, 'nested', 'deeper', 'empty'), '')
  const started = Date.now()
  const { code, done } = await send(['-r', source])
  assert.match(code, /^[A-HJ-NP-Z2-9]{6}$/)
  const received = await run(['recv', code.toLowerCase(), '-y', '-q', '-o', join(work, 'out'), '--relay', env.relay.url])
  const sent = await done
  console.log(`a 20 MiB directory from terminal to terminal in ${Date.now() - started} ms`)
  assert.deepEqual([received.code, received.stderr], [0, ''])
  assert.deepEqual([sent.code, sent.stderr], [0, ''])
  assert.deepEqual(tree(join(work, 'out', 'album')), tree(source))
})

test('a 200 MiB file arrives identical after the receiving command line is killed at a third and run again, sending less than a tenth of it again', async () => {
  const work = mkdtempSync(join(tmpdir(), 'rendez-cli-'))
  const size = 200 * 1024 * 1024
  const source = join(work, 'large.bin')
  writeFileSync(source, randomBytes(size))
  const { code, done } = await send([source], { quiet: false })
  const out = join(work, 'out')
  const first = spawn(rendez, ['recv', code, '-y', '-q', '-o', out, '--relay', env.relay.url], { stdio: 'ignore' })
  // The file arrives as large.bin.part, with its ticket beside it, until it is verified.
  const staged = () => { try { return statSync(join(out, 'large.bin.part')).size } catch { return 0 } }
  for (const until = Date.now() + 60_000; staged() < size / 3;) {
    assert.ok(Date.now() < until, `only ${staged()} bytes arrived in 60 s`)
    await sleep(50)
  }
  first.kill('SIGKILL')
  await new Promise(resolve => first.on('exit', resolve))
  const killedAt = staged()
  const second = await run(['recv', code, '-y', '-o', out, '--relay', env.relay.url])
  const sent = await done
  assert.deepEqual([second.code, second.stderr], [0, ''])
  assert.match(second.stdout, /resuming large\.bin from \d+ bytes/)
  assert.match(second.stdout, /received 1 file into .* \(1 resumed\), verified/)
  assert.deepEqual([sent.code, sent.stderr], [0, ''])
  const again = Number(sent.stdout.match(/(\d+) sent again/)[1])
  console.log(`200 MiB, the receiver killed at ${(killedAt / 1024 / 1024).toFixed(1)} MiB and run again: ${(again / 1024 / 1024).toFixed(1)} MiB sent twice`)
  assert.ok(again < size / 10, `${again} bytes were sent again`)
  assert.equal(sha256(readFileSync(join(out, 'large.bin'))), sha256(readFileSync(source)))
  assert.deepEqual(readdirSync(out), ['large.bin'])
})

test('a file goes from the command line to a browser page on the chat example\'s stream action', async () => {
  const work = mkdtempSync(join(tmpdir(), 'rendez-cli-'))
  const bytes = randomBytes(8 * 1024 * 1024)
  writeFileSync(join(work, 'photo.raw'), bytes)
  const { code, done } = await send([join(work, 'photo.raw')])
  const page = await openPeer(env.browser, env.files.url, env.relay.url, code, CHAT)
  const got = await page.page.evaluate(() => new Promise(resolve => {
    room.makeAction('files', { stream: true }).onMessage = async (stream, { peerId, metadata }) => {
      const chunks = []
      for await (const chunk of stream) chunks.push(chunk)
      const digest = await crypto.subtle.digest('SHA-256', await new Blob(chunks).arrayBuffer())
      resolve({ metadata, digest: Array.from(new Uint8Array(digest), b => b.toString(16).padStart(2, '0')).join('') })
    }
  }))
  assert.deepEqual(got, { metadata: { name: 'photo.raw', size: bytes.length }, digest: sha256(bytes) })
  assert.deepEqual(await done, { code: 0, stdout: `${code}\n`, stderr: '' })
  await page.context.close()
})

test('a file goes from a browser page to the command line', async () => {
  const work = mkdtempSync(join(tmpdir(), 'rendez-cli-'))
  const page = await openPeer(env.browser, env.files.url, env.relay.url, 'PAGE23', CHAT)
  const received = run(['recv', 'PAGE23', '-y', '-q', '-o', work, '--relay', env.relay.url])
  await waitFor(page.page, () => log.joins.length === 1, undefined, 30_000)
  const digest = await page.page.evaluate(async () => {
    const bytes = new Uint8Array(6 * 1024 * 1024)
    for (let at = 0; at < bytes.length; at += 65536) crypto.getRandomValues(bytes.subarray(at, at + 65536))
    await room.makeAction('files', { stream: true }).send(new Blob([bytes]), { target: log.joins[0], metadata: { name: 'from-the-page.bin', size: bytes.length } })
    room.leave()
    return Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)), b => b.toString(16).padStart(2, '0')).join('')
  })
  assert.deepEqual(await received, { code: 0, stdout: '', stderr: '' })
  assert.equal(sha256(readFileSync(join(work, 'from-the-page.bin'))), digest)
  await page.context.close()
})

test('a name that would leave the output directory is refused, and nothing is written outside it', async () => {
  const work = mkdtempSync(join(tmpdir(), 'rendez-cli-'))
  const out = join(work, 'out')
  const page = await openPeer(env.browser, env.files.url, env.relay.url, 'ESCAP3', CHAT)
  const received = run(['recv', 'ESCAP3', '-y', '-q', '-o', out, '--relay', env.relay.url])
  await waitFor(page.page, () => log.joins.length === 1, undefined, 30_000)
  const sent = await page.page.evaluate(() => room.makeAction('files', { stream: true })
    .send(new Blob(['not for you']), { target: log.joins[0], metadata: { name: '../escaped.txt', size: 11 } })
    .then(() => 'sent', e => e.code))
  const { code, stderr } = await received
  assert.equal(sent, 'cancelled')
  assert.equal(code, 5)
  assert.match(stderr, /may not be written in the output directory/)
  assert.deepEqual(readdirSync(work), ['out'])
  await page.context.close()
})

test('a password seals the room: the same one meets, a wrong one, no sender and a malformed code end with clear errors and distinct exit codes', async () => {
  const work = mkdtempSync(join(tmpdir(), 'rendez-cli-'))
  writeFileSync(join(work, 'secret.txt'), 'secret')
  const right = await send(['--password', 'right', join(work, 'secret.txt')])
  const ok = await run(['recv', right.code, '-y', '-q', '--password', 'right', '-o', join(work, 'in'), '--relay', env.relay.url])
  assert.deepEqual([ok.code, ok.stderr, (await right.done).code], [0, '', 0])
  assert.equal(readFileSync(join(work, 'in', 'secret.txt'), 'utf8'), 'secret')

  const { code, done } = await send(['--password', 'right', '--wait', '8', join(work, 'secret.txt')])
  const wrong = await run(['recv', code, '-y', '--password', 'wrong', '--wait', '4', '-o', work, '--relay', env.relay.url])
  assert.equal(wrong.code, 3)
  assert.match(wrong.stderr, /no peer joined within 4 s \(is the other side running, with the same code, strategy, relays and password\?\)/)
  assert.equal((await done).code, 3)

  const nobody = await run(['recv', 'ZZZZZZ', '-y', '--wait', '2', '-o', work, '--relay', env.relay.url])
  assert.equal(nobody.code, 3)
  const malformed = await run(['recv', 'not-a-code', '-o', work, '--relay', env.relay.url])
  assert.equal(malformed.code, 6)
  assert.match(malformed.stderr, /"not-a-code" is not a join code/)
})
