"""Quantize: the trained model's coefficients to 8 and 16 bits, min-max (affine) scheme; the intercept stays float.

usage: python3 quantize.py OUT_DIR   (reads OUT_DIR/model.joblib, writes OUT_DIR/quant_8.joblib and quant_16.joblib)
"""
import os
import sys

import joblib
import numpy as np


def quantize_minmax(values, bits):
    """Unsigned integers in [0, 2^bits - 1] with a scale and a minimum: v ~ q * scale + min."""
    lo, hi = float(values.min()), float(values.max())
    levels = (1 << bits) - 1
    scale = (hi - lo) / levels if hi > lo else 1.0
    dtype = np.uint8 if bits == 8 else np.uint16
    q = np.clip(np.round((values - lo) / scale), 0, levels).astype(dtype)
    return {"bits": bits, "q": q, "scale": scale, "min": lo}


def dequantize(p):
    return p["q"].astype(np.float64) * p["scale"] + p["min"]


def main(out):
    model = joblib.load(os.path.join(out, "model.joblib"))
    weights = model.coef_
    for bits in (8, 16):
        p = quantize_minmax(weights, bits)
        p["intercept"] = float(model.intercept_)
        err = np.abs(dequantize(p) - weights).max()
        joblib.dump(p, os.path.join(out, f"quant_{bits}.joblib"))
        print(f"quantize: {bits}-bit, max |w - dequantized w| {err:.3g}")


if __name__ == "__main__":
    main(sys.argv[1])
