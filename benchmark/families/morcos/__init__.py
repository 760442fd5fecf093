"""morcos2018 M1-M4: class selectivity vs single-unit importance, ablation and generalization,
reliance on single directions. `family.py` declares the family (benchmark/families/__init__.py)."""
