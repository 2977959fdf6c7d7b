// The dashboard's shell: header, theme, routing from the URL hash to a
// page, auto-refresh.  A page module exports render(root, ctx) returning
// {update(), destroy()}: update() reloads its data for the current state
// (a new time range, an auto-refresh), destroy() stops its work.
import { h, icon, replace } from './dom.js';
import {
  parseHash, buildHash, resolveRange, refreshMs, isRelative,
  DEFAULT_FROM, DEFAULT_TO, DEFAULT_REFRESH,
} from './state.js';
import { timeControls } from './timepicker.js';
import * as overview from './overview.js';
import * as service from './service.js';
import * as explore from './explore.js';
import * as alerts from './alerts.js';
import * as targets from './targets.js';

const PAGES = { overview, service, explore, alerts, targets };
const NAV = [['overview', 'Overview'], ['explore', 'Explore'],
  ['alerts', 'Alerts'], ['targets', 'Targets']];

// Light, dark, or the system's choice (no stored value).
const THEME_KEY = 'monitord-theme';
function storedTheme() {
  try { return localStorage.getItem(THEME_KEY); } catch { return null; }
}
function applyTheme(t) {
  const dark = t ? t === 'dark' : matchMedia('(prefers-color-scheme: dark)').matches;
  document.documentElement.dataset.theme = dark ? 'dark' : 'light';
}

const TIME_KEYS = ['from', 'to', 'refresh'];

const ctx = {
  get state() { return parseHash(location.hash); },
  range() {
    const p = this.state.params;
    return resolveRange(p.from || DEFAULT_FROM, p.to || DEFAULT_TO, Date.now());
  },
  // The time parameters every page shares, to carry across links.
  timeParams() {
    const p = this.state.params;
    const out = {};
    for (const k of TIME_KEYS) if (p[k]) out[k] = p[k];
    return out;
  },
  href(page, arg, extra) {
    return buildHash({ page, arg, params: { ...this.timeParams(), ...extra } });
  },
  setParams(patch) {
    const s = this.state;
    location.hash = buildHash({ ...s, params: { ...s.params, ...patch } });
  },
  zoom(startMs, endMs) {
    this.setParams({ from: String(startMs), to: String(endMs) });
  },
  refresh() { if (view) view.update(); },
};

let view = null;
let viewKey = null;
let timer = null;

const main = h('main', { id: 'main' });
const navLinks = NAV.map(([page, title]) => h('a.nav-link', { href: `#/${page}`, 'data-page': page }, title));
const controls = timeControls(ctx);
const themeBtn = h('button.btn.icon-btn.theme-btn', {
  type: 'button', title: 'Switch light/dark theme', 'aria-label': 'Switch theme',
  onclick: () => {
    const next = document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark';
    try { localStorage.setItem(THEME_KEY, next); } catch { /* private mode */ }
    applyTheme(next);
    themeBtn.replaceChildren(icon(next === 'dark' ? 'sun' : 'moon'));
    // Charts read their colours when drawn.
    viewKey = null;
    route();
  },
});

function header() {
  return h('header.top',
    h('a.brand', { href: '#/overview', 'aria-label': 'monitord overview' },
      h('span.brand-mark', { 'aria-hidden': 'true' }), 'monitord'),
    h('nav.nav', navLinks),
    controls.el, themeBtn);
}

function route() {
  const state = parseHash(location.hash);
  controls.sync(state);
  for (const a of navLinks) {
    const active = a.dataset.page === state.page ||
      (state.page === 'service' && a.dataset.page === 'overview');
    a.classList.toggle('active', active);
    a.setAttribute('href', buildHash({ page: a.dataset.page, params: ctx.timeParams() }));
    if (active) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  const key = `${state.page}/${state.arg || ''}`;
  if (key !== viewKey || !view) {
    if (view) view.destroy();
    replace(main);
    viewKey = key;
    view = PAGES[state.page].render(main, ctx);
  } else {
    view.update();
  }
  schedule(state);
}

function schedule(state) {
  clearInterval(timer);
  timer = null;
  const p = state.params;
  const ms = refreshMs(p.refresh || DEFAULT_REFRESH);
  const relative = isRelative(p.from || DEFAULT_FROM, p.to || DEFAULT_TO);
  // An absolute range shows the same data every time.
  if (ms > 0 && (relative || state.page === 'targets' || state.page === 'alerts')) {
    timer = setInterval(() => {
      if (!document.hidden && view) view.update();
    }, ms);
  }
}

applyTheme(storedTheme());
themeBtn.append(icon(document.documentElement.dataset.theme === 'dark' ? 'sun' : 'moon'));
matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
  if (!storedTheme()) {
    applyTheme(null);
    viewKey = null;
    route();
  }
});
document.body.append(header(), main);
window.addEventListener('hashchange', route);
route();
