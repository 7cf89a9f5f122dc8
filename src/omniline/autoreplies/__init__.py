"""Auto-replies: greeting, out of hours, high load and closing, per inbox, queue and language."""
