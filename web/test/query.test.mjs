// Query building: steps, alignment, panel queries, units, parse errors,
// completion.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  stepFor, alignRange, timeGrid, quantileVariants, panelsFor, metricNames,
  guessUnit, parseErrorPosition, seriesLabel, completionContext, suggest,
  alignMatrix,
} from '../js/query.js';

test('the step gives at most one point per pixel', () => {
  for (const [range, width] of [[3600, 600], [3600, 601], [300, 1000],
    [86400, 1200], [30 * 86400, 500], [7 * 86400, 333], [59, 2], [3600, 1]]) {
    const now = 1700000003;
    const step = stepFor(now - range, now, width);
    const { start, end } = alignRange(now - range, now, step);
    const points = timeGrid(start, end, step).length;
    assert.ok(points <= Math.max(width, 2), `range ${range} width ${width}: ${points} points at step ${step}`);
    assert.ok(step >= 1);
  }
});

test('the step is the smallest nice one that fits', () => {
  assert.equal(stepFor(0, 3600, 721), 5);	// 3600/720 = 5
  assert.equal(stepFor(0, 3600, 720), 10);	// 5.007 -> 10
  assert.equal(stepFor(0, 300, 1000), 1);
  assert.equal(stepFor(0, 86400, 1441), 60);
  assert.equal(stepFor(0, 30 * 86400, 500), 7200);
  assert.equal(stepFor(0, 365 * 86400, 100), 4 * 86400);
});

test('ranges align on the step', () => {
  assert.deepEqual(alignRange(1003, 4607, 10), { start: 1000, end: 4600 });
  assert.deepEqual(alignRange(1000, 1000, 10), { start: 1000, end: 1000 });
  assert.deepEqual(timeGrid(1000, 1030, 10), [1000, 1010, 1020, 1030]);
});

test('histogram quantiles become p50, p95 and p99', () => {
  const e = 'histogram_quantile(0.95, sum by (le) (rate(x_bucket[5m])))';
  assert.deepEqual(quantileVariants(e), [
    { label: 'p50', expr: 'histogram_quantile(0.5, sum by (le) (rate(x_bucket[5m])))' },
    { label: 'p95', expr: 'histogram_quantile(0.95, sum by (le) (rate(x_bucket[5m])))' },
    { label: 'p99', expr: 'histogram_quantile(0.99, sum by (le) (rate(x_bucket[5m])))' },
  ]);
  assert.deepEqual(quantileVariants('sum(a) / sum(b)'), [{ label: null, expr: 'sum(a) / sum(b)' }]);
  assert.equal(quantileVariants(' histogram_quantile( .9 ,x)')[2].expr, ' histogram_quantile( 0.99 ,x)');
});

test('panels of a service', () => {
  const svc = {
    name: 'shop', method: 'red', jobs: ['shop-api'],
    panels: [
      { signal: 'rate', expr: 'sum(rate(http_requests_total{job="shop-api"}[5m]))', source: 'default', unit: 'persec' },
      { signal: 'errors', expr: 'sum(rate(errs_total[5m]))', source: 'config', unit: '' },
      { signal: 'duration', expr: 'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))', source: 'default', unit: 'seconds' },
    ],
  };
  const p = panelsFor(svc);
  assert.deepEqual(p.map((x) => [x.signal, x.title, x.unit, x.queries.map((q) => q.label)]), [
    ['rate', 'Rate', 'persec', ['Rate']],
    ['errors', 'Errors', 'persec', ['Errors']],
    ['duration', 'Duration', 'seconds', ['p50', 'p95', 'p99']],
  ]);
  assert.equal(p[2].queries[2].expr, 'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))');
  assert.equal(p[0].queries[0].expr, svc.panels[0].expr);
  // A duration that is not a quantile stays one query.
  const q = panelsFor({ panels: [{ signal: 'duration', expr: 'sum(a_seconds_total) / sum(b_total)', unit: '' }] });
  assert.deepEqual(q[0].queries, [{ label: 'Duration', expr: 'sum(a_seconds_total) / sum(b_total)' }]);
  assert.equal(q[0].unit, 'seconds');
  assert.deepEqual(panelsFor({}), []);
});

test('metric names of an expression', () => {
  assert.deepEqual(metricNames('sum(rate(http_requests_total{job="a",code=~"5.."}[5m]))'), ['http_requests_total']);
  assert.deepEqual(metricNames('histogram_quantile(0.95, sum by (le) (rate(x_bucket[5m])))'), ['x_bucket']);
  assert.deepEqual(metricNames('sum(a) / on(job) group_left(instance) b * 100'), ['a', 'b']);
  assert.deepEqual(metricNames('sum without (cpu, mode) (node_cpu_seconds_total offset 5m)'), ['node_cpu_seconds_total']);
  assert.deepEqual(metricNames('{__name__="up", job="x"} or up'), ['up']);
  assert.deepEqual(metricNames('a{l="b}c"} and b'), ['a', 'b']);
  assert.deepEqual(metricNames('max_over_time(up[1h:5m]) > bool 1e3'), ['up']);
  assert.deepEqual(metricNames('sum(rate(x[5m])) by (job)'), ['x']);
  assert.deepEqual(metricNames('vector(1)'), []);
  assert.deepEqual(metricNames(''), []);
});

