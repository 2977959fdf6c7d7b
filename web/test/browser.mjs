// The dashboard in headless Chromium against a running monitord.
//
//   node web/test/browser.mjs EXPECT.json
//
// EXPECT holds {url, out, nodeModules, services: [{name, method}], targets:
// [{job, health}], health: {service: level}, parseError: {query, line,
// col} | null, queryApi: bool, alertsApi: bool, firing: [alertname],
// dataService, dataRange: {from, to}}.  Each check prints one line
// "RESULT {json}" with {name, ok, skip, diag}; the TAP wrapper
// (tests/integration/test_web.py) turns them into test cases.  Screenshots
// go to OUT/*.png.  Chromium runs with a fresh profile and no network
// beyond 127.0.0.1.
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const expect = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const require = createRequire(path.join(expect.nodeModules, 'noop.js'));
const { chromium } = require('playwright-core');

function result(name, ok, diag = '', skip = '') {
  console.log(`RESULT ${JSON.stringify({ name, ok, diag, skip })}`);
}

async function check(name, fn) {
  try {
    const r = await fn();
    if (r && r.skip) result(name, true, '', r.skip);
    else result(name, true, r && r.diag ? r.diag : '');
  } catch (e) {
    result(name, false, e && e.stack ? e.stack : String(e));
  }
}

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}
function assertEq(a, b, what) {
  const ja = JSON.stringify(a);
  const jb = JSON.stringify(b);
  if (ja !== jb) throw new Error(`${what}: got ${ja}, want ${jb}`);
}

const profile = mkdtempSync(path.join(tmpdir(), 'monitord-chromium-'));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: expect.chromium || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
    '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
  viewport: { width: 1400, height: 900 },
  colorScheme: 'light',
});
const page = browser.pages()[0] || await browser.newPage();
const errors = [];
page.on('pageerror', (e) => errors.push(e.message));
// Nothing but the server under test.
const base = new URL(expect.url);
await page.route('**/*', (route) => {
  const u = new URL(route.request().url());
  if (u.host !== base.host) return route.abort();
  return route.continue();
});

const shots = [];
async function shot(name, opts = {}) {
  const file = path.join(expect.out, `${name}.png`);
  await page.screenshot({ path: file, fullPage: opts.full !== false });
  shots.push(file);
  console.log(`# screenshot ${file}`);
}

async function go(hash) {
  await page.goto(`${expect.url}/${hash}`);
}

// Page weight and time to the first chart, from a cold load.
let weight = null;
await check('page_weight', async () => {
  const sizes = [];
  const onResp = async (r) => {
    const req = r.request();
    try {
      const s = await req.sizes();
      sizes.push({ url: r.url(), body: s.responseBodySize, headers: s.responseHeadersSize, enc: r.headers()['content-encoding'] || '' });
    } catch { /* gone */ }
  };
  page.on('response', onResp);
  await go('#/overview');
  await page.waitForSelector('.svc-card, .empty', { timeout: 45000 });
  await page.waitForLoadState('networkidle');
  page.off('response', onResp);
  const statics = sizes.filter((s) => !new URL(s.url).pathname.startsWith('/api/'));
  const total = statics.reduce((a, s) => a + s.body, 0);
  const plain = statics.filter((s) => s.enc !== 'gzip').map((s) => new URL(s.url).pathname);
  weight = total;
  console.log(`# page weight: ${statics.length} files, ${total} bytes transferred (bodies), ${statics.reduce((a, s) => a + s.headers, 0)} bytes of headers`);
  assert(plain.length === 0, `not gzip-compressed: ${plain.join(', ')}`);
  assert(total < 200 * 1024, `page weight ${total} bytes is over 200 KB`);
  const fc = await page.evaluate(() => {
    const m = performance.getEntriesByName('monitord:first-chart')[0];
    return m ? Math.round(m.startTime) : null;
  });
  console.log(`# time to first chart: ${fc === null ? 'no chart with data' : `${fc} ms`}`);
  return { diag: `${total} bytes` };
});

