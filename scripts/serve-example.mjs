// Serves the repository and runs a local WebTorrent tracker, for the example pages.
import { startFileServer, startTracker } from '../tests/e2e/harness.mjs'

const tracker = await startTracker(Number(process.env.TRACKER_PORT ?? 8000))
const files = await startFileServer(Number(process.env.PORT ?? 8080))
const page = name => `${files.url}/examples/${name}/?tracker=${encodeURIComponent(tracker.url)}`
files.setHome(page('chat'))
console.log(`Tracker: ${tracker.url}
Chat and file drop (create a room, open the share link in a second tab or browser):
  ${files.url}/ (the same as ${page('chat')})
Minimal room:
  ${page('basic')}
Ctrl-C stops.`)
