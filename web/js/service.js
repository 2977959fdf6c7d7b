// A service's page: the panels of its method (RED: rate, errors,
// duration p50/p95/p99; golden: latency, traffic, errors, saturation;
// USE: utilization, saturation, errors), each titled with the metric's
// why (its HELP), its query one click away.  Charts share the crosshair
// and a drag on any of them zooms the page's time range.
import { h, replace, icon } from './dom.js';
import { api, ApiError, alertList, metricHelp } from './api.js';
import { fmtValue, unitLabel, splitUnit } from './format.js';
import {
  panelsFor, METHODS, stepFor, alignRange, alignMatrix, timeGrid,
  metricNames, seriesLabel,
} from './query.js';
import { Chart, color, SIGNAL_COLORS, QUANTILE_COLORS } from './chart.js';
import { serviceHealth, errorBox } from './overview.js';

export function render(root, ctx) {
  const name = ctx.state.arg;
  const head = h('div.page-head', h('div', h('h1', name)));
  const body = h('div.panels', h('div.skeleton.tall'), h('div.skeleton.tall'));
  root.append(
    h('a.back', { href: ctx.href('overview') }, icon('back', 14), 'Overview'),
    head, body);
  document.title = `${name} · monitord`;
  let ctl = null;
  let gen = 0;
  let panels = null;	// [{p, view}]

  async function update() {
    if (ctl) ctl.abort();
    ctl = new AbortController();
    const signal = ctl.signal;
    const my = ++gen;
    // The charts need only the services: they start before the rest.
    const restP = Promise.allSettled([api.targets(signal), api.alerts(signal)]);
    let svc;
    try {
      svc = ((await api.services(signal)).services || []).find((s) => s.name === name);
    } catch (e) {
      if (e.name === 'AbortError' || my !== gen) return;
      replace(body, errorBox('Cannot load the services', e));
      return;
    }
    if (my !== gen) return;
    if (!svc) {
      replace(head, h('div', h('h1', name)));
      replace(body, h('div.empty', h('h2', 'No such service'),
        h('p', `monitord.conf has no [service "${name}"] section.`),
        h('a.btn', { href: ctx.href('overview') }, 'Back to the overview')));
      return;
    }
    if (!panels) {
      renderHead(svc, { level: 'unknown', text: '…' }, null);
      panels = panelsFor(svc).map((p) => ({ p, view: panelView(p, ctx) }));
      replace(body, panels.map((x) => x.view.el));
    }
    const { start, end } = ctx.range();
    const loads = Promise.all(panels.map((x) => x.view.load(start, end, signal)));
    const [tgtR, alR] = await restP;
    if (my !== gen) return;
    const targets = tgtR.status === 'fulfilled' ? tgtR.value.targets || [] : [];
    const alerts = alR.status === 'fulfilled' ? alertList(alR.value) : [];
    renderHead(svc, serviceHealth(svc, targets, alerts), targets);
    await loads;
  }

  function renderHead(svc, health, targets) {
    const jobs = (svc.jobs || []).map((j) => {
      if (targets === null) return h('span.chip', h('span.chip-name', j), h('span.chip-val.none', '…'));
      const ts = targets.filter((t) => t.job === j);
      const up = ts.filter((t) => t.health === 'up').length;
      return h('a.chip', { href: ctx.href('targets', null, { job: j }), title: 'Targets of this job' },
        h('span.chip-name', j),
        h('span.chip-val', { class: !ts.length ? 'none' : up < ts.length ? 'bad' : '' },
          ts.length ? `${up}/${ts.length} up` : 'no targets'));
    });
    replace(head,
      h('div',
        h('div.title-row',
          h('h1', svc.name),
          h('span.badge', { class: `m-${svc.method}` }, METHODS[svc.method] ? METHODS[svc.method].title : svc.method),
          h('span.pill', { class: health.level, 'data-test': 'health' }, h('span.dot', { class: health.level }), health.text)),
        svc.description ? h('p.sub', svc.description) : null,
        h('div.chips', h('span.chips-label', 'Jobs'), jobs)));
  }

  update();
  return {
    update,
    destroy() {
      gen++;
      if (ctl) ctl.abort();
      for (const x of panels || []) x.view.destroy();
    },
  };
}

