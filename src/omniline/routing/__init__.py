"""Routing rules: which queue, priority, tags and language a new conversation gets."""
