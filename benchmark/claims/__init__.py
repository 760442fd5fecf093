"""Claim files: typed, validated, versioned specs of published claims."""

from benchmark.claims.spec import ClaimSpec, TestSpec
from benchmark.claims.registry import load_claim, load_claims, find_claim

__all__ = ["ClaimSpec", "TestSpec", "load_claim", "load_claims", "find_claim"]
