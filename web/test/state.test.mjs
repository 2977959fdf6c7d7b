// URL state and time ranges.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseDuration, parseTime, resolveRange, parseHash, buildHash, rangeLabel,
  zoomOut, refreshMs, isRelative,
} from '../js/state.js';

const NOW = 1700000000000;

test('durations', () => {
  assert.equal(parseDuration('5m'), 300000);
  assert.equal(parseDuration('1h30m'), 5400000);
  assert.equal(parseDuration('30d'), 30 * 86400000);
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('1.5h'), 5400000);
  assert.ok(Number.isNaN(parseDuration('')));
  assert.ok(Number.isNaN(parseDuration('5')));
  assert.ok(Number.isNaN(parseDuration('5x')));
  assert.ok(Number.isNaN(parseDuration('5m3')));
});

test('times: relative, epoch and ISO', () => {
  assert.equal(parseTime('now', NOW), NOW);
  assert.equal(parseTime('now-1h', NOW), NOW - 3600000);
  assert.equal(parseTime('now+5m', NOW), NOW + 300000);
  assert.equal(parseTime('1700000000000', NOW), 1700000000000);
  assert.equal(parseTime('1700000000', NOW), 1700000000000);
  assert.equal(parseTime('2023-11-14T22:13:20Z', NOW), 1700000000000);
  assert.ok(Number.isNaN(parseTime('now-', NOW)));
  assert.ok(Number.isNaN(parseTime('yesterday', NOW)));
  assert.ok(Number.isNaN(parseTime('', NOW)));
});

test('a bad range falls back to the last hour', () => {
  assert.deepEqual(resolveRange('now-6h', 'now', NOW), { start: NOW - 6 * 3600000, end: NOW });
  assert.deepEqual(resolveRange('1000', '2000', NOW), { start: 1000000, end: 2000000 });
  assert.deepEqual(resolveRange('now', 'now-1h', NOW), { start: NOW - 3600000, end: NOW });
  assert.deepEqual(resolveRange('garbage', 'now', NOW), { start: NOW - 3600000, end: NOW });
  assert.equal(isRelative('now-1h', 'now'), true);
  assert.equal(isRelative('1000', 'now'), false);
});

test('hash parsing', () => {
  assert.deepEqual(parseHash(''), { page: 'overview', arg: null, params: {} });
  assert.deepEqual(parseHash('#/bogus'), { page: 'overview', arg: null, params: {} });
  assert.deepEqual(parseHash('#/service/shop-api?from=now-6h&to=now'),
    { page: 'service', arg: 'shop-api', params: { from: 'now-6h', to: 'now' } });
  assert.deepEqual(parseHash('#/service/a%20b%2Fc'), { page: 'service', arg: 'a b/c', params: {} });
  assert.deepEqual(parseHash('#/explore?q=sum(rate(x%5B5m%5D))%20%2B%201'),
    { page: 'explore', arg: null, params: { q: 'sum(rate(x[5m])) + 1' } });
});

test('hashes round-trip and leave defaults out', () => {
  const states = [
    { page: 'overview', arg: null, params: {} },
    { page: 'service', arg: 'a b/c', params: { from: 'now-6h', refresh: '10s' } },
    { page: 'explore', arg: null, params: { q: 'sum by (job) (rate(x{a="b&c"}[5m])) / 2', from: '1700000000000', to: '1700003600000' } },
    { page: 'targets', arg: null, params: { job: 'shop-db' } },
  ];
  for (const s of states) assert.deepEqual(parseHash(buildHash(s)), s);
  assert.equal(buildHash({ page: 'overview', params: { from: 'now-1h', to: 'now', refresh: '30s' } }), '#/overview');
  assert.equal(buildHash({ page: 'explore', params: { q: 'up', from: 'now-6h' } }), '#/explore?from=now-6h&q=up');
});

test('range labels', () => {
  const fmt = (ms) => new Date(ms).toISOString().slice(0, 16);
  assert.equal(rangeLabel('now-1h', 'now', fmt), 'Last 1 hour');
  assert.equal(rangeLabel(undefined, undefined, fmt), 'Last 1 hour');
  assert.equal(rangeLabel('now-30d', 'now', fmt), 'Last 30 days');
  assert.equal(rangeLabel('now-90m', 'now', fmt), 'Last 90m');
  assert.equal(rangeLabel('1700000000000', '1700003600000', fmt), '2023-11-14T22:13 – 23:13');
  assert.equal(rangeLabel('1700000000000', '1700100000000', fmt), '2023-11-14T22:13 – 2023-11-16T02:00');
});

test('zoom out doubles the range and stops at now', () => {
  assert.deepEqual(zoomOut(1000, 2000, 10000), { start: 500, end: 2500 });
  assert.deepEqual(zoomOut(8000, 10000, 10000), { start: 6000, end: 10000 });
});

test('refresh periods', () => {
  assert.equal(refreshMs('30s'), 30000);
  assert.equal(refreshMs('1m'), 60000);
  assert.equal(refreshMs('off'), 0);
  assert.equal(refreshMs(''), 0);
  assert.equal(refreshMs('junk'), 0);
});
