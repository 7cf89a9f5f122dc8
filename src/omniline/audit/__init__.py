"""Audit log: an append-only record of sign-ins, contact access and administrative changes."""
