// The real data set parsed and split once per test process.
import { readFileSync } from 'node:fs';
import { takeRows, type Dataset } from '../../stages/lib/dataset.js';
import { FEATURES, parseHousing } from '../../stages/lib/housing.js';
import { trainTestSplit } from '../../stages/lib/split.js';
import { realData } from './harness.js';

let cached: { train: Dataset; test: Dataset } | undefined;

export function loadRealSplit(): { train: Dataset; test: Dataset } {
  if (!cached) {
    const h = parseHousing(readFileSync(realData, 'utf8'), realData);
    const s = trainTestSplit(h.n, 0.2, 42);
    cached = { train: takeRows(h.X, h.y, FEATURES.length, s.train), test: takeRows(h.X, h.y, FEATURES.length, s.test) };
  }
  return cached;
}
