// A development server for the dashboard: serves web/ straight from the
// source tree (edit, reload; no rebuild of the binary) and passes /api/ to
// a running monitord.  With --fake-query it answers the PromQL endpoints
// itself with made-up, smoothly varying series, to work on the charts
// before the store has data.
//
//   node web/test/devserver.mjs [--port 9331] [--proxy http://127.0.0.1:9330]
//                               [--fake-query] [--alerts] [--static-from-proxy]
//
// --static-from-proxy takes the page's files from the monitord too (as
// compiled in, gzip), to measure the page as shipped with made-up data.
//
// Binds 127.0.0.1 only.  Not part of the product.
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const port = Number(opt('--port', '9331'));
const proxy = opt('--proxy', 'http://127.0.0.1:9330');
const fakeQuery = args.includes('--fake-query');
const fakeAlerts = args.includes('--alerts');
const staticFromProxy = args.includes('--static-from-proxy');

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml' };

function json(res, code, body) {
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

// A deterministic, smooth value for series KEY at time T (seconds).
function wave(key, t) {
  let h = 0;
  for (const c of key) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  const base = 1 + (h % 97);
  const p1 = 600 + (h % 1800);
  const p2 = 97 + (h % 131);
  return base * (1 + 0.35 * Math.sin((t + h) / p1 * 2 * Math.PI) + 0.08 * Math.sin(t / p2 * 2 * Math.PI));
}

function fakeSeries(q) {
  const m = /histogram_quantile\(\s*([0-9.]+)/.exec(q);
  let scale = 1;
  let key = q;
  if (m) {
    key = q.replace(m[1], 'Q');	// one shape, quantiles stacked
    scale = { 0.5: 0.002, 0.95: 0.005, 0.99: 0.009 }[m[1]] || 0.005;
  } else if (/\* 100/.test(q)) scale = 0.6;
  else if (/ \/ /.test(q)) scale = /seconds/.test(q) ? 0.0004 : 0.008;
  else if (/bytes/.test(q)) scale = 4e6;
  if (/^\s*(sum|max|avg|histogram_quantile|\()/.test(q)) return [{ metric: {}, key, scale }];
  const name = (/^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(q.trim()) || ['value'])[0];
  return ['a', 'b', 'c'].map((inst) => ({ metric: { __name__: name, instance: `${inst}:9100`, job: 'demo' }, key: q + inst, scale }));
}

function balanced(q) {
  let d = 0;
  for (let i = 0; i < q.length; i++) {
    if (q[i] === '(') d++;
    if (q[i] === ')' && --d < 0) return i + 1;
  }
  return d === 0 ? 0 : q.length + 1;
}

function fake(req, res, url) {
  const p = url.searchParams;
  const q = p.get('query') || '';
  if (url.pathname === '/api/v1/query' || url.pathname === '/api/v1/query_range') {
    const bad = balanced(q);
    if (!q.trim() || bad) {
      return json(res, 400, { status: 'error', errorType: 'bad_data',
        error: `invalid parameter "query": 1:${bad || 1}: parse error: ${bad > q.length ? 'unclosed left parenthesis' : 'unexpected right parenthesis \')\''}` });
    }
    const series = fakeSeries(q);
    if (url.pathname === '/api/v1/query') {
      const t = Number(p.get('time') || Date.now() / 1000);
      return json(res, 200, { status: 'success', data: { resultType: 'vector',
        result: series.map((s) => ({ metric: s.metric, value: [t, String(wave(s.key, Math.floor(t / 15) * 15) * s.scale)] })) } });
    }
    const start = Number(p.get('start'));
    const end = Number(p.get('end'));
    const step = Number(p.get('step'));
    return json(res, 200, { status: 'success', data: { resultType: 'matrix',
      result: series.map((s) => {
        const values = [];
        for (let t = start; t <= end; t += step) {
          if (Math.floor(t / 600) % 37 === 5) continue;	// a gap now and then
          values.push([t, String(wave(s.key, t) * s.scale)]);
        }
        return { metric: s.metric, values };
      }) } });
  }
  if (url.pathname === '/api/v1/labels') return json(res, 200, { status: 'success', data: ['__name__', 'code', 'instance', 'job', 'le', 'method', 'mode'] });
  if (url.pathname.startsWith('/api/v1/label/')) {
    return json(res, 200, { status: 'success', data: ['http_requests_total', 'http_request_duration_seconds_bucket',
      'node_cpu_seconds_total', 'node_load1', 'node_memory_MemAvailable_bytes', 'process_cpu_seconds_total',
      'process_resident_memory_bytes', 'pg_stat_activity_count', 'pg_stat_database_xact_commit', 'up'] });
  }
  if (url.pathname === '/api/v1/metadata') {
    const md = (help, type = 'gauge') => [{ type, help, unit: '' }];
    return json(res, 200, { status: 'success', data: {
      http_requests_total: md('HTTP requests served, by status code: the traffic of the API and, with code=~"5..", its errors.', 'counter'),
      http_request_duration_seconds: md('Time to answer a request: what users wait for.', 'histogram'),
      process_cpu_seconds_total: md('CPU time the process group used: over 1 per second it keeps more than one core busy.', 'counter'),
      process_resident_memory_bytes: md('Memory the process group holds in RAM: grows towards the limit before an OOM kill.'),
      pg_stat_database_xact_commit: md('Transactions committed: the work the database does.', 'counter'),
      pg_stat_database_xact_rollback: md('Transactions rolled back: failed work, often application errors.', 'counter'),
      pg_stat_statements_seconds_total: md('Time spent executing statements.', 'counter'),
    } });
  }
  return null;
}

// Pass the request to the monitord as it is, the answer back as it is
// (compressed bodies stay compressed).
function pass(req, res, url) {
  const up = new URL(proxy);
  const headers = {};
  for (const k of ['accept', 'accept-encoding', 'if-none-match']) if (req.headers[k]) headers[k] = req.headers[k];
  const preq = http.request({ host: up.hostname, port: up.port, path: url.pathname + url.search, method: req.method, headers }, (pres) => {
    res.writeHead(pres.statusCode, pres.headers);
    pres.pipe(res);
  });
  preq.on('error', (e) => json(res, 502, { status: 'error', errorType: 'unavailable', error: `proxy: ${e.message}` }));
  preq.end();
}

http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname.startsWith('/api/')) {
    if (url.pathname === '/api/alerts' && fakeAlerts) {
      return json(res, 200, { status: 'success', data: { alerts: [
        { labels: { alertname: 'shop-db-connections-near-limit', severity: 'warning', job: 'shop-db' },
          annotations: { summary: 'Shop DB uses 84% of its connections' }, state: 'firing',
          activeAt: new Date(Date.now() - 720e3).toISOString(), value: '0.84' },
        { labels: { alertname: 'crm-api-cpu-saturated', severity: 'warning', job: 'crm-api' },
          annotations: { summary: 'CRM API uses 91% of the host\'s CPU' }, state: 'pending',
          activeAt: new Date(Date.now() - 95e3).toISOString(), value: '0.91' },
      ] } });
    }
    if (fakeQuery && fake(req, res, url) !== null) return;
    if (res.writableEnded) return;
    return pass(req, res, url);
  }
  if (staticFromProxy) return pass(req, res, url);
  let file = url.pathname === '/' ? 'index.html' : url.pathname.replace(/^\/static\/(dev\/)?/, '');
  file = path.resolve(root, file);
  if (!file.startsWith(root + path.sep)) {
    res.writeHead(403);
    return res.end();
  }
  try {
    let data = await readFile(file);
    if (file.endsWith('.html')) data = Buffer.from(data.toString().replaceAll('@ASSETS_VERSION@', 'dev'));
    res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream', 'Cache-Control': 'no-cache' });
    res.end(data);
  } catch {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('not found\n');
  }
}).listen(port, '127.0.0.1', () => {
  console.log(`dashboard at http://127.0.0.1:${port}/ (api: ${fakeQuery ? 'fake queries, ' : ''}${proxy})`);
});