await check('overview_groups', async () => {
  await go('#/overview');
  await page.waitForSelector('.svc-card', { timeout: 45000 });
  const got = await page.$$eval('section.group', (gs) => gs.map((g) => ({
    method: g.dataset.method,
    services: [...g.querySelectorAll('.svc-card')].map((c) => ({ name: c.dataset.service, health: c.dataset.health })),
  })));
  const want = ['red', 'golden', 'use'].map((m) => ({
    method: m,
    names: expect.services.filter((s) => s.method === m).map((s) => s.name).sort(),
  })).filter((g) => g.names.length);
  assertEq(got.map((g) => g.method), want.map((g) => g.method), 'groups');
  for (let i = 0; i < want.length; i++) {
    assertEq(got[i].services.map((s) => s.name).slice().sort(), want[i].names, `services of ${want[i].method}`);
    // Unhealthy first: a card's rank never goes down the list.
    const rank = { critical: 0, down: 1, warning: 2, unknown: 3, ok: 4 };
    const ranks = got[i].services.map((s) => rank[s.health]);
    assertEq(ranks, ranks.slice().sort((a, b) => a - b), `order of ${want[i].method}`);
  }
  for (const [svc, health] of Object.entries(expect.health || {})) {
    const card = got.flatMap((g) => g.services).find((s) => s.name === svc);
    assertEq(card && card.health, health, `health of ${svc}`);
  }
  await page.waitForTimeout(300);
  await shot('overview');
});

await check('targets_health', async () => {
  await go('#/targets');
  await page.waitForSelector('[data-test=targets-table] tbody tr', { timeout: 45000 });
  const rows = await page.$$eval('[data-test=targets-table] tbody tr', (rs) => rs.map((r) => ({
    job: r.dataset.job, health: r.dataset.health,
    error: r.querySelector('td.err').textContent,
  })));
  const got = rows.map((r) => `${r.job}:${r.health}`).sort();
  const want = expect.targets.map((t) => `${t.job}:${t.health}`).sort();
  assertEq(got, want, 'targets');
  // Broken ones first, each with its error.
  assert(rows[0].health === 'down', `first row is ${rows[0].health}`);
  for (const r of rows.filter((x) => x.health === 'down')) assert(r.error.length > 3, `no error shown for ${r.job}`);
  await shot('targets');
});

await check('explore_parse_error', async () => {
  if (!expect.queryApi) return { skip: '/api/v1/query answers 404: no query engine in this build yet' };
  const { query, line, col } = expect.parseError;
  await go(`#/explore?q=${encodeURIComponent(query)}`);
  const box = await page.waitForSelector('[data-test=query-error]', { timeout: 45000 });
  const text = await box.textContent();
  assert(text.includes(`line ${line}, column ${col}`), `error box says: ${text}`);
  const caret = await page.$eval('[data-test=query-error] .caret-line', (e) => e.textContent);
  assertEq(caret, `${' '.repeat(col - 1)}^`, 'caret');
  await shot('explore-error', { full: false });
});

await check('explore_table', async () => {
  if (!expect.queryApi) return { skip: '/api/v1/query answers 404: no query engine in this build yet' };
  await go(`#/explore?q=${encodeURIComponent('up')}`);
  await page.waitForSelector('[data-test=result-table] tbody tr', { timeout: 45000 });
  const series = await page.$$eval('[data-test=result-table] td.series', (t) => t.map((x) => x.textContent));
  assert(series.every((s) => s.startsWith('up{')), `series: ${series}`);
  assertEq(series.length, expect.targets.length, 'one up series per target');
  await page.waitForTimeout(300);
  await shot('explore');
});

