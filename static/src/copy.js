// "Copier le lien" beside a secret link shown once (it is stored hashed and
// cannot be shown again): one tap to put it where it will be kept.
for (const button of document.querySelectorAll('button.copy[data-copy]')) {
  const field = document.getElementById(button.dataset.copy)
  if (!field) continue
  button.hidden = false
  const label = button.textContent
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(field.value)
    } catch (err) {
      field.select() // no clipboard (an http page): selected, for Ctrl+C
      return
    }
    button.textContent = button.dataset.done
    setTimeout(() => { button.textContent = label }, 2000)
  })
}
