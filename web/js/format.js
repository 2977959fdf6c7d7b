// Numbers for people: units with prefixes, three significant digits,
// durations and times.  Pure functions (no DOM), tested by node --test.

const SI = [
  [1e15, 'P'], [1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k'],
];
const IEC = [
  [2 ** 50, 'PiB'], [2 ** 40, 'TiB'], [2 ** 30, 'GiB'], [2 ** 20, 'MiB'],
  [2 ** 10, 'KiB'],
];

// Three significant digits without trailing zeros: 1.50 -> "1.5",
// 1234 -> "1234" (integers up to 9999 stay whole), 0.000123 -> "0.000123".
export function sig(v, digits = 3) {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e21 || a < 1e-6) return v.toExponential(digits - 1).replace(/\.?0+e/, 'e');
  if (a >= 10 ** digits) return String(Math.round(v));
  return String(Number(v.toPrecision(digits)));
}

function special(v) {
  if (v === null || v === undefined) return '–';
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return null;
}

function scaled(v, table, base, digits) {
  const a = Math.abs(v);
  for (const [f, s] of table)
    if (a >= f * 0.9995) return [sig(v / f, digits), s];
  return [sig(v, digits), base];
}

export function fmtShort(v, digits = 3) {
  const s = special(v);
  if (s !== null) return s;
  // Tiny plain numbers read better with an exponent than with zeros.
  if (v !== 0 && Math.abs(v) < 1e-3) return v.toExponential(digits - 1).replace(/\.?0+e/, 'e');
  const [n, u] = scaled(v, SI, '', digits);
  return n + u;
}

export function fmtBytes(v, digits = 3) {
  const s = special(v);
  if (s !== null) return s;
  const [n, u] = scaled(v, IEC, 'B', digits);
  return `${n} ${u}`;
}

const TIME = [
  [86400, 'd'], [3600, 'h'], [60, 'min'], [1, 's'], [1e-3, 'ms'],
  [1e-6, 'µs'], [1e-9, 'ns'],
];

export function fmtSeconds(v, digits = 3) {
  const s = special(v);
  if (s !== null) return s;
  if (v === 0) return '0 s';
  const a = Math.abs(v);
  for (const [f, u] of TIME)
    if (a >= f * 0.9995) return `${sig(v / f, digits)} ${u}`;
  return `${sig(v, digits)} s`;
}

export function fmtPercent(v, digits = 3) {
  const s = special(v);
  if (s !== null) return s;
  return `${sig(v, digits)}%`;
}

// The value V in UNIT: "persec", "seconds", "bytes", "bytesps", "percent"
// (0-100), "ratio" (0-1, shown as percent), "short" or "" (a plain number).
export function fmtValue(v, unit, digits = 3) {
  if (v === null || v === undefined) return '–';
  switch (unit) {
    case 'bytes': return fmtBytes(v, digits);
    case 'bytesps': return special(v) ?? `${fmtBytes(v, digits)}/s`;
    case 'seconds': return fmtSeconds(v, digits);
    case 'percent': return fmtPercent(v, digits);
    case 'ratio': return special(v) ?? fmtPercent(v * 100, digits);
    case 'persec': return special(v) ?? `${fmtShort(v, digits)}/s`;
    default: return fmtShort(v, digits);
  }
}

// A span of time in its two largest units: "45s", "2m 5s", "1h 2m", "3d 4h".
export function fmtDuration(ms) {
  if (!Number.isFinite(ms)) return '–';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  let s = Math.round(ms / 1000);
  const parts = [];
  for (const [n, u] of [[86400, 'd'], [3600, 'h'], [60, 'm'], [1, 's']]) {
    if (s >= n) {
      parts.push(`${Math.floor(s / n)}${u}`);
      s %= n;
    }
    if (parts.length === 2) break;
    if (parts.length === 1 && s === 0) break;
  }
  return parts.join(' ');
}

export function fmtAgo(ms, now = Date.now()) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return 'never';
  const d = now - ms;
  if (d < 1000) return 'just now';
  return `${fmtDuration(d)} ago`;
}

const pad = (n) => String(n).padStart(2, '0');

// Local time, as precise as the span asks: "14:05", "14:05:09",
// "2024-05-01 14:05".
export function fmtTime(ms, withSeconds = true) {
  const d = new Date(ms);
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return withSeconds ? `${hm}:${pad(d.getSeconds())}` : hm;
}

export function fmtDateTime(ms, withSeconds = false) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${fmtTime(ms, withSeconds)}`;
}

// Unit suffix for axis titles and table headers.
export function unitLabel(unit) {
  return {
    persec: 'per second', seconds: 'seconds', bytes: 'bytes',
    bytesps: 'bytes per second', percent: 'percent', ratio: 'percent',
  }[unit] ?? '';
}

// Min, max, mean and last of the finite values of YS (nulls are gaps);
// every field null when there is none.
export function seriesStats(ys) {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let n = 0;
  let last = null;
  for (const y of ys) {
    if (y === null || y === undefined || !Number.isFinite(y)) continue;
    if (y < min) min = y;
    if (y > max) max = y;
    sum += y;
    n++;
    last = y;
  }
  if (n === 0) return { min: null, max: null, avg: null, last: null };
  return { min, max, avg: sum / n, last };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep',
  'Oct', 'Nov', 'Dec'];

// A time axis label for SEC (seconds) with ticks INCR seconds apart on an
// axis SPAN seconds long, in 24-hour local time: "14:05", "14:05:30",
// and the date where the day changes ("Nov 25") on axes over a day long.
export function fmtTick(sec, incr, span) {
  const d = new Date(sec * 1000);
  const day = `${MONTHS[d.getMonth()]} ${d.getDate()}`;
  if (incr >= 86400) return day;
  const midnight = d.getHours() === 0 && d.getMinutes() === 0 && d.getSeconds() === 0;
  if (span > 86400 && midnight) return day;
  return fmtTime(sec * 1000, incr < 60);
}

// A formatted value cut into its number and its unit ("10.8 MiB" ->
// ["10.8", " MiB"]), to set the unit smaller; ["–", ""] and such stay
// whole.
export function splitUnit(text) {
  const m = /^(-?\d+(?:\.\d+)?(?:e-?\d+)?)(.*)$/.exec(text);
  return m ? [m[1], m[2]] : [text, ''];
}
