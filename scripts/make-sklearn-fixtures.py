#!/usr/bin/python3
"""Write tests/fixtures/sklearn/reference.json: the numbers scikit-learn gives on the California-housing data.

Run once with Debian's python3-sklearn (the tests themselves never need Python):

    /usr/bin/python3 scripts/make-sklearn-fixtures.py [path/to/cal_housing.data]

The data file defaults to ../shared/data/cal_housing.data relative to the repository root. Features are derived
exactly as sklearn.datasets.fetch_california_housing does, the split is train_test_split(test_size=0.2,
random_state=42) and the model is LinearRegression(). Floats are written with repr (shortest round trip).
"""
import hashlib
import json
import os
import sys

import numpy as np
import sklearn
from sklearn.linear_model import LinearRegression
from sklearn.metrics import (mean_absolute_error, mean_absolute_percentage_error, mean_squared_error, r2_score)
from sklearn.model_selection import train_test_split

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, '..', 'shared', 'data', 'cal_housing.data')
OUT = os.path.join(ROOT, 'tests', 'fixtures', 'sklearn', 'reference.json')
FEATURES = ['MedInc', 'HouseAge', 'AveRooms', 'AveBedrms', 'Population', 'AveOccup', 'Latitude', 'Longitude']
SEED = 42
TEST_SIZE = 0.2


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def i32(a):
    return np.ascontiguousarray(a, dtype='<i4').tobytes()


def f64(a):
    return np.ascontiguousarray(a, dtype='<f8').tobytes()


def floats(a):
    return [float(v) for v in np.ravel(a)]


def load():
    # Same steps as sklearn.datasets._california_housing.fetch_california_housing.
    raw = np.loadtxt(DATA, delimiter=',')
    cal = raw[:, [8, 7, 2, 3, 4, 5, 6, 1, 0]]
    target, data = cal[:, 0], cal[:, 1:]
    data[:, 2] /= data[:, 5]
    data[:, 3] /= data[:, 5]
    data[:, 5] = data[:, 4] / data[:, 5]
    target = target / 100000.0
    return data, target


def mt_raw(seed, count):
    bg = np.random.MT19937()
    bg._legacy_seeding(seed)
    return [int(v) for v in bg.random_raw(count)]


def minmax(coef, X_train, y_train, intercept, X_test, y_test, bits):
    """The per-tensor min/max scheme, as the issue defines it (float32 weights, one min, one scale)."""
    w = coef.astype(np.float32).astype(np.float64)
    lo, hi = float(np.min(w)), float(np.max(w))
    scale = (2 ** bits - 1) / (hi - lo)
    q = np.round((w - lo) * scale)
    dq = q / scale + lo
    b = intercept + float(np.mean(y_train - (X_train @ dq + intercept)))
    pred = X_test @ dq + b
    return {'q': [int(v) for v in q], 'r2': float(r2_score(y_test, pred)),
            'r2_without_bias_correction': float(r2_score(y_test, X_test @ dq + intercept))}


def main():
    with open(DATA, 'rb') as f:
        data_sha = sha256(f.read())
    X, y = load()
    n = X.shape[0]
    perm = np.random.RandomState(SEED).permutation(n)
    n_test = int(np.ceil(TEST_SIZE * n))
    X_train, X_test, y_train, y_test, idx_train, idx_test = train_test_split(
        X, y, np.arange(n), test_size=TEST_SIZE, random_state=SEED)
    assert np.array_equal(idx_test, perm[:n_test]) and np.array_equal(idx_train, perm[n_test:])

    reg = LinearRegression().fit(X_train, y_train)
    pred = reg.predict(X_test)

    small = {}
    for seed, size in [(0, 1), (0, 2), (0, 10), (7, 37), (123456789, 1000), (4294967295, 300)]:
        small[f'{seed}:{size}'] = [int(v) for v in np.random.RandomState(seed).permutation(size)]

    ref = {
        'generator': f'scripts/make-sklearn-fixtures.py (scikit-learn {sklearn.__version__}, numpy {np.__version__})',
        'data_sha256': data_sha,
        'features': FEATURES,
        'n_rows': int(n),
        'seed': SEED,
        'test_size': TEST_SIZE,
        'mt19937': {
            'seed42_first10': mt_raw(42, 10),
            'seed0_first5': mt_raw(0, 5),
            'seed42_after1000': mt_raw(42, 1001)[1000],
        },
        'permutation': {
            'n': int(n),
            'first20': [int(v) for v in perm[:20]],
            'last5': [int(v) for v in perm[-5:]],
            'sha256_int32le': sha256(i32(perm)),
            'small': small,
        },
        'split': {
            'n_train': int(len(idx_train)),
            'n_test': int(len(idx_test)),
            'test_first20': [int(v) for v in idx_test[:20]],
            'train_first20': [int(v) for v in idx_train[:20]],
            'test_sha256_int32le': sha256(i32(idx_test)),
            'train_sha256_int32le': sha256(i32(idx_train)),
            'X_train_sha256_f64le': sha256(f64(X_train)),
            'y_train_sha256_f64le': sha256(f64(y_train)),
            'X_test_sha256_f64le': sha256(f64(X_test)),
            'y_test_sha256_f64le': sha256(f64(y_test)),
            'test_first3': {'X': [floats(r) for r in X_test[:3]], 'y': floats(y_test[:3])},
            'train_column_means': floats(X_train.mean(axis=0)),
            'train_column_std': floats(X_train.std(axis=0)),
            'y_train_mean': float(y_train.mean()),
        },
        'linear_regression': {
            'coef': floats(reg.coef_),
            'intercept': float(reg.intercept_),
            'test_pred_first10': floats(pred[:10]),
        },
        'metrics': {
            'r2': float(r2_score(y_test, pred)),
            'mse': float(mean_squared_error(y_test, pred)),
            'mae': float(mean_absolute_error(y_test, pred)),
            'mape': float(mean_absolute_percentage_error(y_test, pred)),
        },
        'metric_cases': [],
        'minmax': {
            '8': minmax(reg.coef_, X_train, y_train, reg.intercept_, X_test, y_test, 8),
            '16': minmax(reg.coef_, X_train, y_train, reg.intercept_, X_test, y_test, 16),
        },
    }
    # Small hand cases for each metric, including MAPE's epsilon for a zero target.
    for yt, yp in [([3.0, -0.5, 2.0, 7.0], [2.5, 0.0, 2.0, 8.0]), ([1.0, 0.0, 2.0], [1.5, 0.25, 2.0]),
                   ([0.1, 0.2, 0.3, 0.4, 0.5], [0.12, 0.18, 0.33, 0.41, 0.47])]:
        ref['metric_cases'].append({
            'y_true': yt, 'y_pred': yp,
            'r2': float(r2_score(yt, yp)), 'mse': float(mean_squared_error(yt, yp)),
            'mae': float(mean_absolute_error(yt, yp)), 'mape': float(mean_absolute_percentage_error(yt, yp)),
        })

    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT + '.tmp', 'w') as f:
        json.dump(ref, f, indent=2)
        f.write('\n')
    os.replace(OUT + '.tmp', OUT)
    print(f'wrote {os.path.relpath(OUT, ROOT)}: r2 {ref["metrics"]["r2"]!r}, minmax-8 r2 {ref["minmax"]["8"]["r2"]!r}')


if __name__ == '__main__':
    main()
