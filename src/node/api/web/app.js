/* global document, location */
// The dashboard's shell: sign-in state, navigation between pages (by URL hash, so the back button and links work),
// the live indicator and logout. Every page reads the node's JSON API and refreshes on its /v1/events.
import { html } from './html.js'
import { render } from './vendor/preact.js'
import { useEffect, useState } from './vendor/preact-hooks.js'
import { auth, checkSession, live, logout } from './api.js'
import { NodePage } from './pages/node.js'
import { TrainingPage } from './pages/training.js'
import { ArtifactsPage } from './pages/artifacts.js'
import { ProposalsPage } from './pages/proposals.js'
import { WalletPage } from './pages/wallet.js'
import { WhyPanel } from './pages/why.js'

const PAGES = [
  ['node', 'Node', () => html`<${NodePage} /><${WhyPanel} secondary />`],
  ['training', 'Training', () => html`<${TrainingPage} />`],
  ['artifacts', 'Artifacts', () => html`<${ArtifactsPage} />`],
  ['proposals', 'Proposals', () => html`<${ProposalsPage} />`],
  ['wallet', 'Wallet', () => html`<${WalletPage} />`],
  ['why', 'Why not earning?', () => html`<${WhyPanel} />`]
]

const current = () => {
  const name = location.hash.replace(/^#\/?/, '')
  return PAGES.find(([n]) => n === name) ?? PAGES[0]
}

function SignedOut () {
  return html`<main class="signed-out" id="main">
    <h1>meshnode dashboard</h1>
    <p>This browser is not signed in to this node. On the node's machine, run</p>
    <pre>meshnode dashboard</pre>
    <p>and open the one-time link it prints (valid 60 seconds, usable once). <code>--open</code> opens it for you.</p>
  </main>`
}

function App () {
  const [page, setPage] = useState(current)
  useEffect(() => {
    void checkSession()
    const onHash = () => setPage(current())
    globalThis.addEventListener('hashchange', onHash)
    return () => globalThis.removeEventListener('hashchange', onHash)
  }, [])
  // pages start loading while the session is checked (one round trip less); any 401 shows the sign-in help
  if (auth.value === 'out') return html`<${SignedOut} />`
  const [name, , view] = page
  return html`<a class="skip" href="#main">Skip to content</a>
    <header class="top">
      <strong class="brand">meshnode</strong>
      <nav aria-label="pages"><ul>${PAGES.map(([n, label]) => html`<li><a href=${`#/${n}`} aria-current=${n === name ? 'page' : undefined}>${label}</a></li>`)}</ul></nav>
      <span class=${`live ${live.value ? 'on' : 'off'}`} role="status" title="the /v1/events stream">${live.value ? 'live' : 'offline'}</span>
      <button type="button" class="logout" onClick=${() => { void logout() }}>Log out</button>
    </header>
    <main id="main" tabindex="-1" data-page=${name}>${view()}</main>`
}

// the boot message goes: Preact renders into an empty container
const root = document.getElementById('app')
root.textContent = ''
render(html`<${App} />`, root)
