// A Yjs document in Node, driven line by line over stdin/stdout (JSON), for
// the differential tests: what the server accepts must give the same text in
// Yjs as in pycrdt, and nothing may stay pending in Yjs.
//
//   {"op": "apply", "update": HEX}   apply to the document (as a browser would)
//   {"op": "state"}                  the document's text and whether anything is pending
//   {"op": "fresh", "update": HEX}   a new document from one update (a fresh stock client)
//   {"op": "writers", "seed": N, "clients": K, "steps": S}
//       honest updates: K documents typing, deleting and syncing at random;
//       returns every update they emitted, in order
import * as Y from 'yjs'
import { createInterface } from 'node:readline'

const SECTIONS = ['question', 'synthese', 'porteur', 'participants', 'discussion']
let doc = new Y.Doc()

const hex = (u8) => Buffer.from(u8).toString('hex')
const bytes = (h) => new Uint8Array(Buffer.from(h, 'hex'))

function describe (d) {
  const texts = {}
  for (const key of SECTIONS) texts[key] = d.getText(key).toString()
  const pending = d.store.pendingStructs !== null || d.store.pendingDs !== null
  // Anything besides the five texts at the top level is content no editor shows.
  const others = [...d.share.keys()].filter((k) => !SECTIONS.includes(k))
  return { texts, pending, others }
}

function random (seed) {
  // mulberry32: the same seed gives the same edits on every machine.
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const WORDS = ['élus ', 'usagers ', 'la 27e Région ', 'données ', '😀 ', 'agents\n', 'ça ', 'é', 'x', '- ']

// An index in a text that does not fall inside a two-unit character, as
// editors never do: moves forward past a low surrogate.
function boundary (text, at) {
  const s = text.toString()
  const c = s.charCodeAt(at)
  return c >= 0xdc00 && c <= 0xdfff ? at + 1 : at
}

function writers ({ seed, clients, steps }) {
  const rnd = random(seed)
  const docs = []
  const out = []
  for (let i = 0; i < clients; i++) {
    const d = new Y.Doc()
    d.clientID = 1 + Math.floor(rnd() * 0xfffffffe)
    d.on('update', (u, origin) => { if (origin !== 'sync') out.push(hex(u)) })
    docs.push(d)
  }
  for (let s = 0; s < steps; s++) {
    const d = docs[Math.floor(rnd() * docs.length)]
    const text = d.getText(SECTIONS[Math.floor(rnd() * SECTIONS.length)])
    const r = rnd()
    if (r < 0.6 || text.length === 0) {
      text.insert(boundary(text, Math.floor(rnd() * (text.length + 1))), WORDS[Math.floor(rnd() * WORDS.length)])
    } else if (r < 0.85) {
      const at = boundary(text, Math.floor(rnd() * text.length))
      const to = boundary(text, Math.min(text.length, at + 1 + Math.floor(rnd() * 4)))
      if (to > at) text.delete(at, to - at)
    } else {
      // Two writers sync: the diff each sends the other, as after sync step 1.
      const other = docs[Math.floor(rnd() * docs.length)]
      const diff = Y.encodeStateAsUpdate(other, Y.encodeStateVector(d))
      out.push(hex(diff))
      Y.applyUpdate(d, diff, 'sync')
    }
  }
  return out
}

const rl = createInterface({ input: process.stdin })
rl.on('line', (line) => {
  const msg = JSON.parse(line)
  let reply
  try {
    if (msg.op === 'apply') {
      Y.applyUpdate(doc, bytes(msg.update))
      reply = describe(doc)
    } else if (msg.op === 'state') {
      reply = describe(doc)
    } else if (msg.op === 'reset') {
      doc = new Y.Doc()
      reply = describe(doc)
    } else if (msg.op === 'fresh') {
      const d = new Y.Doc()
      Y.applyUpdate(d, bytes(msg.update))
      reply = describe(d)
    } else if (msg.op === 'writers') {
      reply = { updates: writers(msg) }
    } else {
      reply = { error: `unknown op ${msg.op}` }
    }
  } catch (e) {
    reply = { error: String(e) }
  }
  process.stdout.write(JSON.stringify(reply) + '\n')
})
