"""Disclosure channels: one module per channel behind the contract in :mod:`pipeline.channel`."""
