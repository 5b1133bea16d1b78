"""Completions, certificates (verifiable credentials), their status lists, and the incentive
installments a first certificate creates.

``completions`` (submitCompletions), ``credentials`` (building, signing, reading VC-JOSE
JWTs), ``keys`` (the credential signing keys), ``status_list`` (Bitstring Status Lists),
``status_changes`` (revoke, suspend, reinstate), ``verification`` (why a credential does or
does not verify), ``installments`` (incentive eligibility), ``queries`` (reads), ``legacy``
(credentials for certificates older than credentials), ``records`` (what callers get).
"""
