// Client kinds used by the benchmarks.
import * as Y from 'yjs'
import { io } from 'socket.io-client'
import { SocketIOProvider } from 'y-socket.io'
import { Awareness, encodeAwarenessUpdate } from 'y-protocols/awareness'

// Every stock provider adds a process 'exit' listener; hundreds are expected here.
process.setMaxListeners(0)

const EMPTY_UPDATE = new Uint8Array([0, 0])
const EMPTY_SV = new Uint8Array([0])

function rawSocket (url, room, token) {
  return io(`${url}/yjs|${room}`, {
    transports: ['websocket'],
    forceNew: true,
    auth: token ? { token } : {},
    reconnectionDelayMax: 2000
  })
}

// A reader that speaks the protocol but never applies what it receives.
export function leanReader (url, room, token, stats) {
  const socket = rawSocket(url, room, token)
  socket.on('connect', () => socket.emit('sync-step-1', EMPTY_SV, () => {}))
  socket.on('sync-step-1', (_sv, ack) => ack(EMPTY_UPDATE))
  socket.on('sync-update', () => { stats.received++ })
  socket.on('awareness-update', () => {})
  socket.on('connect_error', (e) => { stats.errors.push(String(e.message || e)) })
  return { socket, close: () => socket.disconnect() }
}

// A writer whose document only holds its own edits: valid Yjs updates,
// appended at the end of its own text, without applying anyone else's.
// With ``presence``, each edit also moves the writer's cursor, as the sheet
// page does (y-codemirror.next sets it on every selection change): one
// awareness update per edit, as people typing send.
export function leanWriter (url, room, token, stats, name, presence = false) {
  const socket = rawSocket(url, room, token)
  const doc = new Y.Doc()
  const text = doc.getText('synthese')
  const written = []
  doc.on('update', (update) => socket.emit('sync-update', update))
  const awareness = presence ? new Awareness(doc) : null
  if (awareness) {
    awareness.setLocalState({ user: { name, color: '#30bced', colorLight: '#30bced33' }, section: 'synthese' })
    awareness.on('update', ({ added, updated, removed }) => {
      socket.emit('awareness-update', encodeAwarenessUpdate(awareness, added.concat(updated, removed)))
    })
    socket.on('connect', () => socket.emit('awareness-update', encodeAwarenessUpdate(awareness, [doc.clientID])))
  }
  socket.on('connect', () => socket.emit('sync-step-1', EMPTY_SV, () => {}))
  // Offline edits are pulled by the server's own sync step 1.
  socket.on('sync-step-1', (sv, ack) => ack(Y.encodeStateAsUpdate(doc, new Uint8Array(sv))))
  socket.on('sync-update', () => { stats.received++ })
  socket.on('awareness-update', () => {})
  socket.on('connect_error', (e) => { stats.errors.push(String(e.message || e)) })
  let seq = 0
  return {
    socket,
    written,
    write () {
      const token = `${name}.${seq++};`
      text.insert(text.length, token)
      written.push(token)
      stats.sent++
      if (awareness) {
        const at = Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(text, text.length))
        awareness.setLocalStateField('cursor', { anchor: at, head: at })
      }
    },
    close: () => { if (awareness) awareness.destroy(); socket.disconnect() }
  }
}

// The stock client with a full Yjs document.
export function fullClient (url, room, token) {
  const doc = new Y.Doc()
  const provider = new SocketIOProvider(url, room, doc, { autoConnect: true, disableBc: true, auth: token ? { token } : {} })
  return { doc, provider, text: () => doc.getText('synthese').toString(), close: () => provider.destroy() }
}

export function synced (client, timeout = 10000) {
  return new Promise((resolve, reject) => {
    if (client.provider.synced) return resolve()
    const timer = setTimeout(() => reject(new Error('sync timeout')), timeout)
    client.provider.on('sync', (s) => { if (s) { clearTimeout(timer); resolve() } })
  })
}

export { sleep, args } from './util.mjs'
