// Time-series charts with uPlot (the global the vendored script defines):
// synchronised crosshair across the charts of a page, drag to zoom (the
// page then moves its time range), a tooltip, and a legend table with
// min, max, avg and last that toggles series.  Also SVG sparklines.
import { h, svg, replace } from './dom.js';
import { fmtValue, fmtDateTime, fmtTick, seriesStats } from './format.js';

// Axis steps for bytes: 1, 2, 5 ... times powers of 1024, so ticks land
// on round KiB, MiB, GiB.
const BYTE_INCRS = [];
for (let k = 0; k <= 5; k++)
  for (const m of [1, 2, 5, 10, 20, 50, 100, 200, 500]) BYTE_INCRS.push(m * 1024 ** k);

const PALETTE = ['#3b82f6', '#f59e0b', '#10b981', '#ef4444', '#8b5cf6',
  '#06b6d4', '#ec4899', '#84cc16', '#f97316', '#64748b'];
export const SIGNAL_COLORS = {
  rate: '#3b82f6', traffic: '#3b82f6', errors: '#ef4444',
  duration: '#8b5cf6', latency: '#8b5cf6', saturation: '#f59e0b',
  utilization: '#10b981',
};
export const QUANTILE_COLORS = { p50: '#10b981', p95: '#f59e0b', p99: '#ef4444' };

export function color(i) {
  return PALETTE[i % PALETTE.length];
}

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

// "monitord:first-chart" marks when the page first showed data in a chart
// or a sparkline: the figure the tests report as time to first chart.
let firstChartMarked = false;
function markFirstChart() {
  if (firstChartMarked) return;
  firstChartMarked = true;
  performance.mark('monitord:first-chart');
}

function alpha(hex, a) {
  const n = Math.round(a * 255).toString(16).padStart(2, '0');
  return hex + n;
}

/*
 * A chart in CONTAINER.  opts: {unit, series: [{label, color}], xs,
 * ys: [[...]], syncKey, onZoom(startMs, endMs), height}.  The element
 * keeps the chart as el.chart for tests.
 */
export class Chart {
  constructor(container, opts) {
    this.opts = opts;
    this.el = h('div.chart');
    this.plot = h('div.chart-plot');
    this.tip = h('div.chart-tip', { hidden: true });
    this.legend = h('table.legend');
    this.el.append(this.plot, this.tip, this.legend);
    this.el.chart = this;
    container.append(this.el);
    this.hovered = false;
    this.create();
    this.ro = new ResizeObserver(() => this.resize());
    this.ro.observe(this.plot);
  }

