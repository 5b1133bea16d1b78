"""The Prakerja partner gateway: one GraphQL API for every partner of the programme."""

__version__ = "0.1.0"
