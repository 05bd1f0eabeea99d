"""Predict: the test set with the float model and the dequantized 8- and 16-bit models; metrics and predictions.

usage: python3 predict.py OUT_DIR   (writes OUT_DIR/predictions.csv and OUT_DIR/predict-metrics.json)
"""
import json
import os
import sys

import joblib
import numpy as np
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

from quantize import dequantize


def main(out):
    model = joblib.load(os.path.join(out, "model.joblib"))
    test = np.load(os.path.join(out, "test.npz"))
    X, y = test["X"], test["y"]
    columns = {"actual": y, "float": model.predict(X)}
    for bits in (8, 16):
        p = joblib.load(os.path.join(out, f"quant_{bits}.joblib"))
        q = LinearRegression()
        q.coef_, q.intercept_, q.n_features_in_ = dequantize(p), p["intercept"], X.shape[1]
        columns[f"minmax-{bits}"] = q.predict(X)
    metrics = {
        name: {"r2": r2_score(y, p), "mse": mean_squared_error(y, p), "mae": mean_absolute_error(y, p)}
        for name, p in columns.items() if name != "actual"
    }
    np.savetxt(os.path.join(out, "predictions.csv"), np.column_stack(list(columns.values())), delimiter=",",
               header=",".join(columns), comments="", fmt="%.17g")
    with open(os.path.join(out, "predict-metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2)
    for name, m in metrics.items():
        print(f"predict: {name:10s} R2 {m['r2']:.4f}  MSE {m['mse']:.4f}  MAE {m['mae']:.4f}")


if __name__ == "__main__":
    main(sys.argv[1])
