// The header's time controls: the range picker (quick ranges and an
// absolute from/to), zoom out, refresh now and the auto-refresh period.
import { h, icon, replace } from './dom.js';
import { fmtDateTime } from './format.js';
import {
  QUICK_RANGES, REFRESH_CHOICES, DEFAULT_FROM, DEFAULT_TO, DEFAULT_REFRESH,
  rangeLabel, resolveRange, zoomOut, isRelative,
} from './state.js';

const pad = (n) => String(n).padStart(2, '0');
function toLocalInput(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function timeControls(ctx) {
  const label = h('span.tp-label');
  const button = h('button.btn.tp-button', {
    type: 'button', 'aria-haspopup': 'true', 'aria-expanded': 'false',
    title: 'Time range', 'data-test': 'time-picker',
  }, icon('clock'), label, icon('chevron', 14));
  const fromIn = h('input', { type: 'datetime-local', 'aria-label': 'From', 'data-test': 'abs-from' });
  const toIn = h('input', { type: 'datetime-local', 'aria-label': 'To', 'data-test': 'abs-to' });
  const absErr = h('div.tp-error', { hidden: true });
  const quick = h('div.tp-quick');
  const menu = h('div.tp-menu', { hidden: true, role: 'dialog', 'aria-label': 'Time range' },
    h('div.tp-col', h('div.tp-head', 'Quick ranges'), quick),
    h('form.tp-col.tp-abs', {
      onsubmit: (e) => {
        e.preventDefault();
        const a = Date.parse(fromIn.value);
        const b = Date.parse(toIn.value);
        if (Number.isNaN(a) || Number.isNaN(b) || a >= b) {
          absErr.textContent = 'From must be a time before To.';
          absErr.hidden = false;
          return;
        }
        close();
        ctx.setParams({ from: String(a), to: String(b) });
      },
    },
    h('div.tp-head', 'Absolute range'),
    h('label', 'From', fromIn), h('label', 'To', toIn), absErr,
    h('button.btn.primary', { type: 'submit', 'data-test': 'abs-apply' }, 'Apply')));

  const zoom = h('button.btn.icon-btn', {
    type: 'button', title: 'Zoom out (twice the range)', 'aria-label': 'Zoom out',
    onclick: () => {
      const { start, end } = ctx.range();
      const z = zoomOut(start, end, Date.now());
      const p = ctx.state.params;
      if (isRelative(p.from || DEFAULT_FROM, p.to || DEFAULT_TO)) {
        ctx.setParams({ from: `now-${Math.round((z.end - z.start) / 60000)}m`, to: 'now' });
      } else {
        ctx.setParams({ from: String(z.start), to: String(z.end) });
      }
    },
  }, icon('zoomout'));

  const refreshNow = h('button.btn.icon-btn', {
    type: 'button', title: 'Refresh now', 'aria-label': 'Refresh now',
    onclick: () => ctx.refresh(),
  }, icon('refresh'));
  const refreshSel = h('select.refresh-select', {
    'aria-label': 'Auto-refresh', title: 'Auto-refresh', 'data-test': 'refresh',
    onchange: () => ctx.setParams({ refresh: refreshSel.value }),
  }, REFRESH_CHOICES.map((c) => h('option', { value: c }, c === 'off' ? 'Off' : c)));

  function open() {
    const { start, end } = ctx.range();
    fromIn.value = toLocalInput(start);
    toIn.value = toLocalInput(end);
    absErr.hidden = true;
    menu.hidden = false;
    button.setAttribute('aria-expanded', 'true');
  }
  function close() {
    menu.hidden = true;
    button.setAttribute('aria-expanded', 'false');
  }
  button.addEventListener('click', (e) => {
    e.stopPropagation();
    if (menu.hidden) open(); else close();
  });
  document.addEventListener('click', (e) => {
    if (!menu.hidden && !menu.contains(e.target)) close();
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') close();
  });

  const timeGroup = h('div.tp', button, menu, zoom);
  const el = h('div.controls', timeGroup, h('div.refresh', refreshNow, refreshSel));

  function sync(state) {
    const from = state.params.from || DEFAULT_FROM;
    const to = state.params.to || DEFAULT_TO;
    label.textContent = rangeLabel(from, to, (ms) => fmtDateTime(ms));
    replace(quick, QUICK_RANGES.map(([f, text]) => h('button.tp-item', {
      type: 'button',
      class: f === from && to === 'now' ? 'active' : '',
      onclick: () => {
        close();
        ctx.setParams({ from: f, to: 'now' });
      },
    }, text)));
    refreshSel.value = state.params.refresh || DEFAULT_REFRESH;
    const timed = state.page !== 'targets' && state.page !== 'alerts';
    timeGroup.hidden = !timed;
  }
  return { el, sync, resolve: resolveRange };
}
