"""The rules and the SQL of each domain, one module (or subpackage) per domain.

A resolver takes the request's session and the acting principal, decides, reads and writes,
and hands back frozen records; it knows nothing of GraphQL or HTTP. Tenancy (who sees which
rows) is decided in ``resolvers.tenancy`` only; per-request batching in ``resolvers.loaders``.

Other SQL in the project, each for its own reason: ``auth`` keeps the identity tables
(clients, keys, revocations), ``core.audit`` writes the audit log, and ``gateway`` holds the
process-level tables (idempotency records, outbox dispatch) and loads seed and demo data.
"""
