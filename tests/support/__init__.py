"""Helpers shared by the tests; fixtures stay in ``tests/conftest.py``.

- ``gateway``: ``TEST_MASTER_KEY``, ``make_client``, ``graphql``, ``Tokens``, ``REPRESENTATIVES``
- ``databases``: ``DatabaseFactory`` (``create``, ``seeded``), ``SEED_PARTICIPANTS``
- ``credentials``: the run's committed test clients and the tokens reused across tests
- ``auth``: forged and raw tokens, the app's signing key
- ``catalog``: catalog documents, ``data``, ``codes``, ``page``, ``all_pages``, course makers,
  ``counting`` (the SQL statements a block sends)
- ``enrollment``: a live sale (``open_sale``), purchase documents, ``buy``, ``otp_of``, ``scalar``
- ``processes``: ``postgres_processes``
"""
