"""Omniline: a self-hosted omnichannel contact centre."""

__version__ = "0.1.0"
