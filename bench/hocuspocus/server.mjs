// The Hocuspocus reference of bench/forum.py: @hocuspocus/server with
// @hocuspocus/extension-sqlite, default settings (it relays first and stores
// each document 2 s after its last change, 10 s at most: debounce/maxDebounce).
// Usage: node server.mjs PORT DATABASE_FILE
import { Server } from '@hocuspocus/server'
import { SQLite } from '@hocuspocus/extension-sqlite'

const port = Number(process.argv[2] || 5200)
const server = new Server({
  port,
  address: '127.0.0.1',
  quiet: true,
  extensions: [new SQLite({ database: process.argv[3] || ':memory:' })]
})
await server.listen()
console.log(`hocuspocus on ${port}`)
