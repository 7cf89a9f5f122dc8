"""Retention of old conversations and a customer's rights: export and erasure of a contact."""