await check('url_state_roundtrip', async () => {
  const svc = expect.services[0].name;
  await go(`#/service/${encodeURIComponent(svc)}`);
  await page.waitForSelector('.panel', { timeout: 45000 });
  // Quick range.
  await page.click('[data-test=time-picker]');
  await page.click('.tp-item:has-text("Last 6 hours")');
  await page.waitForFunction(() => location.hash.includes('from=now-6h'));
  await page.selectOption('[data-test=refresh]', '10s');
  await page.waitForFunction(() => location.hash.includes('refresh=10s'));
  const hash = await page.evaluate(() => location.hash);
  assertEq(hash, `#/service/${encodeURIComponent(svc)}?from=now-6h&refresh=10s`, 'hash');
  await page.reload();
  await page.waitForSelector('.panel', { timeout: 45000 });
  assertEq(await page.textContent('.tp-label'), 'Last 6 hours', 'picker after reload');
  assertEq(await page.$eval('[data-test=refresh]', (s) => s.value), '10s', 'refresh after reload');
  assertEq(await page.textContent('main h1'), svc, 'page after reload');
  // Absolute range.
  await page.click('[data-test=time-picker]');
  await page.fill('[data-test=abs-from]', '2024-05-01T10:00');
  await page.fill('[data-test=abs-to]', '2024-05-01T12:30');
  await page.click('[data-test=abs-apply]');
  const want = await page.evaluate(() => [Date.parse('2024-05-01T10:00'), Date.parse('2024-05-01T12:30')]);
  await page.waitForFunction((w) => location.hash.includes(`from=${w[0]}&to=${w[1]}`), want);
  await page.reload();
  await page.waitForSelector('.panel', { timeout: 45000 });
  assertEq(await page.textContent('.tp-label'), '2024-05-01 10:00 – 12:30', 'absolute range after reload');
  // The query of Explore.
  const q = 'sum by (job) (up{job!="x"})';
  await go(`#/explore?q=${encodeURIComponent(q)}&from=now-15m`);
  await page.waitForSelector('[data-test=query]');
  await page.reload();
  await page.waitForSelector('[data-test=query]');
  assertEq(await page.inputValue('[data-test=query]'), q, 'query after reload');
  assertEq(await page.textContent('.tp-label'), 'Last 15 minutes', 'explore range after reload');
});

// The service page's panels as drawn: their requests, the chart's data
// (null without a chart) and the plot's width.
function panelsDrawn() {
  return page.$$eval('.panel', (ps) => ps.map((p) => {
    const c = p.querySelector('.chart');
    return {
      signal: p.dataset.signal,
      requests: JSON.parse(p.dataset.requests || '[]'),
      xs: c ? c.chart.opts.xs : null,
      ys: c ? c.chart.opts.ys : null,
      width: p.querySelector('.panel-plot').clientWidth,
    };
  }));
}

// Throws unless every panel asks for the range FROM..TO (ms) and shows
// exactly what /api/v1/query_range answers for its requests: a chart of
// those points, or no chart when the queries have no series.  Returns the
// number of charts.
async function chartsMatch(from, to) {
  const panels = await panelsDrawn();
  assert(panels.length > 0, 'no panels');
  let charts = 0;
  for (const p of panels) {
    assert(p.requests.length > 0, `${p.signal}: no requests`);
    for (const r of p.requests) {
      // alignRange: on the step's grid, within a step of the range.
      assert(r.start * 1000 > Number(from) - (r.step + 1) * 1000 && r.end * 1000 <= Number(to),
        `${p.signal}: asks for ${r.start}..${r.end}, the page's range is ${from}..${to}`);
      // Never more points than pixels.
      const points = Math.floor((r.end - r.start) / r.step) + 1;
      assert(points <= p.width, `${p.signal}: ${points} points for ${p.width} px`);
    }
    const answers = await page.evaluate(async (reqs) => Promise.all(reqs.map(async (r) => {
      const u = `/api/v1/query_range?${new URLSearchParams({ query: r.expr, start: r.start, end: r.end, step: r.step })}`;
      return (await (await fetch(u)).json()).data.result;
    })), p.requests);
    const want = [];
    for (const res of answers) for (const s of res) want.push(s.values);
    if (!p.ys) {
      assertEq(want.length, 0, `${p.signal}: no chart though the query has series`);
      continue;
    }
    charts++;
    assertEq(p.ys.length, want.length, `${p.signal}: series`);
    const start = p.requests[0].start;
    const step = p.requests[0].step;
    assertEq(p.xs[0], start, `${p.signal}: first point`);
    want.forEach((values, si) => {
      const drawn = p.ys[si].filter((y) => y !== null).length;
      const finite = values.filter(([, v]) => Number.isFinite(Number(v))).length;
      assertEq(drawn, finite, `${p.signal} series ${si}: points`);
      for (const [t, v] of values) {
        const i = Math.round((t - start) / step);
        const n = Number(v);
        if (Number.isFinite(n)) assertEq(p.ys[si][i], n, `${p.signal} series ${si} at ${t}`);
      }
    });
  }
  return charts;
}

// chartsMatch once the page has redrawn: the panels load on their own,
// after the URL changed, and keep the old chart until the new data is in.
async function chartsSettle(from, to) {
  const until = Date.now() + 45000;
  for (;;) {
    try {
      return await chartsMatch(from, to);
    } catch (e) {
      if (Date.now() > until) throw e;
      await page.waitForTimeout(200);
    }
  }
}

