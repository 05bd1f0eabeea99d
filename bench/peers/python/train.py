"""Train: read the data, split like train_test_split(test_size=0.2, random_state=42), fit LinearRegression.

usage: python3 train.py DATA OUT_DIR   (writes OUT_DIR/model.joblib, OUT_DIR/test.npz and OUT_DIR/metrics.json)
"""
import json
import os
import sys

import joblib
from sklearn.linear_model import LinearRegression
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split

from common import FEATURES, load_housing


def main(data, out):
    os.makedirs(out, exist_ok=True)
    X, y = load_housing(data)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
    model = LinearRegression().fit(X_train, y_train)
    r2 = r2_score(y_test, model.predict(X_test))
    joblib.dump(model, os.path.join(out, "model.joblib"))
    import numpy as np
    np.savez(os.path.join(out, "test.npz"), X=X_test, y=y_test)
    with open(os.path.join(out, "metrics.json"), "w") as f:
        json.dump({"r2": r2, "features": FEATURES, "coef": model.coef_.tolist(), "intercept": float(model.intercept_)}, f, indent=2)
    print(f"train: {len(y_train)} rows, test R2 {r2:.4f}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
