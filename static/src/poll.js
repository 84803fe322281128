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
