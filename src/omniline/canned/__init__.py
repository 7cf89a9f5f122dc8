"""Canned responses, @mentions in private notes and the workspace's tag list."""
