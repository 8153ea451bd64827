"""Keystores and truststores.

One Keystore model over PKCS#12, JKS and PEM codecs, conversion and keytool-style listing.
"""
