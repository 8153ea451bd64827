"""PKI core.

Keys, names, extension profiles, CSRs, issuance, chains, verification, lint, CA store, CRLs, openssl export.
"""
