// Hocuspocus clients for bench/js/load.mjs and probe.mjs, with the same
// shapes as bench/js/clients.mjs. All are stock HocuspocusProviders with a
// full document (the protocol multiplexes documents over one WebSocket and
// has no lean form the stock package offers): writers and readers apply
// what they receive, which costs the load process, not the server.
import * as Y from 'yjs'
import WebSocket from 'ws'
import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider'

process.setMaxListeners(0)

function provider (url, room, doc, stats) {
  const websocketProvider = new HocuspocusProviderWebsocket({
    url: url.replace(/^http/, 'ws'),
    WebSocketPolyfill: WebSocket,
    maxDelay: 2000
  })
  const p = new HocuspocusProvider({ websocketProvider, name: room, document: doc, token: 'bench' })
  // A provider given its socket is attached by hand (one socket per client here, as browsers have).
  p.attach()
  if (stats) {
    doc.on('update', (_u, origin) => { if (origin === p) stats.received++ })
    p.on('close', ({ event }) => { if (event && event.code !== 1000) stats.errors.push(`close ${event.code}`) })
  }
  return p
}

export function leanReader (url, room, token, stats) {
  const doc = new Y.Doc()
  const p = provider(url, room, doc, stats)
  return { close: () => { p.destroy(); p.configuration.websocketProvider.destroy() } }
}

export function leanWriter (url, room, token, stats, name, presence = false) {
  const doc = new Y.Doc()
  const text = doc.getText('synthese')
  const p = provider(url, room, doc, stats)
  if (presence) p.setAwarenessField('user', { name, color: '#30bced', colorLight: '#30bced33' })
  const written = []
  let seq = 0
  return {
    written,
    write () {
      const tok = `${name}.${seq++};`
      text.insert(text.length, tok)
      written.push(tok)
      stats.sent++
      if (presence) {
        const at = Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(text, text.length))
        p.setAwarenessField('cursor', { anchor: at, head: at })
      }
    },
    close: () => { p.destroy(); p.configuration.websocketProvider.destroy() }
  }
}

export function fullClient (url, room, token) {
  const doc = new Y.Doc()
  const p = provider(url, room, doc, null)
  return { doc, provider: p, text: () => doc.getText('synthese').toString(),
    close: () => { p.destroy(); p.configuration.websocketProvider.destroy() } }
}

export function synced (client, timeout = 10000) {
  return new Promise((resolve, reject) => {
    if (client.provider.isSynced) return resolve()
    const timer = setTimeout(() => reject(new Error('sync timeout')), timeout)
    client.provider.on('synced', () => { clearTimeout(timer); resolve() })
  })
}
