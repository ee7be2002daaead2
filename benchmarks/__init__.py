"""Benchmarks: scripts with a make target that print their figures (never timed unit tests)."""
