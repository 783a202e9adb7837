"""Conformance rows, one module per layer family, each with a `CASES` list of
`layer_harness.Case` (see tests/layer_harness.py)."""
