"""Minimal equivalent apps for the HTTP benchmark (``bench/http.py``)."""
