import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from workbench.core.keystore import load_keystore
from workbench.core.pki.fleet import DeviceMaker, FleetTemplate, IssuedDevice, KeystoreOptions, order_chain_above
from workbench.core.pki.fleet_ids import DeviceEntry
from workbench.core.pki.issuance import Issuer, create_root_ca, issue_certificate
from workbench.core.pki.keys import KeySpec, generate_key, load_private_key
from workbench.core.pki.names import parse_dn
from workbench.core.pki.profiles import device_profile, intermediate_ca_profile, root_ca_profile
from workbench.errors import InvalidInputError, KeystoreError, PasswordError, PolicyError, WorkbenchError
from workbench.services.device_bundle import DEVICE, bundle_files, fleet_spec, write_new_folder

CERT_FILE, CHAIN_FILE, KEY_FILE = DEVICE.certificate, DEVICE.chain, DEVICE.key


def _files(maker: DeviceMaker, device: IssuedDevice) -> dict[str, tuple[bytes, int]]:
    """A fleet device's folder as the fleet workers write it (the one device-bundle writer)."""
    return bundle_files(fleet_spec(maker), device.key, [device.certificate, *maker.chain])


@pytest.fixture(scope="module")
def root() -> Issuer:
    key = generate_key(KeySpec.EC_P256)
    return Issuer(create_root_ca(parse_dn("CN=Fleet Root,O=ACME"), key, root_ca_profile(path_length=1)), key)


@pytest.fixture(scope="module")
def intermediate(root: Issuer) -> Issuer:
    key = generate_key(KeySpec.EC_P256)
    cert = issue_certificate(parse_dn("CN=Fleet Intermediate"), key.public_key(), intermediate_ca_profile(), root)
    return Issuer(cert, key)


def test_one_device_gets_key_cert_and_chain_in_the_guides_order(root: Issuer, intermediate: Issuer) -> None:
    template = FleetTemplate.for_issuer(intermediate, [root.certificate], key_spec=KeySpec.EC_P256,
                                        key_password=b"pw", subject_extra="O=ACME,CN=ignored")
    maker = DeviceMaker(template)
    device = maker.issue(DeviceEntry("wb-dev-0001"), 0x1234)
    files = _files(maker, device)
    cert = x509.load_pem_x509_certificate(files[CERT_FILE][0])
    assert cert.serial_number == 0x1234
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "wb-dev-0001"
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "ACME"
    chain = x509.load_pem_x509_certificates(files[CHAIN_FILE][0])
    assert [c.subject for c in chain] == [cert.subject, intermediate.certificate.subject, root.certificate.subject]
    key_pem, key_mode = files[KEY_FILE]
    assert b"ENCRYPTED PRIVATE KEY" in key_pem and key_mode == 0o600
    with pytest.raises(PasswordError):
        load_private_key(key_pem, b"wrong")
    assert load_private_key(key_pem, b"pw").public_key() == cert.public_key()


def test_plaintext_keys_only_when_asked(root: Issuer) -> None:
    maker = DeviceMaker(FleetTemplate.for_issuer(root, key_password=None))
    files = _files(maker, maker.issue(DeviceEntry("d1"), 7))
    assert files[KEY_FILE][0].startswith(b"-----BEGIN PRIVATE KEY-----")


def test_keystore_plugs_in_per_device(root: Issuer) -> None:
    maker = DeviceMaker(FleetTemplate.for_issuer(root, key_password=b"pw", keystore=KeystoreOptions()))
    device = maker.issue(DeviceEntry("d1"), 8)
    data, mode = _files(maker, device)["deviceKeystore.pkcs12"]
    loaded = pkcs12.load_pkcs12(data, b"pw")
    assert mode == 0o600
    assert loaded.key is not None and loaded.cert is not None
    assert loaded.cert.friendly_name == b"devicekeyentry"
    assert [c.certificate for c in loaded.additional_certs] == [root.certificate]


def test_jks_keystore_with_its_own_password_and_alias(root: Issuer) -> None:
    maker = DeviceMaker(FleetTemplate.for_issuer(root, key_password=b"k", keystore=KeystoreOptions("jks", b"s", "x")))
    data, mode = _files(maker, maker.issue(DeviceEntry("d1"), 9))["deviceKeystore.jks"]
    assert mode == 0o600
    store = load_keystore(data, b"s")
    assert [e.alias for e in store.key_entries()] == ["x"]


def test_keystore_needs_a_password_and_a_known_kind(root: Issuer) -> None:
    with pytest.raises(KeystoreError, match="needs a password"):
        fleet_spec(DeviceMaker(FleetTemplate.for_issuer(root, key_password=None, keystore=KeystoreOptions()))).check()
    with pytest.raises(InvalidInputError, match="Unknown keystore type"):
        KeystoreOptions("bks")


def test_preflight_refuses_a_non_ca_or_a_foreign_key(root: Issuer) -> None:
    leaf_key = generate_key(KeySpec.EC_P256)
    leaf = issue_certificate(parse_dn("CN=leaf"), leaf_key.public_key(), device_profile(), root)
    with pytest.raises(PolicyError, match="not a CA"):
        DeviceMaker(FleetTemplate.for_issuer(Issuer(leaf, leaf_key)))
    with pytest.raises(PolicyError, match="does not belong"):
        DeviceMaker(FleetTemplate.for_issuer(Issuer(root.certificate, generate_key(KeySpec.EC_P256))))


def test_device_cn_rules_apply(root: Issuer) -> None:
    maker = DeviceMaker(FleetTemplate.for_issuer(root))
    with pytest.raises(PolicyError, match="':'"):
        maker.issue(DeviceEntry("a:b"), 10)


def test_fixed_time_gives_reproducible_validity(root: Issuer) -> None:
    moment = datetime.datetime(2030, 1, 2, tzinfo=datetime.UTC)
    maker = DeviceMaker(FleetTemplate.for_issuer(root, now=moment, profile=device_profile(validity_days=10)))
    cert = maker.issue(DeviceEntry("d1"), 11).certificate
    assert cert.not_valid_before_utc == moment
    assert cert.not_valid_after_utc == moment + datetime.timedelta(days=10)


def test_order_chain_above_sorts_and_ignores_strangers(root: Issuer, intermediate: Issuer) -> None:
    other_key = generate_key(KeySpec.EC_P256)
    stranger = create_root_ca(parse_dn("CN=Other"), other_key, root_ca_profile())
    assert order_chain_above(intermediate.certificate, [stranger, root.certificate]) == [root.certificate]
    assert order_chain_above(intermediate.certificate, [stranger]) == []
    assert order_chain_above(root.certificate, [root.certificate]) == []


def test_device_folder_is_written_with_private_modes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    write_new_folder(tmp_path / "d1", {"k": (b"secret", 0o600), "c": (b"cert", 0o644)}, sync=True)
    assert (tmp_path / "d1" / "k").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "d1" / "c").read_bytes() == b"cert"
    with pytest.raises(WorkbenchError, match="Cannot write"):
        write_new_folder(tmp_path / "d1", {"k": (b"again", 0o600)})


def test_template_crosses_process_boundaries(root: Issuer) -> None:
    import pickle

    template = FleetTemplate.for_issuer(root, key_password=b"pw", keystore=KeystoreOptions())
    copy = pickle.loads(pickle.dumps(template))
    assert copy == template
    assert serialization.load_der_private_key(copy.issuer_key_der, None).public_key() == root.key.public_key()
