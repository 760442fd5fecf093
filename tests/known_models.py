"""Hand-built networks whose answers are known, for probe and claim tests (defined with the morcos
family's controls, which build on them: benchmark/families/morcos/planted.py)."""

from benchmark.families.morcos.planted import class_signal_split, redundant_copies, selective_units_decide

__all__ = ["class_signal_split", "redundant_copies", "selective_units_decide"]
