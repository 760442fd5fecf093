"""Measures of a network's units that both training and probing use (the selectivity index: the
leavitt regularizer trains on it, the probes report it). They live below models/, experiments/ and
probes/, so that none of those imports another's room for them."""
