"""Shared by the three peer scripts: read cal_housing.data and derive scikit-learn's California-housing features.

The peer for the benchmark's cold run: the original project's Python scripts (train, quantize, predict with
scikit-learn) on the same file the pipeline reads. Run with Debian's python3 and python3-sklearn.
"""
import numpy as np

FEATURES = ["MedInc", "HouseAge", "AveRooms", "AveBedrms", "Population", "AveOccup", "Latitude", "Longitude"]


def load_housing(path):
    """X (n x 8) and y as fetch_california_housing derives them from the 9 raw columns of cal_housing.data."""
    raw = np.loadtxt(path, delimiter=",", dtype=np.float64)
    lon, lat, age, rooms, bedrooms, population, households, income, value = raw.T
    X = np.column_stack([
        income,
        age,
        rooms / households,
        bedrooms / households,
        population,
        population / households,
        lat,
        lon,
    ])
    y = value / 100000.0
    return X, y
