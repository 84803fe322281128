// Photos of the boards on the sheet page and its wall: the gallery follows
// the room (a photo added or deleted anywhere), and a photo taken on a phone
// is made smaller here before it goes over the venue's Wi-Fi (the server
// decodes and re-encodes it anyway: this only saves bytes).
const MAX_SIDE = 2400

export function followPhotos (socket, atelierId, wall) {
  const section = document.getElementById('photos')
  if (!section) return
  async function refresh () {
    const response = await fetch(`/ateliers/${atelierId}/photos${wall ? '?wall=1' : ''}`, { credentials: 'same-origin' })
    if (!response.ok) return
    const holder = document.createElement('div')
    holder.innerHTML = await response.text() // the server's template: every text in it is escaped
    const fresh = holder.querySelector('#gallery')
    const old = document.getElementById('gallery')
    if (fresh && old) old.replaceWith(fresh)
    if (wall) section.hidden = !fresh?.querySelector('img')
  }
  socket.on('synthese:photos', refresh)
  const form = document.getElementById('photo-form')
  if (form) form.addEventListener('submit', (event) => { event.preventDefault(); upload(form, refresh) })
}

async function smaller (file) {
  try {
    const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' })
    const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height))
    if (scale === 1 && file.size < 1_500_000) return file
    const canvas = document.createElement('canvas')
    canvas.width = Math.round(bitmap.width * scale)
    canvas.height = Math.round(bitmap.height * scale)
    canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height)
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.85))
    return blob || file
  } catch {
    return file // not decodable here (the server will say what it makes of it)
  }
}

async function upload (form, refresh) {
  const status = document.getElementById('photo-status')
  const input = form.querySelector('input[type=file]')
  const button = form.querySelector('button[type=submit]')
  const file = input.files[0]
  if (!file) return
  button.disabled = true
  status.textContent = form.dataset.sending || '…'
  const data = new FormData(form)
  data.set('photo', await smaller(file), 'photo.jpg')
  try {
    const response = await fetch(form.action, {
      method: 'POST', body: data, credentials: 'same-origin', headers: { Accept: 'application/json' }
    })
    const answer = await response.json().catch(() => ({}))
    status.textContent = response.ok ? answer.message : (answer.error?.message || response.statusText)
    if (response.ok) { form.reset(); refresh() }
  } catch {
    status.textContent = form.dataset.offline || 'Hors ligne'
  } finally {
    button.disabled = false
    input.focus()
  }
}
