"""The cpp executor: its language spec (spec.py) and entry point (python -m executor_cpp)."""
