// Targets: every collector target with its health, last run, duration,
// samples and last error (/api/targets), the broken ones first.
import { h, replace } from './dom.js';
import { api } from './api.js';
import { fmtAgo, fmtSeconds, fmtDuration } from './format.js';
import { errorBox } from './overview.js';

const RANK = { down: 0, unknown: 1, up: 2 };

export function render(root, ctx) {
  const summary = h('div.summary');
  const filter = h('input.filter', {
    type: 'search', placeholder: 'Filter by job, instance or kind',
    'aria-label': 'Filter targets', value: ctx.state.params.job || '',
  });
  const body = h('div', h('div.skeleton.tall'));
  root.append(
    h('div.page-head', h('div', h('h1', 'Targets'),
      h('p.sub', 'What monitord collects from, and how the last run went.')), summary),
    h('div.toolbar', filter), body);
  document.title = 'Targets · monitord';
  let ctl = null;
  let gen = 0;
  let targets = [];

  filter.addEventListener('input', draw);

  function draw() {
    const f = filter.value.trim().toLowerCase();
    const shown = targets.filter((t) => !f || [t.job, t.instance, t.kind].some((x) => String(x).toLowerCase().includes(f)))
      .sort((a, b) => (RANK[a.health] ?? 1) - (RANK[b.health] ?? 1) ||
        a.job.localeCompare(b.job) || a.instance.localeCompare(b.instance));
    if (!targets.length) {
      replace(body, h('div.empty', h('h2', 'No targets'), h('p', 'Add collector sections ([proc], [http], [postgres], [rabbitmq]) to monitord.conf.')));
      return;
    }
    const now = Date.now();
    replace(body, h('div.card.table-card', h('div.table-wrap', h('table.data.targets', { 'data-test': 'targets-table' },
      h('thead', h('tr', ['Health', 'Job', 'Instance', 'Kind', 'Last run', 'Duration', 'Samples', 'Interval', 'Failures', 'Last error']
        .map((t, i) => h('th', { class: i >= 5 && i <= 8 ? 'num' : '' }, t)))),
      h('tbody', shown.map((t) => {
        const cls = t.health === 'up' ? 'ok' : t.health === 'down' ? 'down' : 'unknown';
        return h('tr', { 'data-job': t.job, 'data-health': t.health },
          h('td.health', h('span.pill', { class: cls }, h('span.dot', { class: cls }), t.health)),
          h('td.strong.nowrap.job', t.job),
          h('td.mono', { 'data-label': 'Instance' }, t.instance),
          h('td.opt', { 'data-label': 'Kind' }, t.kind),
          h('td.nowrap', { 'data-label': 'Last run', title: t.lastRun || '' }, t.lastRun ? fmtAgo(Date.parse(t.lastRun), now) : 'never'),
          h('td.num', { 'data-label': 'Duration' }, t.runs ? fmtSeconds(t.lastDuration) : '–'),
          h('td.num.opt', { 'data-label': 'Samples' }, t.runs ? String(t.lastSamples) : '–'),
          h('td.num.opt', { 'data-label': 'Interval' }, fmtDuration(t.interval * 1000)),
          h('td.num.opt', { 'data-label': 'Failures', title: `${t.runs} runs, ${t.skipped} skipped` }, String(t.failures)),
          h('td.err', { 'data-label': 'Last error' }, t.lastError ? h('span.err-text', { title: t.lastError }, t.lastError) : h('span.muted', '—')));
      })))),
    shown.length < targets.length ? h('div.muted.small', `${targets.length - shown.length} targets hidden by the filter.`) : null));
  }

  async function update() {
    if (ctl) ctl.abort();
    ctl = new AbortController();
    const my = ++gen;
    try {
      const d = await api.targets(ctl.signal);
      if (my !== gen) return;
      targets = d.targets || [];
    } catch (e) {
      if (e.name === 'AbortError' || my !== gen) return;
      replace(body, errorBox('Cannot load the targets', e));
      return;
    }
    const n = (hl) => targets.filter((t) => t.health === hl).length;
    replace(summary,
      h('div.stat', h('span.stat-value', String(targets.length)), h('span.stat-label', 'targets')),
      h('div.stat', { class: 'good' }, h('span.stat-value', String(n('up'))), h('span.stat-label', 'up')),
      h('div.stat', { class: n('down') ? 'bad' : '' }, h('span.stat-value', String(n('down'))), h('span.stat-label', 'down')),
      n('unknown') ? h('div.stat', h('span.stat-value', String(n('unknown'))), h('span.stat-label', 'not run yet')) : null);
    draw();
  }

  update();
  return { update, destroy() { gen++; if (ctl) ctl.abort(); } };
}
