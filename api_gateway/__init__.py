"""The HTTP gateway: validates submissions, stores job records, enqueues them, and serves
status and results (SPEC §3)."""
