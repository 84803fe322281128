// Helpers of the benchmark scripts, apart from any client library.
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

export function args () {
  const out = {}
  for (const arg of process.argv.slice(2)) {
    const [k, v] = arg.replace(/^--/, '').split('=')
    out[k] = v
  }
  return out
}
