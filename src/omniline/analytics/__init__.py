"""Contact-centre figures (docs/metrics.md) from one fact row per conversation."""
