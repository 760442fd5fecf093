"""leavitt2021 / leavitt2020: the selectivity regularizer's sweep, its manipulation checks, accuracy,
robustness and dimensionality. `family.py` declares the family (benchmark/families/__init__.py)."""
