// Alerts: the active and recent alerts of /api/alerts, firing first; a
// plain explanation when the server has no alerting yet.
import { h, replace } from './dom.js';
import { api, alertList } from './api.js';
import { fmtAgo, fmtShort } from './format.js';
import { errorBox } from './overview.js';

const ORDER = { firing: 0, pending: 1, resolved: 2, inactive: 3 };

// The alert's name: its alertname label, else the rule's name.
function alertName(a) {
  return String((a.labels || {}).alertname || a.rule || '');
}

export function render(root, ctx) {
  const body = h('div', h('div.skeleton.tall'));
  root.append(h('div.page-head', h('div', h('h1', 'Alerts'),
    h('p.sub', 'Rules from the [alert] sections: pending, firing and recently resolved.'))), body);
  document.title = 'Alerts · monitord';
  let ctl = null;
  let gen = 0;

  async function update() {
    if (ctl) ctl.abort();
    ctl = new AbortController();
    const my = ++gen;
    let data;
    try {
      data = await api.alerts(ctl.signal);
    } catch (e) {
      if (e.name === 'AbortError' || my !== gen) return;
      replace(body, errorBox('Cannot load the alerts', e));
      return;
    }
    if (my !== gen) return;
    if (data === null) {
      replace(body, h('div.empty', { 'data-test': 'alerts-unavailable' },
        h('h2', 'Alerting is not available on this server yet'),
        h('p', 'This monitord does not serve /api/alerts. Once it does, every alert of the [alert] sections shows here with its state, severity, summary and since when it is active.')));
      return;
    }
    const alerts = alertList(data).slice().sort((a, b) =>
      (ORDER[a.state] ?? 9) - (ORDER[b.state] ?? 9) ||
      alertName(a).localeCompare(alertName(b)));
    if (!alerts.length) {
      replace(body, h('div.empty', h('h2', 'All quiet'), h('p', 'No alert is pending or firing.')));
      return;
    }
    replace(body, h('div.card.table-card', h('div.table-wrap', h('table.data', { 'data-test': 'alerts-table' },
      h('thead', h('tr', ['State', 'Alert', 'Severity', 'Summary', 'Labels', 'Since', 'Value'].map((t) => h('th', t)))),
      h('tbody', alerts.map((a) => {
        const l = a.labels || {};
        const rest = Object.keys(l).filter((k) => !['alertname', 'severity'].includes(k)).sort();
        const t = a.since || a.activeAt;
        const since = t ? Date.parse(t) : null;
        const v = Number(a.value);
        return h('tr',
          h('td', h('span.pill', { class: a.state === 'firing' ? (l.severity === 'critical' ? 'critical' : 'warning') : a.state === 'pending' ? 'unknown' : 'ok' }, a.state)),
          h('td.strong', alertName(a), a.silenced ? h('span.badge.silenced', 'silenced') : null),
          h('td', l.severity || ''),
          h('td', (a.annotations || {}).summary || ''),
          h('td.labels', rest.map((k) => h('span.label-chip', `${k}=${l[k]}`))),
          h('td.nowrap', since ? fmtAgo(since) : ''),
          h('td.num', { title: a.value ?? '' }, Number.isFinite(v) ? fmtShort(v) : (a.value ?? '')));
      }))))));
  }

  update();
  return { update, destroy() { gen++; if (ctl) ctl.abort(); } };
}
