"""Fixtures for profile tests: a store in the test's config dir, the sample files, a keyring with no backend."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest

from workbench.core.profiles import ProfileStore

DATA = Path(__file__).resolve().parents[2] / "data" / "profiles"


def sample(name: str) -> Path:
    """A sample file under tests/data/profiles."""
    path = DATA / name
    assert path.exists(), path
    return path


@pytest.fixture
def store() -> ProfileStore:
    """A store in the isolated config dir, over the in-memory keyring from tests/conftest.py."""
    return ProfileStore()


@pytest.fixture
def no_keyring() -> Iterator[None]:
    """The headless machine's situation: the `fail` backend; the previous backend is restored afterwards."""
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    try:
        yield
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def copy_sample(store: ProfileStore) -> Callable[[str, str], Path]:
    """Put a sample into the store's folder under a chosen file name."""

    def copy(name: str, as_name: str) -> Path:
        store.folder.mkdir(parents=True, exist_ok=True)
        target = store.folder / as_name
        shutil.copyfile(sample(name), target)
        return target

    return copy
