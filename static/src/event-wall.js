// The event's wall: every atelier of the current session, live, from the
// organiser's dashboard API.
import { clock, poll } from './poll.js'

const config = JSON.parse(document.getElementById('wall-config').textContent)
const t = (key) => config.messages[key] || key
const updated = document.getElementById('wall-updated')
const PERIOD = 3000
const STATES = { empty: 'Vide', writing: "En cours d'écriture", published: 'Publiée' }

function render (data) {
  for (const row of data.ateliers) {
    const card = document.getElementById('wall-' + row.id)
    if (!card) continue // another session's atelier
    const state = card.querySelector('.wall-state')
    state.textContent = t(STATES[row.status] || row.status) + (row.version ? ` (v${row.version})` : '')
    state.dataset.status = row.status
    const names = row.present.map((p) => p.name).filter(Boolean)
    card.querySelector('.wall-people').textContent = names.length ? `${names.length} — ${names.join(', ')}` : t('personne pour l’instant')
    card.querySelector('.wall-excerpt').textContent = row.synthese || ''
  }
  updated.textContent = `${t('Mis à jour à')} ${clock(new Date(), config.timezone)}`
}

// The wall is never hidden: the period stays the same (poll slows down only in hidden tabs).
poll(config.url, render, () => { updated.textContent = t('Hors ligne, nouvel essai…') }, PERIOD)
