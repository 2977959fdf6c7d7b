// Units and numbers as the dashboard prints them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  sig, fmtShort, fmtBytes, fmtSeconds, fmtPercent, fmtValue, fmtDuration,
  fmtAgo, seriesStats,
} from '../js/format.js';

test('sig keeps three significant digits without trailing zeros', () => {
  assert.equal(sig(0), '0');
  assert.equal(sig(1.5), '1.5');
  assert.equal(sig(1.2345), '1.23');
  assert.equal(sig(12.345), '12.3');
  assert.equal(sig(123.45), '123');
  assert.equal(sig(1234.5), '1235');
  assert.equal(sig(-0.012345), '-0.0123');
  assert.equal(sig(0.000123), '0.000123');
  assert.equal(sig(1.5e-7), '1.5e-7');
  assert.equal(sig(1e-7), '1e-7');
});

test('short numbers take SI prefixes', () => {
  assert.equal(fmtShort(0), '0');
  assert.equal(fmtShort(999), '999');
  assert.equal(fmtShort(999.4), '999');
  assert.equal(fmtShort(999.6), '1k');
  assert.equal(fmtShort(1500), '1.5k');
  assert.equal(fmtShort(12345), '12.3k');
  assert.equal(fmtShort(2.5e6), '2.5M');
  assert.equal(fmtShort(7e9), '7G');
  assert.equal(fmtShort(-4200), '-4.2k');
  assert.equal(fmtShort(0.25), '0.25');
  assert.equal(fmtShort(0.00123), '0.00123');
  assert.equal(fmtShort(0.000169), '1.69e-4');
  assert.equal(fmtShort(-0.0000082), '-8.2e-6');
  assert.equal(fmtValue(0.0005, 'persec'), '5e-4/s');
});

test('bytes are binary multiples', () => {
  assert.equal(fmtBytes(0), '0 B');
  assert.equal(fmtBytes(512), '512 B');
  assert.equal(fmtBytes(1024), '1 KiB');
  assert.equal(fmtBytes(1536), '1.5 KiB');
  assert.equal(fmtBytes(200 * 1024 * 1024), '200 MiB');
  assert.equal(fmtBytes(3.5 * 2 ** 30), '3.5 GiB');
  assert.equal(fmtBytes(2 ** 40), '1 TiB');
});

test('seconds pick the unit a person reads', () => {
  assert.equal(fmtSeconds(0), '0 s');
  assert.equal(fmtSeconds(2.5e-8), '25 ns');
  assert.equal(fmtSeconds(0.000042), '42 µs');
  assert.equal(fmtSeconds(0.0123), '12.3 ms');
  assert.equal(fmtSeconds(0.25), '250 ms');
  assert.equal(fmtSeconds(1.5), '1.5 s');
  assert.equal(fmtSeconds(90), '1.5 min');
  assert.equal(fmtSeconds(5400), '1.5 h');
  assert.equal(fmtSeconds(3 * 86400), '3 d');
});

test('percent and ratio', () => {
  assert.equal(fmtPercent(12.345), '12.3%');
  assert.equal(fmtPercent(100), '100%');
  assert.equal(fmtValue(0.123, 'ratio'), '12.3%');
  assert.equal(fmtValue(42, 'percent'), '42%');
});

test('fmtValue dispatches on the unit', () => {
  assert.equal(fmtValue(1234, 'persec'), '1.23k/s');
  assert.equal(fmtValue(0.5, 'persec'), '0.5/s');
  assert.equal(fmtValue(2048, 'bytes'), '2 KiB');
  assert.equal(fmtValue(2048, 'bytesps'), '2 KiB/s');
  assert.equal(fmtValue(0.002, 'seconds'), '2 ms');
  assert.equal(fmtValue(3, 'short'), '3');
  assert.equal(fmtValue(3, ''), '3');
  assert.equal(fmtValue(null, 'bytes'), '–');
  assert.equal(fmtValue(undefined, 'seconds'), '–');
  assert.equal(fmtValue(NaN, 'persec'), 'NaN');
  assert.equal(fmtValue(Infinity, 'bytes'), '+Inf');
  assert.equal(fmtValue(-Infinity, 'ratio'), '-Inf');
});

test('durations in their two largest units', () => {
  assert.equal(fmtDuration(250), '250ms');
  assert.equal(fmtDuration(45000), '45s');
  assert.equal(fmtDuration(60000), '1m');
  assert.equal(fmtDuration(125000), '2m 5s');
  assert.equal(fmtDuration(3600000 + 120000 + 5000), '1h 2m');
  assert.equal(fmtDuration(3 * 86400000 + 4 * 3600000), '3d 4h');
  assert.equal(fmtDuration(NaN), '–');
});

test('ago', () => {
  assert.equal(fmtAgo(1000, 1500), 'just now');
  assert.equal(fmtAgo(0, 5000), '5s ago');
  assert.equal(fmtAgo(null, 5000), 'never');
});

test('series statistics skip gaps and values that cannot be drawn', () => {
  assert.deepEqual(seriesStats([1, null, 3, NaN, 2]), { min: 1, max: 3, avg: 2, last: 2 });
  assert.deepEqual(seriesStats([null, null]), { min: null, max: null, avg: null, last: null });
  assert.deepEqual(seriesStats([]), { min: null, max: null, avg: null, last: null });
  assert.deepEqual(seriesStats([-5]), { min: -5, max: -5, avg: -5, last: -5 });
});

test('time axis labels', async () => {
  const { fmtTick } = await import('../js/format.js');
  const t = (y, mo, d, h, mi, s = 0) => new Date(y, mo, d, h, mi, s).getTime() / 1000;
  assert.equal(fmtTick(t(2024, 4, 1, 14, 5), 300, 3600), '14:05');
  assert.equal(fmtTick(t(2024, 4, 1, 14, 5, 30), 30, 600), '14:05:30');
  assert.equal(fmtTick(t(2024, 4, 1, 0, 0), 3600, 3600), '00:00');
  assert.equal(fmtTick(t(2024, 4, 1, 0, 0), 3 * 3600, 3 * 86400), 'May 1');
  assert.equal(fmtTick(t(2024, 4, 1, 6, 0), 3 * 3600, 3 * 86400), '06:00');
  assert.equal(fmtTick(t(2024, 10, 25, 0, 0), 86400, 30 * 86400), 'Nov 25');
});

test('numbers and units apart', async () => {
  const { splitUnit } = await import('../js/format.js');
  assert.deepEqual(splitUnit('10.8 MiB'), ['10.8', ' MiB']);
  assert.deepEqual(splitUnit('0.328%'), ['0.328', '%']);
  assert.deepEqual(splitUnit('1.23k/s'), ['1.23', 'k/s']);
  assert.deepEqual(splitUnit('-4.2k'), ['-4.2', 'k']);
  assert.deepEqual(splitUnit('1.69e-4'), ['1.69e-4', '']);
  assert.deepEqual(splitUnit('42'), ['42', '']);
  assert.deepEqual(splitUnit('–'), ['–', '']);
  assert.deepEqual(splitUnit('NaN'), ['NaN', '']);
  assert.deepEqual(splitUnit('+Inf'), ['+Inf', '']);
});
