"""Errors a user can act on: each names the file and the field at fault."""

from __future__ import annotations


class BenchmarkError(Exception):
    """Base class; the CLI prints these without a traceback and exits with status 2."""


class ClaimFileError(BenchmarkError):
    def __init__(self, path, field: str, message: str):
        self.path, self.field = str(path), field
        super().__init__(f"{path}: field '{field}': {message}")


class EvidenceError(BenchmarkError):
    def __init__(self, path, field: str, message: str):
        self.path, self.field = str(path), field
        super().__init__(f"{path}: column '{field}': {message}")


class ParamsError(BenchmarkError):
    def __init__(self, path, field: str, message: str):
        self.path, self.field = str(path), field
        super().__init__(f"{path}: param '{field}': {message}")


class DataError(BenchmarkError):
    """A dataset is missing, unreadable, or differs from the hash pinned in data.dvc."""
