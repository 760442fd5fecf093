"""bau2020 B4-B6, the scene GAN family: procedural scenes -> a reference segmenter and independently
trained generators -> dissection and unit interventions (tree removal, door insertion, a window
unit as a classifier). `family.py` declares the family (benchmark/families/__init__.py)."""
