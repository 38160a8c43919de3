"""The java executor: its language spec (spec.py) and entry point (python -m executor_java)."""
