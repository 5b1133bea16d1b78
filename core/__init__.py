"""The ground floor: what every layer stands on.

Settings, the database engine and session, the models and their migrations, the one error
vocabulary (``ErrorCode``), the enums, the caller's principal and audit writing. Nothing here
imports ``gateway``, ``schema``, ``resolvers`` or ``auth`` (``lint-imports`` checks it).
"""