function panelView(p, ctx) {
  const why = h('p.panel-why', p.what);
  const now = h('div.panel-now', { title: 'Now' });
  const plot = h('div.panel-plot', h('div.skeleton.chart-skel'));
  const queryBox = h('div.panel-query', { hidden: true },
    p.queries.map((q) => h('div.q-row',
      p.queries.length > 1 ? h('span.q-label', q.label) : null,
      h('code', q.expr))),
    h('div.q-actions',
      h('span.muted', p.source === 'config' ? 'from monitord.conf' : 'default query for this method and job'),
      h('a.link', { href: ctx.href('explore', null, { q: p.expr }) }, icon('external', 13), 'Open in Explore')));
  const toggle = h('button.link-btn', {
    type: 'button', 'aria-expanded': 'false', 'data-test': 'show-query',
    onclick: () => {
      queryBox.hidden = !queryBox.hidden;
      toggle.setAttribute('aria-expanded', String(!queryBox.hidden));
      toggle.lastChild.textContent = queryBox.hidden ? 'Query' : 'Hide query';
    },
  }, icon('code', 14), h('span', 'Query'));
  const el = h('section.card.panel', { 'data-signal': p.signal },
    h('div.panel-head',
      h('div.panel-titles', h('h3', p.title, p.unit ? h('span.unit', unitLabel(p.unit)) : null), why),
      now),
    plot,
    h('div.panel-foot', toggle),
    queryBox);
  let chart = null;
  const names = metricNames(p.expr);
  if (names.length) {
    metricHelp(names[0]).then((help) => {
      if (help) {
        why.textContent = help;
        why.title = `${names[0]}: ${help}`;
      }
    });
  }

  async function load(startMs, endMs, signal) {
    const width = Math.max(100, plot.clientWidth - 60);
    const s = Math.floor(startMs / 1000);
    const e = Math.floor(endMs / 1000);
    const step = stepFor(s, e, width);
    const ar = alignRange(s, e, step);
    const xs = timeGrid(ar.start, ar.end, step);
    const reqs = p.queries.map((q) => ({ expr: q.expr, start: ar.start, end: ar.end, step }));
    el.dataset.requests = JSON.stringify(reqs);
    let results;
    try {
      results = await Promise.all(reqs.map((r) => api.queryRange(r.expr, r.start, r.end, r.step, signal)));
    } catch (err) {
      if (err.name === 'AbortError') return;
      if (chart) { chart.destroy(); chart = null; }
      const missing = err instanceof ApiError && err.status === 404;
      replace(plot, missing
        ? h('div.panel-msg', h('span', 'This server does not answer PromQL queries yet.'))
        : h('div.panel-msg.error', icon('alert', 16), h('span', err.message)));
      replace(now, '–');
      return;
    }
    const series = [];
    const ys = [];
    results.forEach((d, qi) => {
      const q = p.queries[qi];
      const aligned = alignMatrix(d.result || [], ar.start, step, xs.length);
      (d.result || []).forEach((r, i) => {
        const lbl = seriesLabel(r.metric || {}, '');
        const label = lbl === '' || lbl === '{}' ? q.label : (p.queries.length > 1 ? `${q.label} ${lbl}` : lbl);
        let col;
        if (QUANTILE_COLORS[q.label]) col = QUANTILE_COLORS[q.label];
        else if ((d.result || []).length === 1 && results.length === 1) col = SIGNAL_COLORS[p.signal] || color(0);
        else col = color(series.length);
        series.push({ label, color: col });
        ys.push(aligned[i]);
      });
    });
    if (series.length === 0) {
      if (chart) { chart.destroy(); chart = null; }
      replace(plot, h('div.panel-msg', h('span', h('strong', 'No data'), ' in this time range for this query.')));
      replace(now, '–');
      return;
    }
    const opts = {
      unit: p.unit, series, xs, ys, syncKey: 'service',
      onZoom: (a, b) => ctx.zoom(a, b), height: 200,
    };
    const sameShape = chart && chart.opts.series.length === series.length &&
      chart.opts.series.every((x, i) => x.label === series[i].label);
    if (sameShape) {
      chart.setData(xs, ys);
    } else {
      if (chart) chart.destroy();
      replace(plot);
      chart = new Chart(plot, opts);
    }
    // "Now": the newest point of the first query (p95 for quantiles).
    const mainIdx = p.queries.length > 1 ? series.findIndex((x) => x.label.startsWith('p95')) : 0;
    const line = ys[Math.max(0, mainIdx)] || [];
    let last = null;
    for (let i = line.length - 1; i >= 0; i--) if (line[i] !== null) { last = line[i]; break; }
    const [num, u] = splitUnit(fmtValue(last, p.unit));
    replace(now, h('span.now-val', num, u ? h('span.unit-part', u) : null),
      p.queries.length > 1 ? h('span.now-label', 'p95') : null);
  }

  return {
    el,
    load,
    destroy() { if (chart) chart.destroy(); },
  };
}
