import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseDuration, formatDuration, goDurationString, parseDurationNs } from '../../shared/duration.js';

test('parses Go durations', () => {
  assert.is(parseDuration('30m'), 1_800_000);
  assert.is(parseDuration('1h30m'), 5_400_000);
  assert.is(parseDuration('1.5h'), 5_400_000);
  assert.is(parseDuration('300ms'), 300);
  assert.is(parseDuration('0'), 0);
  for (const bad of ['', '30', '30 m', '-5m', '1d', 'm5']) assert.is(parseDuration(bad), undefined, bad);
});

test('formats like Go Duration.String rounded to seconds', () => {
  assert.is(formatDuration(0), '0s');
  assert.is(formatDuration(10_400), '10s');
  assert.is(formatDuration(65_000), '1m5s');
  assert.is(formatDuration(3_600_000), '1h0m0s');
  assert.is(formatDuration(3_723_000), '1h2m3s');
});

test('goDurationString is Go Duration.String() (values checked against go1.x time.Duration)', () => {
  const cases: Array<[string, string]> = [
    ['30m', '30m0s'],
    ['1h', '1h0m0s'],
    ['90s', '1m30s'],
    ['1h30m', '1h30m0s'],
    ['1.5h', '1h30m0s'],
    ['0', '0s'],
    ['24h', '24h0m0s'],
    ['1.5s', '1.5s'],
    ['1m0.25s', '1m0.25s'],
    ['300ms', '300ms'],
    ['1.5ms', '1.5ms'],
    ['2us', '2µs'],
    ['500ns', '500ns'],
    ['1100ns', '1.1µs'],
    ['100h', '100h0m0s'],
    ['45m30s', '45m30s'],
  ];
  for (const [input, want] of cases) assert.is(goDurationString(parseDurationNs(input)!), want, input);
  assert.is(parseDurationNs('1d'), undefined);
});

test.run();
