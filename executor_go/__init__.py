"""The go executor: its language spec (spec.py) and entry point (python -m executor_go)."""
