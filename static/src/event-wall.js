// The event's wall: every atelier of the current session, live, from the
// organiser's dashboard API (polled: it answers the same from any process).
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
  updated.textContent = `${t('Mis à jour à')} ${new Date().toLocaleTimeString()}`
}

async function refresh () {
  try {
    const response = await fetch(config.url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
    if (!response.ok) throw new Error(String(response.status))
    render(await response.json())
  } catch (err) {
    updated.textContent = t('Hors ligne, nouvel essai…')
  } finally {
    setTimeout(refresh, PERIOD)
  }
}
refresh()
