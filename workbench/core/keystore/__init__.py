"""Keystores and truststores.

One Keystore model over PKCS#12, JKS and PEM codecs, conversion and keytool-style listing.
"""

from .codec import build_device_keystore, build_truststore, dump_keystore, load_keystore
from .detect import detect_format, sniff_format
from .listing import describe_entry, describe_store, format_listing
from .model import (
    DEVICE_ALIAS,
    TRUST_ALIAS,
    Entry,
    Keystore,
    PrivateKeyEntry,
    StoreKind,
    TrustedCertEntry,
    bundle_aliases,
)
from .operations import (
    Change,
    add_key_pair,
    add_trusted,
    convert_store,
    delete_entry,
    export_entry,
    read_store,
    rename_entry,
    save_store,
    set_key_password,
)
from .pkcs12 import Pkcs12Options

__all__ = [
    "DEVICE_ALIAS",
    "TRUST_ALIAS",
    "Change",
    "Entry",
    "Keystore",
    "Pkcs12Options",
    "PrivateKeyEntry",
    "StoreKind",
    "TrustedCertEntry",
    "add_key_pair",
    "add_trusted",
    "build_device_keystore",
    "build_truststore",
    "bundle_aliases",
    "convert_store",
    "delete_entry",
    "describe_entry",
    "describe_store",
    "detect_format",
    "dump_keystore",
    "export_entry",
    "format_listing",
    "load_keystore",
    "read_store",
    "rename_entry",
    "save_store",
    "set_key_password",
    "sniff_format",
]