  create() {
    const { unit, series, xs, ys } = this.opts;
    const width = Math.max(200, this.plot.clientWidth || 600);
    const height = this.opts.height || 220;
    const axisColor = cssVar('--muted') || '#666';
    const gridColor = cssVar('--grid') || '#eee';
    const font = '11px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
    const single = series.length === 1;
    const self = this;
    const uopts = {
      width,
      height,
      legend: { show: false },
      padding: [8, 18, 0, 0],
      cursor: {
        sync: { key: this.opts.syncKey || 'default', setSeries: false },
        drag: { x: true, y: false, setScale: false },
        points: { size: 7, width: 2 },
      },
      scales: {
        x: { time: true },
        y: {
          range: (u, lo, hi) => {
            if (lo === null || hi === null) return [0, 1];
            lo = Math.min(0, lo);
            hi = Math.max(0, hi);
            if (lo === hi) hi = lo + 1;
            return uPlot.rangeNum(lo, hi, 0.1, true);
          },
        },
      },
      axes: [
        {
          stroke: axisColor, font, gap: 6, size: 28, space: 64,
          grid: { stroke: gridColor, width: 1 },
          ticks: { show: false },
          values: (u, splits, ai, space, incr) => splits.map((v) =>
            fmtTick(v, incr, u.scales.x.max - u.scales.x.min)),
        },
        {
          stroke: axisColor, font, gap: 6,
          grid: { stroke: gridColor, width: 1 },
          ticks: { show: false },
          values: (u, splits) => splits.map((v) => fmtValue(v, unit, 3)),
          incrs: unit === 'bytes' || unit === 'bytesps' ? BYTE_INCRS : undefined,
          size: (u, values) => {
            if (!values) return 48;
            const longest = values.reduce((m, v) => Math.max(m, String(v).length), 0);
            return Math.max(40, Math.ceil(longest * 6.6) + 14);
          },
        },
      ],
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 1.6,
          fill: single ? alpha(s.color, 0.1) : undefined,
          points: { show: false },
          spanGaps: false,
        })),
      ],
      hooks: {
        setSelect: [(u) => {
          if (u.select.width > 4 && self.opts.onZoom) {
            const a = u.posToVal(u.select.left, 'x');
            const b = u.posToVal(u.select.left + u.select.width, 'x');
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            self.opts.onZoom(Math.round(a * 1000), Math.round(b * 1000));
          }
        }],
        setCursor: [(u) => self.showTip(u)],
        draw: [(u) => {
          if (u.data[1] && u.data.slice(1).some((ys) => ys.some((y) => y !== null))) markFirstChart();
        }],
      },
    };
    this.u = new uPlot(uopts, [xs, ...ys], this.plot);
    this.u.over.addEventListener('mouseenter', () => { this.hovered = true; });
    this.u.over.addEventListener('mouseleave', () => {
      this.hovered = false;
      this.tip.hidden = true;
    });
    this.renderLegend();
  }

  resize() {
    const w = this.plot.clientWidth;
    if (!this.u || w === 0 || Math.abs(w - this.u.width) < 2) return;
    cancelAnimationFrame(this.raf);
    this.raf = requestAnimationFrame(() => this.u.setSize({ width: w, height: this.u.height }));
  }

  setData(xs, ys) {
    this.opts.xs = xs;
    this.opts.ys = ys;
    if (ys.length !== this.u.series.length - 1) {
      this.u.destroy();
      this.create();
      return;
    }
    this.u.setData([xs, ...ys]);
    this.renderLegend();
  }

  showTip(u) {
    const idx = u.cursor.idx;
    if (!this.hovered || idx === null || idx === undefined || u.cursor.left < 0) {
      this.tip.hidden = true;
      return;
    }
    const { unit, series } = this.opts;
    const rows = series.map((s, i) => {
      const v = u.data[i + 1][idx];
      return { s, v, show: u.series[i + 1].show };
    }).filter((r) => r.show);
    rows.sort((a, b) => (b.v ?? -Infinity) - (a.v ?? -Infinity));
    replace(this.tip,
      h('div.tip-time', fmtDateTime(u.data[0][idx] * 1000, true)),
      rows.slice(0, 12).map((r) => h('div.tip-row',
        h('span.swatch', { style: { background: r.s.color } }),
        h('span.tip-name', r.s.label),
        h('span.tip-val', fmtValue(r.v, unit)))),
      rows.length > 12 ? h('div.tip-more', `${rows.length - 12} more`) : null);
    this.tip.hidden = false;
    const left = u.cursor.left + u.over.offsetLeft;
    const pw = this.plot.clientWidth;
    const tw = this.tip.offsetWidth;
    this.tip.style.left = `${left + 14 + tw > pw ? Math.max(0, left - tw - 14) : left + 14}px`;
    this.tip.style.top = `${Math.max(0, u.cursor.top + u.over.offsetTop - 20)}px`;
  }

  renderLegend() {
    const { unit, series, ys } = this.opts;
    const head = h('tr', h('th', { class: 'name' }, 'Series'),
      ['Min', 'Max', 'Avg', 'Last'].map((t) => h('th', { class: t === 'Min' || t === 'Avg' ? 'opt' : '' }, t)));
    const body = series.map((s, i) => {
      const st = seriesStats(ys[i]);
      const row = h('tr', {
        class: this.u.series[i + 1].show ? '' : 'off',
        title: 'Click to hide or show',
        onclick: () => {
          const show = !this.u.series[i + 1].show;
          this.u.setSeries(i + 1, { show });
          row.classList.toggle('off', !show);
        },
      },
      h('td.name', h('span.swatch', { style: { background: s.color } }), h('span.label', s.label)),
      h('td.opt', fmtValue(st.min, unit)), h('td', fmtValue(st.max, unit)),
      h('td.opt', fmtValue(st.avg, unit)), h('td.last', fmtValue(st.last, unit)));
      return row;
    });
    replace(this.legend, h('thead', head), h('tbody', body));
    this.legend.hidden = series.length === 0;
  }

  destroy() {
    this.ro.disconnect();
    cancelAnimationFrame(this.raf);
    if (this.u) this.u.destroy();
    this.el.remove();
  }
}

// A sparkline of YS (nulls are gaps) as an SVG that stretches to its box.
export function sparkline(ys, col, height = 36) {
  const w = 200;
  const vals = ys.filter((y) => y !== null && Number.isFinite(y));
  const el = svg('svg', {
    class: 'spark', viewBox: `0 0 ${w} ${height}`, preserveAspectRatio: 'none',
    height, 'aria-hidden': 'true',
  });
  if (vals.length < 2) return el;
  let lo = Math.min(0, ...vals);
  let hi = Math.max(...vals);
  if (hi === lo) hi = lo + 1;
  const n = ys.length;
  const x = (i) => (n === 1 ? 0 : (i / (n - 1)) * w);
  const y = (v) => height - 2 - ((v - lo) / (hi - lo)) * (height - 4);
  let line = '';
  let area = '';
  let seg = [];
  const flush = () => {
    if (seg.length > 1) {
      line += `M${seg.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join('L')}`;
      area += `M${seg[0][0].toFixed(1)},${height}L${seg.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join('L')}L${seg[seg.length - 1][0].toFixed(1)},${height}Z`;
    }
    seg = [];
  };
  ys.forEach((v, i) => {
    if (v === null || !Number.isFinite(v)) flush();
    else seg.push([x(i), y(v)]);
  });
  flush();
  markFirstChart();
  el.append(svg('path', { d: area, fill: col, 'fill-opacity': '0.12', stroke: 'none' }),
    svg('path', { d: line, fill: 'none', stroke: col, 'stroke-width': '1.5', 'vector-effect': 'non-scaling-stroke' }));
  return el;
}
