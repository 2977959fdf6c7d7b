// Explore: type a PromQL query (metric and label names complete), see it
// as a chart over the time range and as a table at its end.  A parse
// error is shown with a caret under its position.
import { h, replace, icon } from './dom.js';
import { api, cached, ApiError } from './api.js';
import { fmtValue, fmtDateTime } from './format.js';
import {
  stepFor, alignRange, alignMatrix, timeGrid, seriesLabel, guessUnit,
  parseErrorPosition, completionContext, suggest, FUNCTIONS,
} from './query.js';
import { Chart, color } from './chart.js';

const MAX_SERIES = 50;
const MAX_ROWS = 500;
const EXAMPLES = ['up', 'sum by (job) (rate(http_requests_total[5m]))',
  'process_resident_memory_bytes', 'rate(node_cpu_seconds_total{mode="idle"}[5m])'];

export function render(root, ctx) {
  const input = h('textarea.q-input', {
    rows: 1, spellcheck: 'false', autocomplete: 'off', autocapitalize: 'off',
    placeholder: 'A PromQL expression, e.g. rate(http_requests_total[5m])',
    'aria-label': 'Query', 'data-test': 'query',
  });
  const list = h('ul.complete', { hidden: true, role: 'listbox' });
  const run = h('button.btn.primary', { type: 'submit', 'data-test': 'run' }, 'Run');
  const form = h('form.q-form', { onsubmit: (e) => { e.preventDefault(); submit(); } },
    h('div.q-box', input, list), run);
  const status = h('div.q-status');
  const errBox = h('div');
  const chartBox = h('div.card.explore-chart', { hidden: true });
  const tableBox = h('div.card.explore-table', { hidden: true });
  const empty = h('div.empty.explore-empty');
  root.append(
    h('div.page-head', h('div', h('h1', 'Explore'),
      h('p.sub', 'Ask the store anything in PromQL. Enter runs the query, Shift+Enter adds a line.'))),
    form, status, errBox, chartBox, tableBox, empty);
  document.title = 'Explore · monitord';

  let ctl = null;
  let gen = 0;
  let chart = null;
  let items = [];
  let sel = -1;
  let ctxInfo = null;

  input.value = ctx.state.params.q || '';
  autosize();

  function autosize() {
    input.style.height = 'auto';
    input.style.height = `${Math.min(160, input.scrollHeight + 2)}px`;
  }

  function submit() {
    closeList();
    const q = input.value.trim();
    if (q === (ctx.state.params.q || '')) update();
    else ctx.setParams({ q });
  }

  // Completion of metric, function and label names.
  async function complete() {
    const pos = input.selectionStart;
    const c = completionContext(input.value, pos);
    ctxInfo = c;
    if (!c.kind) return closeList();
    let names = [];
    try {
      if (c.kind === 'metric') {
        const metrics = await cached('names', () => api.labelValues('__name__'));
        names = suggest(metrics.concat(FUNCTIONS), c.prefix);
      } else {
        const labels = await cached('labels', () => api.labels());
        names = suggest(labels.filter((l) => l !== '__name__'), c.prefix);
      }
    } catch {
      return closeList();
    }
    if (input.selectionStart !== pos) return;	// typed on meanwhile
    items = names;
    sel = names.length ? 0 : -1;
    drawList();
  }

  function drawList() {
    if (!items.length) return closeList();
    replace(list, items.map((n, i) => h('li', {
      role: 'option', class: i === sel ? 'sel' : '',
      'aria-selected': String(i === sel),
      onmousedown: (e) => { e.preventDefault(); accept(i); },
    }, h('span.c-name', n), h('span.c-kind', FUNCTIONS.includes(n) && ctxInfo.kind === 'metric' ? 'function' : ctxInfo.kind))));
    list.hidden = false;
  }

  function closeList() {
    list.hidden = true;
    items = [];
    sel = -1;
  }

  function accept(i) {
    const name = items[i];
    const c = ctxInfo;
    const v = input.value;
    const end = c.from + c.prefix.length;
    const add = FUNCTIONS.includes(name) && c.kind === 'metric' ? `${name}(` : name;
    input.value = v.slice(0, c.from) + add + v.slice(end);
    const at = c.from + add.length;
    input.setSelectionRange(at, at);
    closeList();
    autosize();
    input.focus();
  }

  input.addEventListener('input', () => { autosize(); complete(); });
  input.addEventListener('blur', () => setTimeout(closeList, 100));
  input.addEventListener('keydown', (e) => {
    if (!list.hidden && items.length) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        sel = (sel + (e.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length;
        drawList();
        return;
      }
      if (e.key === 'Tab' || (e.key === 'Enter' && !e.shiftKey && sel >= 0)) {
        e.preventDefault();
        accept(sel);
        return;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        closeList();
        return;
      }
    }
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      submit();
    }
  });

  function showExamples() {
    replace(empty,
      h('h2', 'Start with a query'),
      h('p', 'Some to try:'),
      h('div.examples', EXAMPLES.map((q) => h('a.example', { href: ctx.href('explore', null, { q }) }, h('code', q)))));
    empty.hidden = false;
  }

  async function update() {
    const q = (ctx.state.params.q || '').trim();
    if (document.activeElement !== input) {
      input.value = q;
      autosize();
    }
    if (ctl) ctl.abort();
    ctl = new AbortController();
    const signal = ctl.signal;
    const my = ++gen;
    replace(errBox);
    if (!q) {
      chartBox.hidden = true;
      tableBox.hidden = true;
      replace(status);
      showExamples();
      return;
    }
    empty.hidden = true;
    status.textContent = 'Running…';
    status.className = 'q-status running';
    const { start, end } = ctx.range();
    const width = Math.max(100, (chartBox.clientWidth || root.clientWidth || 800) - 90);
    const s = Math.floor(start / 1000);
    const e = Math.floor(end / 1000);
    const step = stepFor(s, e, width);
    const ar = alignRange(s, e, step);
    const t0 = performance.now();
    const [inst, range] = await Promise.allSettled([
      api.query(q, e, signal), api.queryRange(q, ar.start, ar.end, step, signal)]);
    if (my !== gen) return;
    const ms = Math.round(performance.now() - t0);
    status.className = 'q-status';
    if (inst.status === 'rejected' && inst.reason.name === 'AbortError') return;
    if (inst.status === 'rejected') {
      showError(q, inst.reason);
      chartBox.hidden = true;
      tableBox.hidden = true;
      replace(status);
      return;
    }
    const unit = guessUnit(q);
    const d = inst.value;
    const nSeries = d.resultType === 'vector' || d.resultType === 'matrix' ? d.result.length : 1;
    replace(status,
      h('span', `${nSeries} series`), h('span.sep', '·'),
      h('span', `at ${fmtDateTime(e * 1000, true)}`), h('span.sep', '·'),
      h('span', `step ${step}s`), h('span.sep', '·'), h('span', `${ms} ms`));
    drawTable(d, unit);
    if (range.status === 'fulfilled') {
      drawChart(range.value, ar, step, unit);
    } else {
      // An instant-only query (a range vector, a string) has no chart.
      if (chart) { chart.destroy(); chart = null; }
      replace(chartBox, h('div.panel-msg', h('span', range.reason.message)));
      chartBox.hidden = false;
    }
  }

  function showError(q, err) {
    const pos = err instanceof ApiError ? parseErrorPosition(err.message, q) : null;
    const box = h('div.error-box.q-error', { role: 'alert', 'data-test': 'query-error' }, icon('alert', 18),
      h('div',
        h('strong', pos ? `Parse error at line ${pos.line}, column ${pos.col}` : 'The query failed'),
        h('div.err-msg', pos ? pos.message.replace(/^parse error: /, '') : err.message)));
    if (pos) {
      const lines = q.split('\n');
      const line = lines[pos.line - 1] ?? '';
      box.lastChild.append(h('pre.caret',
        h('span', line.slice(0, pos.col - 1)),
        h('mark', line.slice(pos.col - 1, pos.col) || ' '),
        h('span', line.slice(pos.col)),
        '\n', h('span.caret-line', `${' '.repeat(Math.max(0, pos.col - 1))}^`)));
    }
    replace(errBox, box);
  }

  function drawChart(d, ar, step, unit) {
    const xs = timeGrid(ar.start, ar.end, step);
    let result = d.result || [];
    if (d.resultType === 'scalar') result = [];
    const shown = result.slice(0, MAX_SERIES);
    const ys = alignMatrix(shown, ar.start, step, xs.length);
    const series = shown.map((r, i) => ({ label: seriesLabel(r.metric || {}, 'value'), color: color(i) }));
    chartBox.hidden = false;
    if (!series.length) {
      if (chart) { chart.destroy(); chart = null; }
      replace(chartBox, h('div.panel-msg', h('span', h('strong', 'No data'), ' in this time range.')));
      return;
    }
    if (chart) chart.destroy();
    replace(chartBox, result.length > MAX_SERIES
      ? h('div.muted.small', `Showing ${MAX_SERIES} of ${result.length} series.`) : null);
    chart = new Chart(chartBox, {
      unit, series, xs, ys, syncKey: 'explore', onZoom: (a, b) => ctx.zoom(a, b), height: 280,
    });
  }

  function drawTable(d, unit) {
    tableBox.hidden = false;
    let rows = [];
    if (d.resultType === 'vector') {
      rows = d.result.map((r) => [seriesLabel(r.metric, '{}'), fmtValue(Number(r.value[1]), unit), r.value[1]]);
    } else if (d.resultType === 'matrix') {
      rows = d.result.map((r) => [seriesLabel(r.metric, '{}'),
        r.values.slice(-5).map((v) => `${v[1]} @${v[0]}`).join('\n'), '']);
    } else if (d.resultType === 'scalar') {
      rows = [['scalar', fmtValue(Number(d.result[1]), unit), d.result[1]]];
    } else if (d.resultType === 'string') {
      rows = [['string', d.result[1], '']];
    }
    if (!rows.length) {
      replace(tableBox, h('div.panel-msg', h('span', h('strong', 'Empty result'), ' at the end of the range.')));
      return;
    }
    const more = rows.length > MAX_ROWS ? rows.length - MAX_ROWS : 0;
    replace(tableBox, h('div.table-wrap', h('table.data', { 'data-test': 'result-table' },
      h('thead', h('tr', h('th', 'Series'), h('th.num', 'Value'), h('th.num.raw', 'Raw'))),
      h('tbody', rows.slice(0, MAX_ROWS).map(([a, b, c]) => h('tr',
        h('td.series', a), h('td.num', b), h('td.num.raw', c)))))),
    more ? h('div.muted.small', `${more} more rows not shown.`) : null);
  }

  update();
  return {
    update,
    destroy() {
      gen++;
      if (ctl) ctl.abort();
      if (chart) chart.destroy();
    },
  };
}
