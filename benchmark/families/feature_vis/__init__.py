"""olah2017, feature visualization: the scene classifiers (classifier_dissection's
train_scene_classifier) visualized per objective, parameterization and transform arm, scored by
the scene GAN family's reference segmenter, by spectra and by the other networks. `family.py`
declares the family (benchmark/families/__init__.py: the protocol)."""
