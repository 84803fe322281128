// Forum load: per room, W lean writers appending a few characters every
// PERIOD ms, lean readers, and one full stock client that checks at the end
// that every written token arrived. Prints one JSON line of results.
// Usage: node load.mjs --url=... --rooms=atelier-1,atelier-2 --token=T
//        --clients=12 --writers=2 --period=400 --duration=30 [--settle=30] [--presence=yes]
//        [--placement=spread|room] [--part=0/1]
// --part=i/n: this is load process i of n. Process 0 runs the writers, the
// full clients and the check; the lean readers are dealt out over all n (a
// 200-person plenary of Hocuspocus's providers needs more than the one core
// a Node process has). The others print their "writing" line once their
// readers are connected, and stay until the benchmark stops them.
import { sleep, args } from './util.mjs'

const a = args()
// --protocol=hocuspocus: the same clients, speaking Hocuspocus's protocol (bench/hocuspocus).
const { leanReader, leanWriter, fullClient, synced } = await import(
  a.protocol === 'hocuspocus' ? '../hocuspocus/clients.mjs' : './clients.mjs')
// Several server URLs (comma separated): the clients of each room spread
// over them, or, with --placement=room, each room's clients on one of them
// (as nginx's hash on the room cookie places browsers, docs/production.md).
const urls = a.url.split(',')
const byRoom = a.placement === 'room'
let next = 0
const rooms = a.rooms.split(',')
const perRoom = Number(a.clients || 12)
const writersPerRoom = Number(a.writers || 2)
const period = Number(a.period || 400)
const presence = a.presence === 'yes'
const duration = Number(a.duration || 30) * 1000
const settle = Number(a.settle || 30) * 1000
const token = a.token || ''
const [part, parts] = (a.part || '0/1').split('/').map(Number)

const stats = { sent: 0, received: 0, errors: [] }
const roomsState = []
for (const [index, room] of rooms.entries()) {
  const pick = () => byRoom ? urls[index % urls.length] : urls[next++ % urls.length]
  const checker = part === 0 ? fullClient(byRoom ? pick() : urls[0], room, token) : null
  const writers = []
  const readers = []
  if (part === 0) {
    for (let i = 0; i < writersPerRoom; i++) writers.push(leanWriter(pick(), room, token, stats, `${room}.w${i}`, presence))
  }
  for (let i = 0; i < perRoom - writersPerRoom - 1; i++) {
    const url = pick()
    if (i % parts === part) readers.push(leanReader(url, room, token, stats))
  }
  roomsState.push({ room, checker, writers, readers })
}
if (part !== 0) {
  await sleep(3000)
  process.stdout.write(JSON.stringify({ writing: true }) + '\n')
  await new Promise(() => {})
}
await Promise.all(roomsState.map((r) => synced(r.checker, 30000)))
await sleep(1000)

const timers = []
const started = Date.now()
// Tells the benchmark when to start its probe, so that the probe measures
// the load itself, not its start nor everyone leaving at its end.
process.stdout.write(JSON.stringify({ writing: true }) + '\n')
for (const r of roomsState) {
  for (const w of r.writers) {
    // Spread writers over the period, as people do not type in step.
    const offset = Math.random() * period
    timers.push(setTimeout(() => { w.write(); timers.push(setInterval(() => w.write(), period)) }, offset))
  }
}
await sleep(duration)
timers.forEach((t) => { clearTimeout(t); clearInterval(t) })
const loadSeconds = (Date.now() - started) / 1000

// Convergence: every token of every writer reaches the room's full client.
const missing = (r) => {
  const text = r.checker.text()
  let n = 0
  for (const w of r.writers) for (const tok of w.written) if (!text.includes(tok)) n++
  return n
}
const stopped = Date.now()
let convergedAfter = null
while (Date.now() - stopped < settle) {
  if (roomsState.every((r) => missing(r) === 0)) { convergedAfter = (Date.now() - stopped) / 1000; break }
  await sleep(100)
}
const perRoomResult = roomsState.map((r) => ({
  room: r.room,
  written: r.writers.reduce((n, w) => n + w.written.length, 0),
  missing: missing(r),
  text: r.checker.text()
}))
const out = JSON.stringify({
  rooms: rooms.length,
  clients: rooms.length * perRoom,
  sent: stats.sent,
  received: stats.received,
  load_seconds: loadSeconds,
  converged_after: convergedAfter,
  rooms_converged: perRoomResult.filter((r) => r.missing === 0).length,
  lost: perRoomResult.reduce((n, r) => n + r.missing, 0),
  errors: [...new Set(stats.errors)].slice(0, 5),
  per_room: perRoomResult
})
for (const r of roomsState) { r.checker.close(); r.writers.forEach((w) => w.close()); r.readers.forEach((x) => x.close()) }
// Exit only once the (large) line is flushed to the pipe.
process.stdout.write(out + '\n', () => process.exit(0))
