// Query building: the step of a range query, the panels of a service and
// their queries, units guessed from an expression, PromQL parse error
// positions and completion context.  Pure functions, tested by node --test.

// Steps a person reads easily, in seconds.
const NICE_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600,
  7200, 10800, 21600, 43200, 86400];

// The step for START..END (seconds) drawn WIDTH pixels wide: the smallest
// nice step that gives at most one point per pixel.  With the range
// aligned by alignRange, floor(range / step) + 1 <= width.
export function stepFor(start, end, width) {
  const range = Math.max(0, end - start);
  const raw = range / Math.max(1, Math.floor(width) - 1);
  for (const s of NICE_STEPS)
    if (s >= raw) return s;
  return Math.ceil(raw / 86400) * 86400;
}

// START and END (seconds) on multiples of STEP, so that refreshes ask for
// the same points and the chart does not shimmer.  The aligned range is
// never longer than the asked one plus a step.
export function alignRange(start, end, step) {
  const s = Math.floor(start / step) * step;
  const e = Math.max(s, Math.floor(end / step) * step);
  return { start: s, end: e };
}

// The x values START, START+STEP, .. END of a range query.
export function timeGrid(start, end, step) {
  const n = Math.floor((end - start) / step + 1e-9) + 1;
  const xs = new Array(n);
  for (let i = 0; i < n; i++) xs[i] = start + i * step;
  return xs;
}

const QUANTILE_RE = /^(\s*histogram_quantile\s*\(\s*)(\d*\.?\d+(?:e-?\d+)?)(\s*,)/i;

// histogram_quantile(Q, X) as p50, p95 and p99 of X; any other
// expression as itself.
export function quantileVariants(expr) {
  const m = QUANTILE_RE.exec(expr);
  if (!m) return [{ label: null, expr }];
  const rest = expr.slice(m[0].length);
  return [['p50', '0.5'], ['p95', '0.95'], ['p99', '0.99']].map(([label, q]) => (
    { label, expr: `${m[1]}${q}${m[3]}${rest}` }));
}

export const SIGNALS = {
  rate: { title: 'Rate', what: 'Requests served per second.' },
  errors: { title: 'Errors', what: 'Failed requests per second, or errors of the resource.' },
  duration: { title: 'Duration', what: 'How long a request takes.' },
  latency: { title: 'Latency', what: 'How long a request takes.' },
  traffic: { title: 'Traffic', what: 'Demand on the service, such as requests per second.' },
  saturation: { title: 'Saturation', what: 'How full the service or resource is: work it cannot take yet.' },
  utilization: { title: 'Utilization', what: 'Share of time or capacity the resource is busy.' },
};

export const METHODS = {
  red: { title: 'RED', long: 'Rate, errors, duration' },
  golden: { title: 'Golden signals', long: 'Latency, traffic, errors, saturation' },
  use: { title: 'USE', long: 'Utilization, saturation, errors' },
};

// The panels of a service of /api/services: one per signal, a duration or
// latency that is a histogram quantile drawn as p50, p95 and p99.
export function panelsFor(service) {
  return (service.panels || []).map((p) => {
    const sig = SIGNALS[p.signal] || { title: p.signal, what: '' };
    const timed = p.signal === 'duration' || p.signal === 'latency';
    const queries = timed ? quantileVariants(p.expr) : [{ label: null, expr: p.expr }];
    return {
      signal: p.signal,
      title: sig.title,
      what: sig.what,
      expr: p.expr,
      source: p.source,
      unit: p.unit || guessUnit(p.expr),
      queries: queries.map((q) => ({ label: q.label || sig.title, expr: q.expr })),
    };
  });
}

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left',
  'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan',
  'atan2', 'start', 'end']);
const AGGREGATORS = new Set(['sum', 'min', 'max', 'avg', 'group', 'stddev',
  'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile',
  'limitk', 'limit_ratio']);
const IDENT = /[a-zA-Z_:][a-zA-Z0-9_:]*/y;

