// Serves the repository and runs a local WebTorrent tracker, for the example pages.
import { startFileServer, startTracker } from '../tests/e2e/harness.mjs'

const tracker = await startTracker(Number(process.env.TRACKER_PORT ?? 8000))
const files = await startFileServer(Number(process.env.PORT ?? 8080))
const url = `${files.url}/examples/basic/?tracker=${encodeURIComponent(tracker.url)}`
console.log(`Tracker: ${tracker.url}\nOpen this page in two tabs or browsers:\n  ${url}\nCtrl-C stops.`)
