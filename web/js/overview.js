// Overview: every [service] as a card, grouped by method, unhealthy ones
// first, each with its signals' values now and a sparkline of its first
// signal over the time range.
import { h, replace, icon } from './dom.js';
import { api, ApiError, alertList } from './api.js';
import { fmtValue, splitUnit } from './format.js';
import { panelsFor, METHODS, stepFor, alignRange, alignMatrix, timeGrid } from './query.js';
import { sparkline, SIGNAL_COLORS } from './chart.js';

const SPARK_POINTS = 120;

// Health of a service from its jobs' targets and the alerts about it:
// {level, rank, text}; rank orders the cards (0 first).
export function serviceHealth(svc, targets, alerts) {
  const jobs = new Set(svc.jobs || []);
  const ts = (targets || []).filter((t) => jobs.has(t.job));
  const mine = (alerts || []).filter((a) => {
    const l = a.labels || {};
    return jobs.has(l.job) || l.service === svc.name;
  });
  const firing = mine.filter((a) => a.state === 'firing');
  const critical = firing.filter((a) => (a.labels || {}).severity === 'critical');
  const down = ts.filter((t) => t.health === 'down');
  const up = ts.filter((t) => t.health === 'up');
  const plural = (n, w) => `${n} ${w}${n === 1 ? '' : 's'}`;
  if (critical.length) return { level: 'critical', rank: 0, text: `${plural(critical.length, 'critical alert')} firing` };
  if (down.length) return { level: 'down', rank: 1, text: `${down.length} of ${plural(ts.length, 'target')} down` };
  if (firing.length) return { level: 'warning', rank: 2, text: `${plural(firing.length, 'alert')} firing` };
  if (ts.length === 0) return { level: 'unknown', rank: 3, text: 'no targets' };
  if (up.length < ts.length) return { level: 'unknown', rank: 3, text: `${up.length} of ${plural(ts.length, 'target')} up` };
  return { level: 'ok', rank: 4, text: ts.length === 1 ? 'target up' : `all ${ts.length} targets up` };
}

function settled(r) {
  return r.status === 'fulfilled' ? r.value : null;
}

export function render(root, ctx) {
  const notice = h('div.notices');
  const summary = h('div.summary');
  const groups = h('div.groups', h('div.loading-block', h('div.skeleton'), h('div.skeleton'), h('div.skeleton')));
  root.append(
    h('div.page-head',
      h('div', h('h1', 'Overview'), h('p.sub', 'Every service, grouped by how it is watched. Unhealthy first.')),
      summary),
    notice, groups);
  document.title = 'Overview · monitord';
  let ctl = null;
  let gen = 0;

  async function update() {
    if (ctl) ctl.abort();
    ctl = new AbortController();
    const signal = ctl.signal;
    const my = ++gen;
    const [svcR, tgtR, alR] = await Promise.allSettled([
      api.services(signal), api.targets(signal), api.alerts(signal)]);
    if (my !== gen) return;
    if (svcR.status === 'rejected') {
      replace(groups, errorBox('Cannot load the services', svcR.reason));
      return;
    }
    const services = svcR.value.services || [];
    const targets = (settled(tgtR) || {}).targets || [];
    const alertsData = settled(alR);
    const alerts = alertList(alertsData);
    const alertsKnown = alR.status === 'fulfilled' && alertsData !== null;
    if (services.length === 0) {
      replace(summary);
      replace(groups, h('div.empty',
        h('h2', 'No services configured'),
        h('p', 'Add a [service "NAME"] section to monitord.conf with a method (red, golden or use) and the jobs that feed it, then reload (SIGHUP).'),
        h('pre.code', '[service "shop-api"]\nmethod = golden\njob = shop-api')));
      return;
    }
    const rows = services.map((svc) => ({ svc, health: serviceHealth(svc, targets, alerts) }));
    const counts = { bad: rows.filter((r) => r.health.rank < 3).length };
    replace(summary,
      stat(services.length, services.length === 1 ? 'service' : 'services'),
      stat(counts.bad, 'need attention', counts.bad ? 'bad' : 'good'),
      alertsKnown
        ? stat(alerts.filter((a) => a.state === 'firing').length, 'alerts firing',
          alerts.some((a) => a.state === 'firing') ? 'bad' : 'good')
        : stat('–', 'alerts firing', '', 'This server does not serve /api/alerts yet.'));

    const { start, end } = ctx.range();
    const cards = new Map();
    const byMethod = ['red', 'golden', 'use'].map((m) => {
      const list = rows.filter((r) => r.svc.method === m)
        .sort((a, b) => a.health.rank - b.health.rank || a.svc.name.localeCompare(b.svc.name));
      if (!list.length) return null;
      return h('section.group', { 'data-method': m },
        h('h2.group-title', METHODS[m].title, h('span.group-sub', METHODS[m].long), h('span.count', String(list.length))),
        h('div.cards', list.map((r) => {
          const c = card(r.svc, r.health, ctx);
          cards.set(r.svc.name, c);
          return c.el;
        })));
    });
    replace(groups, byMethod);
    replace(notice);
    // Numbers and sparklines, all at once.
    const s = Math.floor(start / 1000);
    const e = Math.floor(end / 1000);
    const step = stepFor(s, e, SPARK_POINTS);
    const ar = alignRange(s, e, step);
    const n = timeGrid(ar.start, ar.end, step).length;
    let missing = false;
    await Promise.all(rows.map(async ({ svc }) => {
      const c = cards.get(svc.name);
      const panels = panelsFor(svc);
      await Promise.all(panels.map(async (p, i) => {
        try {
          const d = await api.query(p.expr, e, signal);
          c.setValue(i, instantValue(d, p.unit), p.unit);
        } catch (err) {
          if (err.name === 'AbortError') return;
          if (err instanceof ApiError && err.status === 404) missing = true;
          c.setError(i, err);
        }
      }));
      if (!panels.length) return;
      try {
        const d = await api.queryRange(panels[0].expr, ar.start, ar.end, step, signal);
        const ys = alignMatrix(d.result || [], ar.start, step, n);
        c.setSpark(ys[0] || [], SIGNAL_COLORS[panels[0].signal] || '#3b82f6');
      } catch (err) {
        if (err.name === 'AbortError') return;
        c.setSpark([], null);
      }
    }));
    if (my !== gen) return;
    if (missing) {
      replace(notice, h('div.notice', icon('alert'),
        h('span', 'This server does not answer PromQL queries yet (/api/v1/query: 404): values and charts stay empty.')));
    }
  }

  update();
  return {
    update,
    destroy() {
      gen++;
      if (ctl) ctl.abort();
    },
  };
}

