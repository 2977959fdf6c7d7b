// The view's state lives in the URL hash, so every view can be shared and
// survives a reload: #/PAGE[/ARG][?from=now-6h&to=now&refresh=30s&q=...].
// Times are "now", "now-DURATION" or milliseconds since the epoch.
// Pure functions, tested by node --test.

export const DEFAULT_FROM = 'now-1h';
export const DEFAULT_TO = 'now';
export const DEFAULT_REFRESH = '30s';
export const PAGES = ['overview', 'service', 'explore', 'alerts', 'targets'];

export const QUICK_RANGES = [
  ['now-5m', 'Last 5 minutes'], ['now-15m', 'Last 15 minutes'],
  ['now-30m', 'Last 30 minutes'], ['now-1h', 'Last 1 hour'],
  ['now-3h', 'Last 3 hours'], ['now-6h', 'Last 6 hours'],
  ['now-12h', 'Last 12 hours'], ['now-24h', 'Last 24 hours'],
  ['now-2d', 'Last 2 days'], ['now-7d', 'Last 7 days'],
  ['now-30d', 'Last 30 days'],
];
export const REFRESH_CHOICES = ['off', '5s', '10s', '30s', '1m', '5m'];

const UNIT_MS = { ms: 1, s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3, y: 365 * 86400e3 };

// "1h30m" -> 5400000; NaN when not a duration.
export function parseDuration(s) {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)/gy;
  let total = 0;
  let m;
  let seen = false;
  re.lastIndex = 0;
  while ((m = re.exec(s)) !== null) {
    total += Number(m[1]) * UNIT_MS[m[2]];
    seen = true;
    if (re.lastIndex === s.length) return total;
  }
  return seen && re.lastIndex === s.length ? total : NaN;
}

// Milliseconds since the epoch for "now", "now-1h", "now+5m", a number of
// milliseconds or an ISO date; NaN otherwise.
export function parseTime(s, now) {
  if (s === undefined || s === null || s === '') return NaN;
  s = String(s).trim();
  if (s === 'now') return now;
  const rel = /^now([-+])(.+)$/.exec(s);
  if (rel) {
    const d = parseDuration(rel[2]);
    return Number.isNaN(d) ? NaN : rel[1] === '-' ? now - d : now + d;
  }
  if (/^\d+(\.\d+)?$/.test(s)) {
    const n = Number(s);
    return n < 1e11 ? n * 1000 : n;	// seconds, as Prometheus takes them
  }
  const t = Date.parse(s);
  return Number.isNaN(t) ? NaN : t;
}

// {start, end} in milliseconds for a from/to pair; the default range when
// either is invalid or from is not before to.
export function resolveRange(from, to, now) {
  let start = parseTime(from, now);
  let end = parseTime(to, now);
  if (Number.isNaN(start) || Number.isNaN(end) || start >= end) {
    start = parseTime(DEFAULT_FROM, now);
    end = now;
  }
  return { start, end };
}

export function isRelative(from, to) {
  return /^now/.test(String(from)) && /^now/.test(String(to));
}

// Parse a hash into {page, arg, params (a plain object)}.
export function parseHash(hash) {
  let h = String(hash || '').replace(/^#/, '');
  let query = '';
  const qi = h.indexOf('?');
  if (qi >= 0) {
    query = h.slice(qi + 1);
    h = h.slice(0, qi);
  }
  const parts = h.split('/').filter((p) => p !== '');
  let page = parts[0] || 'overview';
  if (!PAGES.includes(page)) page = 'overview';
  const arg = parts.length > 1 ? decodeURIComponent(parts.slice(1).join('/')) : null;
  const params = {};
  for (const [k, v] of new URLSearchParams(query)) params[k] = v;
  return { page, arg, params };
}

// The hash for a state; defaults are left out so URLs stay short.
export function buildHash({ page, arg, params }) {
  let h = `#/${page || 'overview'}`;
  if (arg) h += `/${encodeURIComponent(arg)}`;
  const q = new URLSearchParams();
  const p = params || {};
  const order = ['from', 'to', 'refresh', 'q'];
  const keys = Object.keys(p).sort((a, b) => {
    const ia = order.indexOf(a);
    const ib = order.indexOf(b);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || (a < b ? -1 : a > b ? 1 : 0);
  });
  for (const k of keys) {
    const v = p[k];
    if (v === undefined || v === null || v === '') continue;
    if (k === 'from' && v === DEFAULT_FROM) continue;
    if (k === 'to' && v === DEFAULT_TO) continue;
    if (k === 'refresh' && v === DEFAULT_REFRESH) continue;
    q.set(k, v);
  }
  const qs = q.toString();
  return qs ? `${h}?${qs}` : h;
}

// What the time picker shows: "Last 6 hours", or the absolute range with
// FMT ("2024-05-01 10:00" from milliseconds); the end's date is left out
// when it is the start's.
export function rangeLabel(from, to, fmt) {
  if (to === 'now' || to === undefined) {
    const q = QUICK_RANGES.find(([f]) => f === (from || DEFAULT_FROM));
    if (q) return q[1];
    if (/^now-/.test(from)) return `Last ${from.slice(4)}`;
  }
  const now = Date.now();
  const { start, end } = resolveRange(from, to, now);
  const a = fmt(start);
  const b = fmt(end);
  return a.slice(0, 11) === b.slice(0, 11) && b.length > 11 ? `${a} – ${b.slice(11)}` : `${a} – ${b}`;
}

// The range twice as long around the same middle, never past now.
export function zoomOut(start, end, now) {
  const span = end - start;
  let s = start - span / 2;
  let e = end + span / 2;
  if (e > now) {
    s -= e - now;
    e = now;
  }
  return { start: Math.round(s), end: Math.round(e) };
}

// Refresh period in ms (0 for off).
export function refreshMs(v) {
  if (!v || v === 'off') return 0;
  const d = parseDuration(v);
  return Number.isNaN(d) ? 0 : d;
}
