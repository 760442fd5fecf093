"""Datasets: each a pure function of its params and seed (embedded), or a loader of local files
in the original format (paper scale). Nothing here downloads."""