function stat(value, label, tone = '', title = undefined) {
  return h('div.stat', { class: tone, title }, h('span.stat-value', String(value)), h('span.stat-label', label));
}

// The single number of an instant query's answer, or null.  Several
// series make one: the worst of times and shares, the sum of the rest.
export function instantValue(d, unit) {
  if (!d) return null;
  if (d.resultType === 'scalar') return Number(d.result[1]);
  if (d.resultType !== 'vector' || d.result.length === 0) return null;
  const vs = d.result.map((s) => Number(s.value[1]));
  if (['seconds', 'percent', 'ratio'].includes(unit)) return Math.max(...vs);
  return vs.reduce((a, b) => a + b, 0);
}

function card(svc, health, ctx) {
  const panels = panelsFor(svc);
  const values = panels.map(() => h('span.kv-value.loading', '…'));
  const spark = h('div.spark-box');
  const el = h('a.card.svc-card', {
    href: ctx.href('service', svc.name),
    'data-service': svc.name, 'data-health': health.level,
  },
  h('div.card-head',
    h('span.dot', { class: health.level, title: health.text }),
    h('span.card-title', svc.name),
    h('span.badge', { class: `m-${svc.method}` }, METHODS[svc.method] ? METHODS[svc.method].title : svc.method)),
  svc.description ? h('p.card-desc', svc.description) : null,
  h('div.kvs', { 'data-n': String(panels.length) }, panels.map((p, i) => h('div.kv',
    h('span.kv-label', p.title, p.queries.length > 1 ? h('span.q', 'p95') : null),
    values[i]))),
  spark,
  h('div.card-foot', { class: health.level }, h('span', health.text)));
  return {
    el,
    setValue(i, v, unit) {
      values[i].classList.remove('loading');
      const [num, u] = v === null ? ['no data', ''] : splitUnit(fmtValue(v, unit));
      replace(values[i], num, u ? h('span.unit-part', u) : null);
      values[i].classList.toggle('nodata', v === null);
      values[i].title = panels[i].expr;
    },
    setError(i, err) {
      values[i].classList.remove('loading');
      values[i].classList.add('nodata');
      values[i].textContent = '–';
      values[i].title = err.message;
    },
    setSpark(ys, col) {
      replace(spark, col && ys.some((y) => y !== null) ? sparkline(ys, col, 40) : h('div.spark-empty'));
    },
  };
}

export function errorBox(title, err) {
  return h('div.error-box', { role: 'alert' }, icon('alert', 18),
    h('div', h('strong', title), h('div.err-msg', err && err.message ? err.message : String(err))));
}
