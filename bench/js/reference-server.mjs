// The reference y-socket.io server (in memory), for comparison in bench/.
// Usage: node reference-server.mjs PORT
import http from 'node:http'
import { Server } from 'socket.io'
import { YSocketIO } from 'y-socket.io/dist/server'

const port = Number(process.argv[2] || 5100)
const server = http.createServer((req, res) => { res.writeHead(200); res.end('ok') })
const io = new Server(server, { maxHttpBufferSize: 1e6 })
new YSocketIO(io).initialize()
server.listen(port, '127.0.0.1', () => console.log(`reference y-socket.io server on ${port}`))
