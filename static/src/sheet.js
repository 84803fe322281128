// The sheet page: five collaborative editors on one Yjs document, synced by
// the stock y-socket.io client, with presence and a save-state line.
import * as Y from 'yjs'
import { SocketIOProvider } from 'y-socket.io'
import { IndexeddbPersistence } from 'y-indexeddb'
import { EditorView, keymap, drawSelection, placeholder } from '@codemirror/view'
import { Compartment, EditorState } from '@codemirror/state'
import { defaultKeymap } from '@codemirror/commands'
import { yCollab, yUndoManagerKeymap } from 'y-codemirror.next'
import { commonmarkLanguage } from '@codemirror/lang-markdown'
import { HighlightStyle, syntaxHighlighting } from '@codemirror/language'
import { tags } from '@lezer/highlight'
import { followPhotos } from './photos.js'

const config = JSON.parse(document.getElementById('sheet-config').textContent)
const t = (key) => config.messages[key] || key
const statusEl = document.getElementById('status')
const announceEl = document.getElementById('announce')
const presentEl = document.getElementById('present')
const participateBtn = document.getElementById('participate')
const sideDetails = document.getElementById('side-details')
const barStatus = document.getElementById('bar-status')
const peopleCount = document.getElementById('people-count')
const statusDot = document.getElementById('status-dot')

// On a phone the panel is one line that opens on demand, and closes when
// one goes back to writing: it never covers the text being typed.
const narrow = window.matchMedia('(max-width: 800px)')
function fitPanel () { if (sideDetails) sideDetails.open = !narrow.matches }
fitPanel()
narrow.addEventListener('change', fitPanel)
document.addEventListener('focusin', (event) => {
  if (sideDetails && narrow.matches && event.target.closest?.('.editor')) sideDetails.open = false
})
// Open over the text, it folds at a tap beside it, or with Escape.
document.addEventListener('pointerdown', (event) => {
  if (sideDetails?.open && narrow.matches && !event.target.closest?.('.side')) sideDetails.open = false
})
sideDetails?.addEventListener('keydown', (event) => {
  if (event.key === 'Escape' && narrow.matches && sideDetails.open) {
    sideDetails.open = false
    sideDetails.querySelector('summary').focus()
  }
})

// Behind several server processes, nginx sends a room's sockets to one of
// them by this cookie (docs/production.md), so that each process hears only
// the rooms it serves. Set again before every reconnection: another tab may
// have changed it meanwhile.
const placeInRoom = () => {
  const secure = window.location.protocol === 'https:' ? '; Secure' : ''
  document.cookie = `synthese_room=${config.atelier}; path=/socket.io/; SameSite=Strict${secure}`
}
placeInRoom()

const doc = new Y.Doc()
// The sheet is also kept in this browser (IndexedDB): what is typed offline
// survives a closed tab, a reload or a crash, and is sent once the page is
// open again on the network (the server's sync step 1 asks for it). One
// store per sheet and person: a shared tablet does not send one person's
// edits as another's.
// (The room's wall keeps nothing: config.store is null there.)
const local = config.store ? new IndexeddbPersistence(config.store, doc) : null
const provider = new SocketIOProvider(
  window.location.origin,
  config.room,
  doc,
  // Re-run sync step 1 now and then: heals a relayed update this client missed.
  { autoConnect: true, resyncInterval: 20000, disableBc: true }
)
provider.socket.io.on('reconnect_attempt', placeInRoom)
const awareness = provider.awareness
if (config.wall) {
  awareness.setLocalState(null) // a projector is nobody: not among the people present
} else {
  const lightColour = config.user.color + '33'
  awareness.setLocalStateField('user', { name: config.user.name, color: config.user.color, colorLight: lightColour })
  awareness.setLocalStateField('section', null)
}

const titles = Object.fromEntries(config.sections.map((s) => [s.key, s.title]))

// -- editors -----------------------------------------------------------------