test('units guessed from an expression', () => {
  const cases = [
    ['sum(rate(http_requests_total[5m]))', 'persec'],
    ['rate(node_network_receive_bytes_total[5m])', 'bytesps'],
    ['sum(rate(process_cpu_seconds_total[1m])) * 100', 'percent'],
    ['rate(process_cpu_seconds_total[1m])', ''],
    ['histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))', 'seconds'],
    ['histogram_quantile(0.5, rate(size_bytes_bucket[5m]))', 'bytes'],
    ['sum(rate(pg_stat_statements_seconds_total[5m])) / sum(rate(pg_stat_statements_calls_total[5m]))', 'seconds'],
    ['sum(process_resident_memory_bytes) / on() group_left() node_memory_MemTotal_bytes', 'ratio'],
    ['process_resident_memory_bytes', 'bytes'],
    ['probe_duration_seconds', 'seconds'],
    ['pg_connections_utilization_ratio', 'ratio'],
    ['process_start_time_seconds', ''],
    ['up', ''],
    ['increase(x_bytes_total[1h])', 'bytes'],
  ];
  for (const [e, u] of cases) assert.equal(guessUnit(e), u, e);
});

test('parse error positions', () => {
  assert.deepEqual(parseErrorPosition('invalid parameter "query": 1:4: parse error: unexpected end of input', '1 +'),
    { line: 1, col: 4, offset: 3, message: 'parse error: unexpected end of input' });
  assert.deepEqual(parseErrorPosition('2:3: parse error: unexpected "}"', 'sum(x)\nor }'),
    { line: 2, col: 3, offset: 9, message: 'parse error: unexpected "}"' });
  assert.equal(parseErrorPosition('expanding series: too many samples', 'x'), null);
  assert.equal(parseErrorPosition('', 'x'), null);
});

test('series labels as Prometheus prints them', () => {
  assert.equal(seriesLabel({ __name__: 'up', job: 'a', instance: 'b' }), 'up{instance="b", job="a"}');
  assert.equal(seriesLabel({ __name__: 'up' }), 'up');
  assert.equal(seriesLabel({ job: 'a' }), '{job="a"}');
  assert.equal(seriesLabel({}, 'Rate'), 'Rate');
  assert.equal(seriesLabel({}), '{}');
});

test('completion context', () => {
  const at = (s) => completionContext(s.replace('|', ''), s.indexOf('|'));
  assert.deepEqual(at('rate(http_re|'), { kind: 'metric', prefix: 'http_re', from: 5 });
  assert.deepEqual(at('up{jo|'), { kind: 'label', prefix: 'jo', from: 3 });
  assert.deepEqual(at('up{job="a", ins|}'), { kind: 'label', prefix: 'ins', from: 12 });
  assert.equal(at('up{job="ab|"}').kind, null);
  assert.equal(at('up{job=|').kind, null);
  assert.deepEqual(at('sum by (jo|) (x)'), { kind: 'label', prefix: 'jo', from: 8 });
  assert.deepEqual(at('sum(x) without (a, b|'), { kind: 'label', prefix: 'b', from: 19 });
  assert.equal(at('rate(x[5m|').kind, null);
  assert.equal(at('x offset 5m|').kind, null);
  assert.equal(at('|').kind, null);
  assert.deepEqual(at('a + b|'), { kind: 'metric', prefix: 'b', from: 4 });
});

test('suggestions: prefix matches first, then substring', () => {
  const names = ['node_load1', 'process_cpu_seconds_total', 'node_cpu_seconds_total', 'up', 'rate'];
  assert.deepEqual(suggest(names, 'node'), ['node_cpu_seconds_total', 'node_load1']);
  assert.deepEqual(suggest(names, 'cpu'), ['node_cpu_seconds_total', 'process_cpu_seconds_total']);
  assert.deepEqual(suggest(names, 'up'), []);	// already complete
  assert.deepEqual(suggest(names, 'u'), ['up']);
  assert.equal(suggest(Array.from({ length: 50 }, (_, i) => `m${i}`), 'm', 12).length, 12);
});

test('a matrix on the step grid', () => {
  const result = [
    { metric: { a: '1' }, values: [[100, '1'], [120, '3'], [130, 'NaN']] },
    { metric: { a: '2' }, values: [[110, '+Inf'], [130, '-2.5'], [200, '9']] },
  ];
  assert.deepEqual(alignMatrix(result, 100, 10, 4), [
    [1, null, 3, null],
    [null, null, null, -2.5],
  ]);
  assert.deepEqual(alignMatrix([], 100, 10, 4), []);
});
