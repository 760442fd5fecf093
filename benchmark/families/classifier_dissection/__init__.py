"""bau2020 B1-B3, B7 and bau2017 vs szegedy2013 O3: scene classifiers (shared with the
feature-visualization family) and their random-init controls, dissected, edited, attacked and
rotated. `family.py` declares the family (benchmark/families/__init__.py)."""
