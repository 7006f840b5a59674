import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseDuration, formatDuration } from '../../shared/duration.js';

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

test.run();
