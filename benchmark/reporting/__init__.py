"""Figures and reports. Reads verdict files only; never trains or tests."""
