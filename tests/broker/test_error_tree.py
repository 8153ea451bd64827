"""The broker has one exception tree: every exception class defined anywhere in `embedded_broker` is a BrokerError."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import embedded_broker
from embedded_broker.errors import BrokerError


def _exception_classes() -> dict[str, type[BaseException]]:
    """Every exception class defined (not just imported) in a module of the package, by qualified name."""
    found: dict[str, type[BaseException]] = {}
    for module_info in pkgutil.walk_packages(embedded_broker.__path__, "embedded_broker."):
        module = importlib.import_module(module_info.name)
        for _name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and issubclass(cls, BaseException):
                found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return found


def test_every_broker_exception_derives_from_broker_error() -> None:
    classes = _exception_classes()
    # the walk really reaches the sub-packages (an empty walk would pass the check below trivially)
    assert {"embedded_broker.errors.ProtocolError", "embedded_broker.platform.errors.PlatformError",
            "embedded_broker.platform.chains.ChainRefused", "embedded_broker.mqtt.connection.ConnectionLost",
            "embedded_broker.platform.smartrest.SmartRestError"} <= set(classes)
    outside = sorted(name for name, cls in classes.items() if not issubclass(cls, BrokerError))
    assert outside == [], f"exception classes outside the BrokerError tree: {outside}"


def test_value_error_compatibility_is_kept_where_callers_rely_on_it() -> None:
    from embedded_broker.platform.bulk_csv import BulkCsvError
    from embedded_broker.platform.smartrest import SmartRestSyntaxError

    for cls in (BulkCsvError, SmartRestSyntaxError):  # parse errors of text: ValueError, as their tests document
        assert issubclass(cls, BrokerError) and issubclass(cls, ValueError)