const readOnly = new Compartment()
// The sections are CommonMark, as published (synthese/rendering.py): while
// writing, **bold** shows bold and *emphasis* italic, their marks in grey,
// rather than raw asterisks. Only the CommonMark parser is bundled (no
// languages nested in code blocks, no raw HTML, which publishing drops).
const markdownLook = HighlightStyle.define([
  { tag: tags.strong, fontWeight: 'bold' },
  { tag: tags.emphasis, fontStyle: 'italic' },
  { tag: tags.heading, fontWeight: 'bold' },
  { tag: tags.link, textDecoration: 'underline' },
  { tag: [tags.processingInstruction, tags.url, tags.monospace, tags.quote], color: '#555' }
])
const markdownEditing = [commonmarkLanguage, syntaxHighlighting(markdownLook)]
for (const section of config.sections) {
  const ytext = doc.getText(section.key)
  const parent = document.getElementById('editor-' + section.key)
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: ytext.toString(),
      extensions: [
        // No Tab key binding: Tab and Shift+Tab leave the editor, as everywhere
        // else in the page (WCAG 2.1.2); Ctrl+] and Ctrl+[ indent (defaultKeymap).
        keymap.of([...yUndoManagerKeymap, ...defaultKeymap]),
        drawSelection(),
        markdownEditing,
        EditorView.lineWrapping,
        readOnly.of(EditorState.readOnly.of(!config.canWrite)),
        EditorView.cspNonce.of(config.cspNonce),
        // The phone's one-line panel stays above the caret, never over it.
        EditorView.scrollMargins.of(() => ({ top: narrow.matches ? 56 : 0, bottom: 16 })),
        EditorView.contentAttributes.of({
          'aria-labelledby': 'title-' + section.key,
          'aria-describedby': 'keys-hint',
          'aria-multiline': 'true'
        }),
        yCollab(ytext, awareness),
        EditorView.focusChangeEffect.of((state, focusing) => {
          if (focusing) awareness.setLocalStateField('section', section.key)
          else if (awareness.getLocalState()?.section === section.key) awareness.setLocalStateField('section', null)
          return null
        })
      ]
    })
  })
  parent.view = view
  if (config.wall) followChanges(ytext, view)
}

// The wall follows what is being written: the latest change comes into view.
function followChanges (ytext, view) {
  ytext.observe((event) => {
    let at = 0
    let end = null
    for (const op of event.delta) {
      if (op.retain) at += op.retain
      else if (op.insert) { at += op.insert.length; end = at }
      else if (op.delete) end = at
    }
    if (end === null) return
    // Once the editor has the change (its own observer may run after this one).
    requestAnimationFrame(() => view.dispatch({
      effects: EditorView.scrollIntoView(Math.min(end, view.state.doc.length), { y: 'center' })
    }))
  })
}

// -- presence ----------------------------------------------------------------

function renderPresence () {
  if (!presentEl) return
  const people = []
  awareness.getStates().forEach((state, clientId) => {
    if (!state || !state.user) return
    people.push({ clientId, me: clientId === doc.clientID, ...state })
  })
  people.sort((a, b) => (b.me - a.me) || String(a.user.name).localeCompare(String(b.user.name)))
  if (peopleCount) peopleCount.textContent = `${people.length} ${t(people.length > 1 ? 'présents' : 'présent')}`
  // Who writes where, on each section's title too: seen without opening the panel.
  for (const section of config.sections) {
    const here = document.getElementById('here-' + section.key)
    if (!here) continue
    const writers = people.filter((p) => p.section === section.key && !p.me)
    here.replaceChildren(...writers.slice(0, 6).map((p) => {
      const badge = document.createElement('span')
      badge.className = 'avatar'
      badge.style.backgroundColor = String(p.user.color || '#555')
      badge.textContent = String(p.user.name).trim().charAt(0).toUpperCase() || '?'
      badge.title = String(p.user.name)
      return badge
    }))
    here.setAttribute('aria-label', writers.length ? `${t('écrit ici')} : ${writers.map((p) => p.user.name).join(', ')}` : '')
  }
  presentEl.replaceChildren(...people.map((p) => {
    const li = document.createElement('li')
    const dot = document.createElement('span')
    dot.className = 'dot'
    dot.style.backgroundColor = String(p.user.color || '#555')
    dot.setAttribute('aria-hidden', 'true')
    const name = document.createElement('span')
    name.className = 'name'
    name.textContent = String(p.user.name) + (p.me ? ' (' + t('vous') + ')' : '')
    li.append(dot, name)
    if (p.section && titles[p.section]) {
      const where = document.createElement('span')
      where.className = 'where'
      where.textContent = t('écrit dans') + ' ' + titles[p.section]
      li.append(where)
    }
    return li
  }))
}
awareness.on('change', renderPresence)
renderPresence()

// -- connection and save state -------------------------------------------------

// The visible line follows every change; the live region (what a screen
// reader says) only changes of state: connected, offline, offline edits
// saved, stopped. Saving and saved while one types would be read out at
// every keystroke.
let announced = ''
let editedOffline = false

