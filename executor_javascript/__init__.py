"""The javascript executor: its language spec (spec.py) and entry point (python -m executor_javascript)."""
