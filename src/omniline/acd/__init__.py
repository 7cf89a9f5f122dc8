"""Automatic call distribution: the pure engine (``engine``), call records and their replay."""
