// The one valid model.json the model tests mutate: both the zod schema and the quick structural check accept it.
import { modelJson, type LinearModel } from '../../stages/lib/model.js';

export const GOOD_MODEL: LinearModel = modelJson({
  format: 'pipeline.linear-model',
  version: 1,
  target: 'MedHouseVal',
  features: ['a', 'b'],
  coefficients: [1.5, -2e-6],
  intercept: -37,
  train_rows: 100,
  data_sha256: 'a'.repeat(64),
  source_sha256: 'b'.repeat(64),
  split: { seed: 42, test_size: 0.2 },
});