function announce (key) {
  const text = t(key)
  if (text !== announced) {
    announced = text
    announceEl.textContent = text
  }
}

function setStatus (key, state) {
  statusEl.textContent = t(key)
  statusEl.dataset.state = state
  // The phone's one-line panel: the same words, but offline in a word.
  if (barStatus) barStatus.textContent = t(state === 'offline' ? 'Hors ligne' : key)
  if (statusDot) statusDot.dataset.state = state
  if (state === 'connected' || state === 'offline') announce(key)
  if (state === 'saved' && editedOffline) {
    editedOffline = false
    announce('Vos modifications faites hors ligne sont enregistrées.')
  }
}

// "Enregistré" only once the server has committed everything this page sent
// on this connection: it counts our sync-update messages, and after each
// commit that leaves none of ours waiting (nor refused) it says how many
// it holds ("synthese:saved"; the stock client ignores it). Before that,
// our edits may already be on the others' screens but not in the database.
let sent = 0
provider.socket.onAnyOutgoing((event) => {
  if (event === 'sync-update') sent += 1
})
provider.socket.on('disconnect', () => { sent = 0 })
provider.socket.on('synthese:saved', (stored) => {
  // A page that cannot write (the wall, a reader) stays "Connecté".
  if (config.canWrite && provider.socket.connected && Number(stored) >= sent) setStatus('Enregistré', 'saved')
})

doc.on('update', (update, origin) => {
  if (origin === provider) return
  // (What the browser's own store brings back at load is not typed offline now.)
  if (!provider.socket.connected && origin !== local) editedOffline = true
  if (provider.socket.connected) setStatus('Enregistrement…', 'saving')
})

provider.on('status', ({ status }) => {
  if (status === 'connected') {
    // Then "Enregistré", once the sync exchange is stored.
    setStatus('Connecté', 'connected')
  } else if (status === 'disconnected') {
    setStatus('Hors ligne — ce que vous écrivez est gardé sur cet appareil et partira au retour du réseau', 'offline')
  }
})
provider.on('sync', (synced) => {
  if (synced && participateBtn && config.canWrite) participateBtn.disabled = false
})
window.addEventListener('offline', () => provider.socket.io.engine?.close())

// The organiser removed this atelier (or merged it into another), or
// withdrew this person's access: stop here and say why.
function stop (why) {
  provider.disconnect()
  if (local) local.clearData()
  setStatus(why, 'offline')
  for (const section of config.sections) {
    document.getElementById('editor-' + section.key).view.dispatch({
      effects: readOnly.reconfigure(EditorState.readOnly.of(true))
    })
  }
  if (participateBtn) participateBtn.disabled = true
}
// Published or unpublished, from this page or another one: said here at once.
const publicationEl = document.getElementById('publication-state')
provider.socket.on('synthese:publication', ({ public: isPublic, version }) => {
  if (!publicationEl) return
  publicationEl.textContent = isPublic ? `${t('Publiée')} : ${t('version')} ${version}` : t('Dépubliée')
})
followPhotos(provider.socket, config.atelier, Boolean(config.wall))
provider.socket.on('synthese:removed', () => stop('Cet atelier a été supprimé ou fusionné dans un autre par l\'organisation.'))
provider.socket.on('synthese:revoked', () => stop('L\'organisation a retiré votre accès à cet événement.'))
// An edit the server refused. Most refusals heal by themselves (the server
// asks for the edit again once it can take it); a full sheet does not.
provider.socket.on('synthese:refused', (why) => {
  if (String(why?.reason || '').includes('full')) setStatus('La fiche est pleine : vos derniers ajouts ne sont pas enregistrés.', 'offline')
})

// -- "Je participe" -------------------------------------------------------------

if (participateBtn) {
  participateBtn.addEventListener('click', () => {
    if (participateBtn.getAttribute('aria-disabled') === 'true') return
    const ytext = doc.getText('participants')
    const current = ytext.toString()
    const name = config.user.name.trim()
    const listed = current.split('\n').map((l) => l.trim()).includes(name)
    if (!listed) {
      const prefix = current.length === 0 || current.endsWith('\n') ? '' : '\n'
      ytext.insert(ytext.length, prefix + name + '\n')
    }
    participateBtn.textContent = t('Vous êtes dans la liste des participants.')
    // Not disabled: a disabled button drops the keyboard focus to the page's top.
    participateBtn.setAttribute('aria-disabled', 'true')
  })
}

// Exposed for tests and debugging in the console.
window.synthese = { doc, provider, awareness }
