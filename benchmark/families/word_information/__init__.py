"""guan2019 G1-G3, word information in NLP models: a sentiment corpus with known word relevance,
transformers (pretrained / scratch), BiLSTMs and CNNs per seed, the perturbation measure and the
gradient baselines per word and layer. `family.py` declares the family (benchmark/families/__init__.py)."""
