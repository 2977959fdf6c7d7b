// The server's HTTP API: the Prometheus-compatible query endpoints,
// /api/services, /api/targets and /api/alerts.  Every call returns the
// "data" of the answer or throws an ApiError carrying the server's message.

export class ApiError extends Error {
  constructor(status, type, message) {
    super(message);
    this.status = status;	// HTTP status, 0 for a network error
    this.type = type;	// Prometheus errorType: bad_data, execution, ...
  }
}

async function get(path, params, signal) {
  const qs = params ? `?${new URLSearchParams(params)}` : '';
  let res;
  try {
    res = await fetch(path + qs, { signal, headers: { Accept: 'application/json' } });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', `cannot reach the server: ${e.message}`);
  }
  let body = null;
  try {
    body = await res.json();
  } catch (e) {
    if (e.name === 'AbortError') throw e;
  }
  if (!res.ok || !body || body.status !== 'success') {
    const msg = body && body.error ? body.error : `${res.status} ${res.statusText || 'error'}`;
    throw new ApiError(res.status, body && body.errorType, msg);
  }
  return body.data;
}

export const api = {
  // Instant query at TIME (seconds).
  query(expr, time, signal) {
    const p = { query: expr };
    if (time !== undefined) p.time = String(time);
    return get('/api/v1/query', p, signal);
  },
  // Range query; START, END and STEP in seconds.
  queryRange(expr, start, end, step, signal) {
    return get('/api/v1/query_range', {
      query: expr, start: String(start), end: String(end), step: String(step),
    }, signal);
  },
  labels(signal) { return get('/api/v1/labels', null, signal); },
  labelValues(name, signal) {
    return get(`/api/v1/label/${encodeURIComponent(name)}/values`, null, signal);
  },
  metadata(signal) { return get('/api/v1/metadata', null, signal); },
  services(signal) { return get('/api/services', null, signal); },
  targets(signal) { return get('/api/targets', null, signal); },
  // null when the server has no alerting (404).
  async alerts(signal) {
    try {
      return await get('/api/alerts', null, signal);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return null;
      throw e;
    }
  },
};

// Metadata and names change rarely: one fetch per page load, shared.
const memo = new Map();
export function cached(key, fn) {
  if (!memo.has(key)) {
    const p = fn().catch((e) => {
      memo.delete(key);
      throw e;
    });
    memo.set(key, p);
  }
  return memo.get(key);
}

// The HELP text of a metric (the "why"), or '' when unknown.
export async function metricHelp(name) {
  try {
    const md = await cached('metadata', () => api.metadata());
    const base = name.replace(/_(bucket|sum|count|total|created)$/, '');
    const e = (md && (md[name] || md[base])) || null;
    return e && e[0] && e[0].help ? e[0].help : '';
  } catch {
    return '';
  }
}

// Series of a matrix or vector as {metric, points: [[t, v]...]}; values
// parsed ("NaN", "+Inf" included).
export function parseValue(s) {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  return Number(s);
}

// An alerts answer in either shape (ours or Prometheus's {alerts: [...]}).
export function alertList(data) {
  if (!data) return [];
  if (Array.isArray(data)) return data;
  if (Array.isArray(data.alerts)) return data.alerts;
  return [];
}
