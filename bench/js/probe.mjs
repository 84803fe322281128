// Latency probe: one writer and one reader (stock clients) in a room of
// their own; the writer appends a numbered marker every INTERVAL ms and the
// reader timestamps its arrival. Prints one JSON line of latencies (ms).
// Usage: node probe.mjs --url=... --room=atelier-31 --token=T --duration=30 [--interval=250]
//        [--placement=spread|room]
import { sleep, args } from './util.mjs'

const a = args()
const { fullClient, synced } = await import(a.protocol === 'hocuspocus' ? '../hocuspocus/clients.mjs' : './clients.mjs')
const duration = Number(a.duration || 30) * 1000
const interval = Number(a.interval || 250)
// With several server URLs, the writer uses the first and the reader the
// last; with --placement=room both use the first, as the room's people would.
const urls = a.url.split(',')
const writer = fullClient(urls[0], a.room, a.token)
const reader = fullClient(a.placement === 'room' ? urls[0] : urls[urls.length - 1], a.room, a.token)
await Promise.all([synced(writer), synced(reader)])
await sleep(500)

const sentAt = new Map()
const t0 = performance.now()
// (ms since start, latency) of markers slower than 20 ms, to see when stalls happen.
const slow = []
const latencies = []
reader.doc.getText('synthese').observe((event) => {
  const now = performance.now()
  for (const op of event.delta) {
    if (typeof op.insert !== 'string') continue
    for (const m of op.insert.matchAll(/⟦(\d+)⟧/g)) {
      const n = Number(m[1])
      if (sentAt.has(n)) {
        const latency = now - sentAt.get(n)
        latencies.push(latency)
        if (latency > 20) slow.push([Math.round(sentAt.get(n) - t0), Math.round(latency)])
        sentAt.delete(n)
      }
    }
  }
})
const text = writer.doc.getText('synthese')
let n = 0
const started = Date.now()
while (Date.now() - started < duration) {
  sentAt.set(n, performance.now())
  text.insert(text.length, `⟦${n}⟧`)
  n++
  await sleep(interval)
}
await sleep(2000)
const out = JSON.stringify({ sent: n, received: latencies.length, lost: sentAt.size, latencies, slow })
writer.close(); reader.close()
process.stdout.write(out + '\n', () => process.exit(0))