// Metric names an expression selects, in order of appearance, each once.
export function metricNames(expr) {
  const out = [];
  const add = (n) => { if (!out.includes(n)) out.push(n); };
  let i = 0;
  let labelList = false;	// after by/without/on/...: ( label, ... )
  while (i < expr.length) {
    const c = expr[i];
    if (c === '"' || c === "'" || c === '`') {
      i = skipString(expr, i);
    } else if (c === '{') {
      const end = findClose(expr, i, '{', '}');
      const m = /__name__\s*=\s*"([^"]*)"/.exec(expr.slice(i, end));
      if (m) add(m[1]);
      i = end + 1;
    } else if (c === '[') {
      i = findClose(expr, i, '[', ']') + 1;
    } else if (c === '#') {
      while (i < expr.length && expr[i] !== '\n') i++;
    } else if (/[0-9.]/.test(c)) {
      while (i < expr.length && /[0-9a-zA-Z_.]/.test(expr[i])) i++;
    } else if (/[a-zA-Z_:]/.test(c)) {
      IDENT.lastIndex = i;
      const id = IDENT.exec(expr)[0];
      i += id.length;
      let j = i;
      while (j < expr.length && /\s/.test(expr[j])) j++;
      const lower = id.toLowerCase();
      if (['by', 'without', 'on', 'ignoring', 'group_left', 'group_right'].includes(lower)) {
        if (expr[j] === '(') {
          i = findClose(expr, j, '(', ')') + 1;
        }
        labelList = false;
      } else if (expr[j] === '(' || KEYWORDS.has(lower) || AGGREGATORS.has(lower)) {
        // a function call, an aggregation or a keyword
      } else if (!labelList) {
        add(id);
      }
    } else {
      i++;
    }
  }
  return out;
}

function skipString(s, i) {
  const q = s[i];
  i++;
  while (i < s.length && s[i] !== q) {
    if (s[i] === '\\' && q !== '`') i++;
    i++;
  }
  return i + 1;
}

// The index of the bracket closing the one at I (or the end of S).
function findClose(s, i, open, close) {
  let depth = 0;
  while (i < s.length) {
    const c = s[i];
    if (c === '"' || c === "'" || c === '`') {
      i = skipString(s, i);
      continue;
    }
    if (c === open) depth++;
    else if (c === close && --depth === 0) return i;
    i++;
  }
  return s.length;
}

const SUFFIX_UNITS = [
  ['_bytes_total', 'bytes'], ['_bytes', 'bytes'],
  ['_seconds_total', 'seconds'], ['_seconds', 'seconds'],
  ['_ratio', 'ratio'], ['_percent', 'percent'],
];

function suffixUnit(name) {
  for (const [suf, unit] of SUFFIX_UNITS)
    if (name.endsWith(suf)) return unit;
  return '';
}

