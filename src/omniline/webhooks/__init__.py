"""Outgoing webhooks: signed HTTP callbacks to a lender's systems on conversation and SLA events."""
