// The organiser's dashboard: refresh every atelier's state, presence and last
// edit from the API.
import { clock, poll } from './poll.js'

const config = JSON.parse(document.getElementById('dashboard-config').textContent)
const t = (key) => config.messages[key] || key
const updated = document.getElementById('dash-updated')
const PERIOD = 3000

function statusText (row) {
  if (row.status === 'published') {
    return `${t('published')} (v${row.version})` + (row.edited_since_published ? ` · ${t('edited')}` : '')
  }
  if (row.status === 'writing') return t('writing') + (row.version ? ` · ${t('unpublished')}` : '')
  return t('empty')
}

function timeCell (cell, iso) {
  if (!iso) { cell.textContent = '—'; return }
  const when = new Date(iso.endsWith('Z') || iso.includes('+') ? iso : iso + 'Z')
  const time = document.createElement('time')
  time.dateTime = when.toISOString()
  time.textContent = clock(when, config.timezone, { second: '2-digit' })
  cell.replaceChildren(time)
}

function render (data) {
  for (const row of data.ateliers) {
    const tr = document.getElementById('dash-' + row.id)
    if (!tr) { window.location.reload(); return } // a new atelier: redraw the page
    const status = tr.querySelector('.status-cell')
    status.textContent = statusText(row)
    status.dataset.status = row.status
    const names = row.present.map((p) => p.name).filter(Boolean)
    tr.querySelector('.present-cell').textContent = names.length
      ? `${row.present.length} — ${names.join(', ')}`
      : String(row.present.length)
    timeCell(tr.querySelector('.edited-cell'), row.edited_at)
  }
  updated.textContent = `${t('updated')} ${clock(new Date(), config.timezone, { second: '2-digit' })}`
}

poll(config.url, render, () => { updated.textContent = t('offline') }, PERIOD)
