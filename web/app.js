// The console's shell: session start-up, hash routing, the header (agent, PBX link, logout), the page
// navigation and the screen pop that arrives over the WebSocket.
import {api, health, setCsrfToken, setUnauthorizedHandler} from './api.js';
import * as events from './events.js';
import {session, current, isAdmin, mayEditCentral, hasCallModule} from './state.js';
import {h, clear, toast} from './ui.js';
import * as loginPage from './pages/login.js';
import * as callPage from './pages/call.js';
import * as searchPage from './pages/search.js';
import * as missedPage from './pages/missed.js';
import * as groupsPage from './pages/groups.js';
import * as agentsPage from './pages/agents.js';
import * as rulesPage from './pages/rules.js';
import * as calllogPage from './pages/calllog.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');

// path pattern → page; `show` decides whether the agent sees it in the navigation.
const pages = [
  {path: 'call', title: 'Call window', key: '1', page: callPage, show: () => true},
  {path: 'search', title: 'Search', key: '2', page: searchPage, show: () => true},
  {path: 'missed', title: 'Missed calls', key: '3', page: missedPage, show: hasCallModule},
  {path: 'groups', title: 'SA groups', key: '4', page: groupsPage, show: () => true},
  {path: 'admin/agents', title: 'Agents', key: '5', page: agentsPage, show: isAdmin, admin: true},
  {path: 'admin/rules', title: 'Rules', key: '6', page: rulesPage, show: () => isAdmin() || mayEditCentral(),
   admin: true},
  {path: 'admin/calllog', title: 'Call log', key: '7', page: calllogPage, show: isAdmin, admin: true},
];

let cleanup = null;

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, query = ''] = raw.split('?');
  return {path, params: new URLSearchParams(query)};
}

export function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function route() {
  const {path, params} = parseHash();
  if (typeof cleanup === 'function') {
    try { cleanup(); } catch (e) { console.error(e); }
  }
  cleanup = null;
  clear(main);

  if (!session.agent) {
    renderNav();
    cleanup = loginPage.render(main, {onLogin: loggedIn});
    return;
  }
  if (path === 'login' || path === '') {
    navigate('#/call');
    return;
  }
  let match = null;
  let routeParams = {params};
  const customer = path.match(/^customer\/(\d+)$/);
  if (customer) {
    match = pages[0];
    routeParams = {params, customerId: Number(customer[1])};
  } else {
    match = pages.find((p) => p.path === path);
  }
  if (!match) {
    main.appendChild(h('div', {class: 'empty'}, h('h1', {}, 'Page not found'),
      h('p', {}, h('a', {href: '#/call'}, 'Back to the call window'))));
    renderNav();
    return;
  }
  if (!match.show()) {
    main.appendChild(h('div', {class: 'empty'}, h('h1', {}, match.title),
      h('p', {}, 'Your account may not use this page. An administrator can change your permissions.')));
    renderNav(match);
    return;
  }
  renderNav(match);
  cleanup = match.page.render(main, routeParams);
  document.title = `${match.title} · Switchboard`;
}

function renderNav(active = null) {
  clear(nav);
  nav.hidden = !session.agent;
  if (!session.agent) return;
  const list = h('ul', {});
  let adminHeading = false;
  for (const p of pages) {
    if (!p.show()) continue;
    if (p.admin && !adminHeading) {
      list.appendChild(h('li', {class: 'nav-heading', 'aria-hidden': 'true'}, 'Administration'));
      adminHeading = true;
    }
    const activeNow = active === p;
    list.appendChild(h('li', {},
      h('a', {href: `#/${p.path}`, class: activeNow ? 'active' : null, 'aria-current': activeNow ? 'page' : null,
              id: `nav-${p.path.replace('/', '-')}`, title: `Alt+${p.key}`},
        h('span', {}, p.title), h('kbd', {'aria-hidden': 'true'}, `Alt+${p.key}`))));
  }
  nav.appendChild(list);
}

// ---- header ---------------------------------------------------------------------------------------------

function renderHeader() {
  const info = document.getElementById('agent-info');
  const logout = document.getElementById('logout');
  const live = document.getElementById('live-state');
  const a = session.agent;
  info.hidden = logout.hidden = live.hidden = !a;
  clear(info);
  if (a) {
    info.appendChild(h('span', {class: 'agent-name', dataset: {testid: 'agent-name'}}, a.name));
    info.appendChild(h('span', {class: 'agent-ext', title: 'Your extension'}, a.extension ? `ext. ${a.extension}` : 'no extension'));
    if (a.role === 'administrator') info.appendChild(h('span', {class: 'badge'}, 'administrator'));
  }
}

