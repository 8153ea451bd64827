from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbench.core.profiles import (
    SCHEMA_VERSION,
    ConnectionProfile,
    Mqtt5ConnectProperties,
    migrate,
    profile_from_dict,
    profile_to_dict,
)
from workbench.errors import ProfileError

from .conftest import sample


def test_dict_round_trip_is_plain_json() -> None:
    profile = ConnectionProfile(name="p", broker_host="h", id="fixed-id",
                                mqtt5=Mqtt5ConnectProperties(user_properties=(("k", "v"),)))
    data = profile_to_dict(profile)
    assert json.loads(json.dumps(data)) == data
    assert data["mqtt5"]["user_properties"] == [["k", "v"]]
    assert profile_from_dict(data) == profile


def test_bad_enum_value_lists_the_allowed_ones() -> None:
    data = profile_to_dict(ConnectionProfile(name="p", broker_host="h"))
    data["tls"]["mode"] = "magic"
    with pytest.raises(ProfileError, match=r"profile.tls.mode is 'magic'") as info:
        profile_from_dict(data)
    assert "'keystores'" in str(info.value)


def test_missing_required_field_is_named() -> None:
    with pytest.raises(ProfileError, match="missing broker_host"):
        profile_from_dict({"schema_version": SCHEMA_VERSION, "name": "p"})


@pytest.mark.parametrize(("data", "words"), [
    ({"schema_version": SCHEMA_VERSION + 1}, "newer than this program"),
    ({"schema_version": -1}, "not valid"),
    ({"schema_version": "2"}, "not a number"),
    ([], "must be a JSON object"),
])
def test_migrate_refuses_what_it_does_not_know(data: object, words: str) -> None:
    with pytest.raises(ProfileError, match=words):
        migrate(data)


def test_migrate_v0_keeps_the_password_apart() -> None:
    current = migrate(json.loads(sample("workbench-profile-v0.json").read_text()), default_id="old")
    assert current.pop("_legacy_secrets") == {"mqtt-password": "legacy-secret"}
    assert "password" not in json.dumps(current)
    assert profile_from_dict(current).id == "old"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 70000) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=12,
)
field_names = st.sampled_from(["name", "broker_host", "broker_port", "id", "tls", "mqtt5", "last_will", "proxy",
                               "client_id", "clean_session", "kind", "mqtt_version", "schema_version"])


@given(st.dictionaries(field_names, json_values, max_size=8))
def test_loading_garbage_only_ever_raises_profile_error(data: dict[str, object]) -> None:
    try:
        profile_from_dict(migrate(data, default_id="x"))
    except ProfileError:
        pass
