"""Calibration by simulation: does each test kind's verdict mean what it says?

Evidence tables with the structure of the real ones are simulated with the truth on the support
test's boundary (the verdict `reproduced` must come out at most at rate alpha) and at the design
point (it must come out at least at the declared power), and run through the real test kinds.
"""