await check('service_charts_match_query_range', async () => {
  const svc = expect.dataService;
  const { from, to } = expect.dataRange;
  await go(`#/service/${encodeURIComponent(svc)}?from=${from}&to=${to}`);
  await page.waitForSelector('.panel[data-requests]', { timeout: 45000 });
  if (!expect.queryApi) {
    await page.waitForSelector('.panel-msg', { timeout: 45000 });
    await shot('service');
    return { skip: '/api/v1/query_range answers 404: no query engine in this build yet' };
  }
  const charts = await chartsSettle(from, to);
  await shot('service');
  if (charts === 0) throw new Error('no panel drew a chart');

  // The crosshair follows on every chart of the page.
  const overs = await page.$$('.panel .u-over');
  const box = await overs[0].boundingBox();
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2);
  await page.waitForTimeout(100);
  const lefts = await page.$$eval('.panel .uplot', (us) => us.map((u) => {
    const c = u.closest('.chart').chart.u;
    return c.cursor.left;
  }));
  assert(lefts.every((l) => l >= 0), `cursor positions: ${lefts}`);
  // A drag zooms the page: the URL gets the selected absolute range and
  // every panel is drawn again for it.  DATA RANGE holds samples from
  // end to end, so the charts of the zoomed range have data too.
  await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
  await page.waitForFunction((f) => !location.hash.includes(`from=${f}&`), from);
  const hp = new URLSearchParams((await page.evaluate(() => location.hash)).split('?')[1]);
  const zf = Number(hp.get('from'));
  const zt = Number(hp.get('to'));
  assert(zf > Number(from) && zt < Number(to) && zf < zt, `zoomed to ${zf}..${zt} from ${from}..${to}`);
  const zoomed = await chartsSettle(zf, zt);
  if (zoomed === 0) throw new Error('no panel drew a chart of the zoomed range');
  return { diag: `${charts} charts compared, ${zoomed} after zooming` };
});

await check('alerts_page', async () => {
  await go('#/alerts');
  await page.waitForSelector('[data-test=alerts-unavailable], [data-test=alerts-table], .empty', { timeout: 45000 });
  const unavailable = await page.$('[data-test=alerts-unavailable]');
  assertEq(Boolean(unavailable), !expect.alertsApi, 'placeholder shown exactly when /api/alerts is missing');
  if (expect.firing && expect.firing.length) {
    await page.waitForSelector('[data-test=alerts-table] tbody tr', { timeout: 45000 });
    const rows = await page.$$eval('[data-test=alerts-table] tbody tr', (rs) => rs.map((r) => ({
      state: r.cells[0].textContent, name: r.cells[1].firstChild.textContent,
    })));
    const firing = rows.filter((r) => r.state === 'firing').map((r) => r.name).sort();
    assertEq(firing, expect.firing.slice().sort(), 'firing alerts');
    assertEq(rows[0].state, 'firing', 'firing alerts first');
  }
  await shot('alerts');
});

await check('dark_and_phone', async () => {
  await page.emulateMedia({ colorScheme: 'dark' });
  await go('#/overview');
  await page.waitForSelector('.svc-card', { timeout: 45000 });
  assertEq(await page.evaluate(() => document.documentElement.dataset.theme), 'dark', 'theme');
  await page.waitForTimeout(300);
  await shot('overview-dark');
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize({ width: 390, height: 844 });
  await go(`#/service/${encodeURIComponent(expect.dataService)}`);
  await page.waitForSelector('.panel', { timeout: 45000 });
  // Nothing wider than the screen.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert(overflow <= 0, `page is ${overflow}px wider than a phone`);
  await page.waitForTimeout(300);
  await shot('service-phone');
});

await check('no_script_errors', async () => {
  assertEq(errors, [], 'uncaught errors in the page');
});

await check('screenshots', async () => {
  for (const f of shots) assert(statSync(f).size > 5000, `${f} is almost empty`);
  assert(shots.length >= 5, `only ${shots.length} screenshots`);
  return { diag: shots.join(' ') };
});

await browser.close();
rmSync(profile, { recursive: true, force: true });
console.log(`# weight ${weight}`);
