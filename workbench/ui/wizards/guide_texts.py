"""The device-certificates guide's meanings, one sentence per choice, so every wizard page can explain itself.

Qt-free: these are plain strings and a describer for the extension set a profile writes (the summary page shows it).
"""

from __future__ import annotations

from cryptography import x509

from workbench.core.pki.extdecode import summarize_extension
from workbench.core.pki.keys import KeySpec

# (field name, label, the guide's description) in the guide's req_distinguished_name order, CN first for the form.
SUBJECT_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("common_name", "Common name (CN)",
     "Common Name: every certificate should have a unique common name (the signing policy's only 'supplied' field)."),
    ("organization", "Organization (O)", "Organization Name: optional under the guide's signing policy."),
    ("organizational_unit", "Organizational unit (OU)",
     "Organizational Unit Name: optional under the guide's signing policy."),
    ("country", "Country (C)", "Country Name (2 letter code), e.g. PL or DE; optional."),
    ("state", "State or province (ST)", "State or Province Name; optional."),
    ("locality", "Locality (L)", "Locality Name, e.g. a city; optional."),
    ("email", "Email address", "Email Address; optional under the guide's signing policy."),
)

KEY_CHOICES: tuple[tuple[KeySpec, str, str], ...] = (
    (KeySpec.RSA_4096, "RSA 4096 (the guide's default)",
     "The guide's `openssl genrsa -aes256 ... 4096`: the strongest RSA choice, but slow to generate."),
    (KeySpec.RSA_3072, "RSA 3072", "RSA with 3072 bits: between the guide's minimum and its default."),
    (KeySpec.RSA_2048, "RSA 2048 (the minimum)",
     "The guide asks for RSA with at least 2048 bits: 'A size of 1024 bits or lower is no longer considered safe'."),
    (KeySpec.EC_P256, "EC P-256", "An elliptic-curve key as strong as RSA 3072, generated in milliseconds."),
    (KeySpec.EC_P384, "EC P-384", "An elliptic-curve key as strong as RSA 7680, for long-lived CAs."),
)

KEY_TYPE = ("The key pair binds the certificate to its owner: 'an asymmetric-key algorithm, which is considered "
            "secure nowadays', such as RSA with at least 2048 bits.")
VALIDITY = {
    "root": "How long the CA is valid from now; the guide's `-days 7300` is 20 years.",
    "intermediate": "How long the intermediate is valid; the guide's `openssl ca -days 3650` is 10 years.",
    "device": "How long the device certificate is valid; the guide's `openssl ca -days 365` is one year.",
    "server": "How long the server certificate is valid; 825 days is the longest that TLS clients accept.",
}
PATHLEN = ("pathlen limits how many other CA certificates may sit between this CA and the device certificate: "
           "'A (pathlen: 2) -> B (pathlen: 1) -> C (pathlen: 0) -> D (device)'.")
PATHLEN_ROOT = ("Unlimited leaves only 'basicConstraints = critical, CA:true'; the guide's pathlen:10 is only an "
                "example.")
PATHLEN_INTERMEDIATE = "0 (the default) means this intermediate may sign devices and servers but no further CA."
KEY_PASSWORD = ("The private key is encrypted with AES-256 under this password, as `openssl genrsa -aes256` asks "
                "for one when the key is created.")
CA_PASSWORD_KEYRING = ("The password is also remembered ({kept}), so proof of possession and the other pages can "
                       "unlock this CA without asking; the Certificates page can show or reset it.")
PLAINTEXT = "Write the key unencrypted: anyone who copies the file can sign as this owner (not recommended)."
PARENT_CA = ("Every certificate used to sign another must contain CA:TRUE; the new certificate's chain goes through "
             "this CA up to the root uploaded to the platform.")
PARENT_PASSWORD = "The signing CA's key password: read from the secret store when it was kept there, or typed here."
DEVICE_CN = ("The commonName of the device certificate must match the device's MQTT ClientId, and ':' is not "
             "allowed because it separates fields in the client id.")
CLIENT_AUTH = ("Adds extendedKeyUsage clientAuth so TLS stacks accept the certificate for client login; the guide's "
               "v3_signed has no EKU, so turn it off for the guide's exact set.")
SAN_DNS = "Host names TLS clients check against the address they connect to, one per line (subjectAltName DNS)."
SAN_IP = "IP addresses clients may connect to directly, one per line (subjectAltName IP)."
OUTPUT_FOLDER = ("The key, the certificate and the chain (leaf first, each followed by its signer, up to the root: "
                 "'Certificates used by devices must contain the full certificate chain') are written here.")
KEYSTORE = ("The guide's `openssl pkcs12 -export -name devicekeyentry`: the device key with its chain, in PKCS#12 or "
            "JKS for Java clients.")
TRUSTSTORE = ("'Devices must trust the server certificate': a truststore with this certificate (alias "
              "servercertificate) is written beside the keystore.")
CSR_FILE = ("An external request (`openssl req -new`); only its subject and public key are used, the extensions come "
            "from the profile, as `openssl ca` does.")
CSR_PROFILE = "The extension set to sign with: v3_signed for a device (the guide) or a TLS server profile."


def key_help(spec: KeySpec) -> str:
    """The one-sentence meaning of a key choice."""
    return next((text for choice, _, text in KEY_CHOICES if choice is spec), spec.value)


def _meaning(value: x509.ExtensionType, critical: bool) -> str:
    """What an extension does, in the guide's words where it has them."""
    flag = " Critical: a verifier that does not understand it must reject the certificate." if critical else ""
    if isinstance(value, x509.SubjectKeyIdentifier):
        return "subjectKeyIdentifier = hash: a hash of this certificate's public key, as PKIX recommends." + flag
    if isinstance(value, x509.AuthorityKeyIdentifier):
        return "authorityKeyIdentifier: the signer's key identifier, copied from the parent certificate." + flag
    if isinstance(value, x509.BasicConstraints):
        if not value.ca:
            return "CA:false: this certificate may not sign other certificates." + flag
        limit = "no path length limit" if value.path_length is None else f"pathlen {value.path_length}"
        return f"CA:true with {limit}: it may sign other certificates." + flag
    if isinstance(value, x509.KeyUsage):
        return "keyUsage: the operations the key is permitted to perform." + flag
    if isinstance(value, x509.ExtendedKeyUsage):
        return "extendedKeyUsage: which TLS side may use the certificate." + flag
    if isinstance(value, x509.SubjectAlternativeName):
        return "subjectAltName: the names and addresses TLS clients check." + flag
    return type(value).__name__ + flag


def describe_extensions(extensions: list[tuple[x509.ExtensionType, bool]], *,
                        preview_ski: bool = True) -> list[tuple[str, bool, str, str]]:
    """(openssl name, critical, value, meaning) per extension; the SKI value is unknown until the key exists."""
    rows = []
    own = next((v.digest for v, _c in extensions if isinstance(v, x509.SubjectKeyIdentifier)), None)
    for value, critical in extensions:
        summary = summarize_extension(x509.Extension(value.oid, critical, value))
        shown = ", ".join(summary.lines)
        if isinstance(value, x509.SubjectKeyIdentifier) and preview_ski:
            shown = "hash of the new public key (computed when it is generated)"
        elif isinstance(value, x509.AuthorityKeyIdentifier) and preview_ski and value.key_identifier == own:
            shown = "the new key's own identifier (self-signed: same as the subject key identifier)"
        rows.append((summary.name, critical, shown, _meaning(value, critical)))
    return rows