function renderLive(state) {
  const el = document.getElementById('live-state');
  const labels = {live: 'Pops live', connecting: 'Connecting…', retrying: 'Reconnecting…', offline: 'Pops off'};
  el.textContent = labels[state] || state;
  el.className = `indicator indicator-${state === 'live' ? 'ok' : state === 'offline' ? 'unknown' : 'warn'}`;
  el.title = state === 'live' ? 'Connected: screen pops and new notes arrive at once'
                              : 'Not connected to the event stream; retrying by itself';
}

async function pollHealth() {
  const el = document.getElementById('link-state');
  const result = await health();
  if (!result.reachable) {
    el.textContent = 'Server unreachable';
    el.className = 'indicator indicator-bad';
    el.title = 'The Switchboard server does not answer';
    return;
  }
  const data = result.data || {};
  const pbx = Array.isArray(data.pbx) ? data.pbx : [];
  const storage = Array.isArray(data.storage) ? data.storage : [];
  const pbxUp = pbx.length > 0 && pbx.every((d) => d.up);
  const storageOk = storage.every((s) => s.ok);
  let text;
  let kind;
  if (pbx.length === 0) { text = 'No PBX'; kind = 'unknown'; }
  else if (pbxUp) { text = 'PBX link up'; kind = 'ok'; }
  else { text = 'PBX link down'; kind = 'bad'; }
  if (!storageOk) { text += ' · storage down'; kind = 'bad'; }
  el.textContent = text;
  el.className = `indicator indicator-${kind}`;
  el.dataset.status = data.status || '';
  el.title = [...pbx.map((d) => `PBX ${d.driver}: ${d.up ? 'up' : 'down'}`),
              ...storage.map((s) => `storage ${s.name}: ${s.ok ? 'ok' : 'not ready'}`)].join('\n') || 'No details';
}

// ---- pop --------------------------------------------------------------------------------------------------

function showBanner(message) {
  const banner = document.getElementById('pop-banner');
  clear(banner);
  const call = message.call || {};
  const who = message.customer ? message.customer.company : 'Unknown caller';
  banner.appendChild(h('span', {class: 'pop-icon', 'aria-hidden': 'true'}, '☎'));
  banner.appendChild(h('span', {}, `Incoming call from ${call.caller || 'a withheld number'}`,
    call.dialled ? ` on ${call.dialled}` : '', ' — ', h('strong', {}, who)));
  banner.appendChild(h('a', {href: '#/call', class: 'button button-small'}, 'Open'));
  banner.appendChild(h('button', {type: 'button', class: 'button button-small button-quiet', 'aria-label': 'Dismiss',
                                  onclick: () => { banner.hidden = true; }}, '×'));
  banner.hidden = false;
  clearTimeout(showBanner.timer);
  showBanner.timer = setTimeout(() => { banner.hidden = true; }, 30000);
}

events.on('call', (message) => {
  current.pop = {
    call: message.call || {},
    customer: message.customer || null,
    notes: Array.isArray(message.notes) ? message.notes : [],
    receivedAt: Date.now(),
  };
  showBanner(message);
  const {path} = parseHash();
  if (path === 'call') route();   // re-render with the new call
  else navigate('#/call');
});

events.on('hello', (message) => {
  if (message.agent) {
    session.agent = message.agent;
    renderHeader();
  }
});

events.on('state', renderLive);

// ---- session ----------------------------------------------------------------------------------------------

function loggedIn({agent, csrf_token: token}) {
  session.agent = agent;
  setCsrfToken(token);
  renderHeader();
  events.connect();
  const {path} = parseHash();
  if (!path || path === 'login') navigate('#/call');
  else route();
}

function loggedOut(text) {
  events.disconnect();
  session.agent = null;
  current.pop = null;
  setCsrfToken(null);
  renderHeader();
  document.getElementById('pop-banner').hidden = true;
  if (text) toast(text, 'error');
  navigate('#/login');
}

setUnauthorizedHandler((err) => {
  if (session.agent) loggedOut(err.message || 'Your session has ended. Please log in again.');
});

events.setSessionCheck(async () => {
  try {
    await api.get('/api/session', {quiet: true});
    return true;
  } catch (e) {
    if (e.status === 401) {
      loggedOut('Your session has ended. Please log in again.');
      return false;
    }
    return true;
  }
});

document.getElementById('logout').addEventListener('click', async () => {
  try {
    await api.post('/api/logout', {}, {quiet: true});
  } catch (e) {
    // the session may already be gone; logging out locally is what the agent wants
  }
  loggedOut(null);
});

document.addEventListener('keydown', (event) => {
  if (!session.agent || !event.altKey || event.ctrlKey || event.metaKey) return;
  const target = pages.find((p) => p.key === event.key && p.show());
  if (target) {
    event.preventDefault();
    navigate(`#/${target.path}`);
  }
});

window.addEventListener('hashchange', route);

async function start() {
  pollHealth();
  setInterval(pollHealth, 10000);
  try {
    const answer = await api.get('/api/session', {quiet: true});
    loggedIn(answer);
  } catch (e) {
    session.agent = null;
    renderHeader();
    route();
  }
}

start();
