// Polling a read-only API endpoint: it answers the same whichever server
// process it reaches, and costs one small request every few seconds.
export function poll (url, render, offline, period = 3000) {
  async function refresh () {
    try {
      const response = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      if (!response.ok) throw new Error(String(response.status))
      render(await response.json())
    } catch (err) {
      offline(err)
    } finally {
      setTimeout(refresh, document.hidden ? period * 4 : period)
    }
  }
  refresh()
}

// A time of day as the page's language writes it, in the event's time zone
// (not the viewer's: a remote organiser sees the room's clock).
export function clock (when, timeZone, more = {}) {
  const lang = document.documentElement.lang || undefined
  return when.toLocaleTimeString(lang, { hour: '2-digit', minute: '2-digit', timeZone, ...more })
}