// A unit for EXPR from the names of what it selects, the way Prometheus
// names things: "percent" for anything times 100, a quantile of a
// _seconds histogram in seconds, a rate of bytes in bytes per second, a
// rate of anything else per second, one _seconds over a count in
// seconds, bytes over bytes a ratio; "" when nothing tells.
export function guessUnit(expr) {
  const e = expr.trim();
  if (/\*\s*100\s*\)*$/.test(e) || /^\(*\s*100\s*\*/.test(e)) return 'percent';
  const names = metricNames(e);
  const first = names[0] || '';
  if (/\bhistogram_quantile\s*\(/.test(e)) {
    const base = first.replace(/_bucket$/, '');
    return suffixUnit(base) || '';
  }
  const div = /\)\s*\/\s*[a-z(]/i.test(e) || /[a-z_]\s*\/\s*[a-z(]/i.test(e);
  if (div && names.length >= 2) {
    const a = suffixUnit(names[0]);
    const b = suffixUnit(names[1]);
    if (a && a === b) return 'ratio';
    if ((names[0].endsWith('_seconds_total') || names[0].endsWith('_seconds_sum')) &&
        !b) return 'seconds';
  }
  const u = suffixUnit(first);
  if (/\b(rate|irate)\s*\(/.test(e)) {
    if (u === 'bytes') return 'bytesps';
    if (u === 'seconds') return '';	// seconds per second: a busy share
    return 'persec';
  }
  if (/\bincrease\s*\(/.test(e)) return u === 'bytes' || u === 'seconds' ? u : '';
  if (/_(timestamp|time)_seconds$/.test(first)) return '';	// a point in time
  return u;
}

// {line, col, offset, message} of a PromQL parse error as Prometheus's API
// reports it ('invalid parameter "query": 1:5: parse error: ...'), OFFSET
// being the index in QUERY; null when the message has no position.
export function parseErrorPosition(msg, query = '') {
  const m = /(?:^|\s)(\d+):(\d+): (parse error: .*)$/s.exec(msg || '');
  if (!m) return null;
  const line = Number(m[1]);
  const col = Number(m[2]);
  const lines = query.split('\n');
  let offset = 0;
  for (let i = 0; i < line - 1 && i < lines.length; i++) offset += lines[i].length + 1;
  offset += col - 1;
  return { line, col, offset: Math.min(offset, query.length), message: m[3] };
}

// A series' name as Prometheus prints it: name{a="1", b="2"}.
export function seriesLabel(metric, fallback = '') {
  const name = metric.__name__ || '';
  const labels = Object.keys(metric).filter((k) => k !== '__name__').sort()
    .map((k) => `${k}="${metric[k]}"`);
  if (!name && labels.length === 0) return fallback || '{}';
  return labels.length ? `${name}{${labels.join(', ')}}` : name;
}

const LABEL_LIST_RE = /\b(by|without|on|ignoring|group_left|group_right)\s*\(([^()]*)$/i;

// What to complete at POS in TEXT: {kind: 'metric' | 'label' | null,
// prefix, from}: label names inside a selector's braces before the
// operator, or in by (...) and friends; metric and function names
// elsewhere; nothing inside strings and ranges.
export function completionContext(text, pos) {
  const before = text.slice(0, pos);
  const m = /[a-zA-Z_:][a-zA-Z0-9_:]*$/.exec(before);
  const prefix = m ? m[0] : '';
  const from = pos - prefix.length;
  // Where are we: in a string, braces or brackets?
  let inStr = null;
  let braces = 0;
  let brackets = 0;
  for (let i = 0; i < from; i++) {
    const c = before[i];
    if (inStr) {
      if (c === '\\' && inStr !== '`') i++;
      else if (c === inStr) inStr = null;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') inStr = c;
    else if (c === '{') braces++;
    else if (c === '}') braces = Math.max(0, braces - 1);
    else if (c === '[') brackets++;
    else if (c === ']') brackets = Math.max(0, brackets - 1);
  }
  const none = { kind: null, prefix, from };
  if (inStr || brackets > 0) return none;
  if (braces > 0) {
    const last = before.slice(0, from).replace(/\s+$/, '').slice(-1);
    return last === '{' || last === ',' ? { kind: 'label', prefix, from } : none;
  }
  if (LABEL_LIST_RE.test(before.slice(0, from))) return { kind: 'label', prefix, from };
  if (/[0-9.]$/.test(before.slice(0, from)) && prefix) return none;	// 5m, 1e3
  return prefix ? { kind: 'metric', prefix, from } : none;
}

export const FUNCTIONS = ['abs', 'absent', 'absent_over_time', 'avg',
  'avg_over_time', 'ceil', 'changes', 'clamp', 'clamp_max', 'clamp_min',
  'count', 'count_over_time', 'count_values', 'delta', 'deriv', 'exp',
  'floor', 'group', 'histogram_quantile', 'holt_winters', 'idelta',
  'increase', 'irate', 'label_join', 'label_replace', 'last_over_time',
  'ln', 'log2', 'log10', 'max', 'max_over_time', 'min', 'min_over_time',
  'predict_linear', 'quantile', 'quantile_over_time', 'rate', 'resets',
  'round', 'scalar', 'sort', 'sort_desc', 'sqrt', 'stddev',
  'stddev_over_time', 'stdvar', 'sum', 'sum_over_time', 'time',
  'timestamp', 'topk', 'bottomk', 'vector'];

// Up to LIMIT of NAMES for PREFIX: those starting with it first, then
// those containing it, each group sorted.
export function suggest(names, prefix, limit = 12) {
  const p = prefix.toLowerCase();
  const starts = [];
  const contains = [];
  for (const n of names) {
    const l = n.toLowerCase();
    if (l === p) continue;
    if (l.startsWith(p)) starts.push(n);
    else if (p.length >= 2 && l.includes(p)) contains.push(n);
  }
  starts.sort();
  contains.sort();
  return starts.concat(contains).slice(0, limit);
}

// A range query's matrix on the grid START, START+STEP, ... (N points):
// one array per series, null where the series has no point (or a value
// that cannot be drawn: NaN, +-Inf).
export function alignMatrix(result, start, step, n) {
  return result.map((s) => {
    const ys = new Array(n).fill(null);
    for (const [t, v] of s.values || []) {
      const i = Math.round((t - start) / step);
      const y = v === '+Inf' || v === '-Inf' ? NaN : Number(v);
      if (i >= 0 && i < n && Number.isFinite(y)) ys[i] = y;
    }
    return ys;
  });
}
