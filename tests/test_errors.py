from workbench.errors import KeystoreOpenError, WorkbenchError


def test_error_carries_summary_and_causes_for_the_user() -> None:
    exc = KeystoreOpenError("Could not open the keystore", causes=("The password is wrong", "The file is damaged"))
    assert isinstance(exc, WorkbenchError)
    assert str(exc) == "Could not open the keystore\n  - The password is wrong\n  - The file is damaged"
    assert exc.to_dict()["causes"] == ["The password is wrong", "The file is damaged"]


def test_error_survives_pickling_across_processes() -> None:
    import pickle

    exc = pickle.loads(pickle.dumps(KeystoreOpenError("x", causes=("a", "b"))))
    assert type(exc) is KeystoreOpenError and exc.causes == ("a", "b")
