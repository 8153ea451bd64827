"""The bulk credentials CSV parser: separators, encodings, the documented examples and every per-row refusal."""

from __future__ import annotations

import pytest

from embedded_broker.platform.bulk_csv import BulkCsv, BulkCsvError, BulkRow, managed_object_fragments, parse_bulk_csv

SEMICOLON_DOC = (
    "ID;AUTH_TYPE;TYPE;NAME;IDTYPE;com_cumulocity_model_Agent.active\n"
    "wb-dev-0001;CERTIFICATES;c8y_Device;Workbench device 1;c8y_Serial;true\n"
)
TAB_DOC = (
    "ID\tAUTH_TYPE\tCREDENTIALS\tENROLLMENT_OTP\tNAME\tTYPE\tIDTYPE\tICCID\tTENANT\tPATH\t"
    "com_cumulocity_model_Agent.active\n"
    "wb-dev-0002\tCERTIFICATES\t\tXy7abc\twb-dev-0002\ttest_ci_reg\tc8y_Serial\t\t\t\ttrue\n"
)
COMMA_DOC = "ID,CREDENTIALS,AUTH_TYPE\nwb-dev-0003,s3cret-Passw0rd,BASIC\nwb-dev-0004,,CERTIFICATES\n"


def parse(text: str, encoding: str = "utf-8") -> BulkCsv:
    return parse_bulk_csv(text.encode(encoding))


def only_failure(text: str):
    result = parse(text)
    assert result.rows == ()
    assert len(result.failures) == 1
    return result.failures[0]


def test_semicolon_doc_example() -> None:
    result = parse(SEMICOLON_DOC)
    assert result.separator == ";"
    assert result.failures == ()
    assert result.number_of_all == 1
    (row,) = result.rows
    assert row == BulkRow(
        line_number=2, device_id="wb-dev-0001", auth_type="CERTIFICATES", credentials=None, enrollment_otp=None,
        tenant=None, type="c8y_Device", name="Workbench device 1", id_type="c8y_Serial", iccid=None, path=None,
        shell=False, external_ids=(),
    )
    assert row.properties == {"com_cumulocity_model_Agent": {"active": "true"}}


def test_tab_doc_example() -> None:
    result = parse(TAB_DOC)
    assert result.separator == "\t"
    assert result.failures == ()
    (row,) = result.rows
    assert row.device_id == "wb-dev-0002"
    assert row.auth_type == "CERTIFICATES"
    assert row.credentials is None
    assert row.enrollment_otp == "Xy7abc"
    assert row.name == "wb-dev-0002"
    assert row.type == "test_ci_reg"
    assert row.id_type == "c8y_Serial"
    assert (row.iccid, row.tenant, row.path) == (None, None, None)
    assert row.properties == {"com_cumulocity_model_Agent": {"active": "true"}}


def test_comma_doc_example_and_masked_line() -> None:
    result = parse(COMMA_DOC + "wb-dev-0005,hunter2,basic,extra\n")
    assert result.separator == ","
    assert [(r.device_id, r.auth_type, r.credentials) for r in result.rows] == [
        ("wb-dev-0003", "BASIC", "s3cret-Passw0rd"),
        ("wb-dev-0004", "CERTIFICATES", None),
    ]
    (failure,) = result.failures
    assert failure.line_number == 4
    assert failure.device_id == "wb-dev-0005"
    assert failure.reason == "line has 4 fields, the header has 3"
    assert failure.line == "wb-dev-0005,****,basic,extra"
    assert "hunter2" not in failure.line


def test_separator_preference_tab_then_semicolon_then_comma() -> None:
    assert parse("ID\tNAME;x,y\na\tb;c,d\n").separator == "\t"
    assert parse("ID;NAME,x\na;b,c\n").separator == ";"
    assert parse("ID\n").separator == ","


def test_header_only_has_no_rows() -> None:
    result = parse("ID;CREDENTIALS\n")
    assert (result.rows, result.failures, result.number_of_all) == ((), (), 0)


def test_utf8_bom_is_ignored() -> None:
    result = parse_bulk_csv(b"\xef\xbb\xbfID;CREDENTIALS;NAME\ndev-1;pw;Caf\xc3\xa9\n")
    (row,) = result.rows
    assert (row.device_id, row.name) == ("dev-1", "Café")


def test_cp1252_fallback() -> None:
    result = parse("ID;CREDENTIALS;NAME\ndev-1;pw;Capteur d'entrée – hall\n", encoding="cp1252")
    (row,) = result.rows
    assert row.name == "Capteur d'entrée – hall"


def test_quoted_fields_keep_separators_and_quotes() -> None:
    text = 'ID,CREDENTIALS,NAME\r\n"dev-1","pa,ss","Hall ""A"", floor 2"\r\n'
    (row,) = parse(text).rows
    assert (row.device_id, row.credentials, row.name) == ("dev-1", "pa,ss", 'Hall "A", floor 2')


def test_crlf_line_endings_and_line_numbers() -> None:
    text = "ID;CREDENTIALS\r\ndev-1;pw\r\n\r\ndev-2;\r\ndev-3;pw\r\n"
    result = parse(text)
    got = [(r.line_number, r.device_id, r.credentials) for r in result.rows]
    assert got == [(2, "dev-1", "pw"), (5, "dev-3", "pw")]
    (failure,) = result.failures
    assert (failure.line_number, failure.line) == (4, "dev-2;")
    assert result.number_of_all == 3


def test_empty_lines_are_skipped_and_not_counted() -> None:
    result = parse("\nID;CREDENTIALS\n\n\ndev-1;pw\n\n")
    assert result.number_of_all == 1
    assert result.rows[0].line_number == 5


def test_header_names_are_case_insensitive_for_known_columns() -> None:
    (row,) = parse("id;Credentials;auth_type;name;IdType;shell\ndev-1;pw;basic;Dev;c8y_Imei;1\n").rows
    assert (row.device_id, row.credentials, row.auth_type, row.name, row.id_type, row.shell) == (
        "dev-1", "pw", "BASIC", "Dev", "c8y_Imei", True,
    )


def test_optional_columns() -> None:
    text = "ID;CREDENTIALS;TENANT;ICCID;PATH;SHELL\ndev-1;pw;t100;8949;root/site;0\n"
    (row,) = parse(text).rows
    got = (row.tenant, row.iccid, row.path, row.shell, row.id_type)
    assert got == ("t100", "8949", "root/site", False, "c8y_Serial")
    assert row.enrollment_otp is None


def test_external_id_columns() -> None:
    text = "ID;CREDENTIALS;external-c8y_Imei;External-c8y_Mac\ndev-1;pw;356938035643809;\ndev-2;pw;;aa:bb\n"
    rows = parse(text).rows
    assert rows[0].external_ids == (("c8y_Imei", "356938035643809"),)
    assert rows[1].external_ids == (("c8y_Mac", "aa:bb"),)


def test_dotted_properties_nest_and_empty_values_are_omitted() -> None:
    text = "ID;CREDENTIALS;a.b.c;a.b.d;a.e;plain;empty\ndev-1;pw;1;2;3;x;\n"
    (row,) = parse(text).rows
    assert row.properties == {"a": {"b": {"c": "1", "d": "2"}, "e": "3"}, "plain": "x"}


def test_missing_id_column_is_a_file_error() -> None:
    with pytest.raises(BulkCsvError) as info:
        parse("NAME;CREDENTIALS\ndev;pw\n")
    message = str(info.value)
    assert "'NAME'" in message and "'CREDENTIALS'" in message
    assert "ID" in message and "required" in message


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"\r\n\n  \n"])
def test_empty_file_is_a_file_error(data: bytes) -> None:
    with pytest.raises(BulkCsvError, match="the CSV file is empty"):
        parse_bulk_csv(data)


@pytest.mark.parametrize("header", ["ID;NAME;name", "ID;id", "ID;external-x;EXTERNAL-x", "ID;a.b;a.b"])
def test_duplicate_header_is_a_file_error(header: str) -> None:
    with pytest.raises(BulkCsvError, match="twice"):
        parse(header + "\n")


@pytest.mark.parametrize("header", ["ID;a;a.b", "ID;a..b", "ID;.a"])
def test_bad_property_headers_are_file_errors(header: str) -> None:
    with pytest.raises(BulkCsvError):
        parse(header + "\n")


def test_bulk_csv_error_is_a_value_error() -> None:
    assert issubclass(BulkCsvError, ValueError)


@pytest.mark.parametrize(
    ("line", "device_id", "reason"),
    [
        (";pw;BASIC;", "", "ID is empty"),
        ("a:b;pw;BASIC;", "a:b", "ID must not contain ':' (it becomes the certificate CN and MQTT client id)"),
        ("dev;pw;TOKEN;", "dev", "AUTH_TYPE 'TOKEN' is not BASIC or CERTIFICATES"),
        ("dev;;BASIC;", "dev", "CREDENTIALS is required unless AUTH_TYPE is CERTIFICATES"),
        ("dev;;;", "dev", "CREDENTIALS is required unless AUTH_TYPE is CERTIFICATES"),
        ("dev;pw;BASIC;otp1", "dev", "ENROLLMENT_OTP is only allowed when AUTH_TYPE is CERTIFICATES"),
        ("dev;pw;BASIC", "dev", "line has 3 fields, the header has 4"),
        ("dev;pw;BASIC;;", "dev", "line has 5 fields, the header has 4"),
    ],
)
def test_row_failures(line: str, device_id: str, reason: str) -> None:
    failure = only_failure("ID;CREDENTIALS;AUTH_TYPE;ENROLLMENT_OTP\n" + line + "\n")
    assert (failure.line_number, failure.device_id, failure.reason) == (2, device_id, reason)
    assert "pw" not in failure.line
    assert failure.line == line.replace("pw", "****")


def test_auth_type_failure_names_the_value() -> None:
    failure = only_failure("ID;AUTH_TYPE\ndev;PSK\n")
    assert "'PSK'" in failure.reason


def test_certificates_ignore_credentials() -> None:
    (row,) = parse("ID;CREDENTIALS;AUTH_TYPE;ENROLLMENT_OTP\ndev;ignored;CERTIFICATES;otp\n").rows
    assert (row.credentials, row.enrollment_otp) == (None, "otp")


def test_duplicate_id_second_occurrence_fails() -> None:
    result = parse("ID;CREDENTIALS\ndev-1;pw1\ndev-1;pw2\n")
    assert [r.line_number for r in result.rows] == [2]
    (failure,) = result.failures
    assert (failure.line_number, failure.device_id, failure.reason) == (3, "dev-1", "duplicate ID in this file")
    assert failure.line == "dev-1;****"


def test_mixed_good_and_bad_rows() -> None:
    text = (
        "ID;CREDENTIALS;AUTH_TYPE;NAME\n"
        "good-1;pw;BASIC;One\n"
        ";pw;BASIC;No id\n"
        "good-2;;CERTIFICATES;Two\n"
        "\n"
        "bad:id;pw;;Colon\n"
        "good-1;pw;BASIC;Again\n"
        "short;pw\n"
        "good-3;pw;;Three\n"
    )
    result = parse(text)
    assert [(r.line_number, r.device_id) for r in result.rows] == [(2, "good-1"), (4, "good-2"), (9, "good-3")]
    assert [(f.line_number, f.reason) for f in result.failures] == [
        (3, "ID is empty"),
        (6, "ID must not contain ':' (it becomes the certificate CN and MQTT client id)"),
        (7, "duplicate ID in this file"),
        (8, "line has 2 fields, the header has 4"),
    ]
    assert result.number_of_all == 7


def test_failed_line_without_credentials_is_kept_verbatim() -> None:
    failure = only_failure('ID;AUTH_TYPE;NAME\n"a:b";CERTIFICATES;"x"\n')
    assert failure.line == '"a:b";CERTIFICATES;"x"'


def test_masked_line_keeps_quoting_of_separators() -> None:
    failure = only_failure('ID,CREDENTIALS,AUTH_TYPE,NAME\nx:y,secret,BASIC,"Hall, A"\n')
    assert failure.line == 'x:y,****,BASIC,"Hall, A"'


def test_managed_object_fragments_minimal() -> None:
    (row,) = parse("ID;CREDENTIALS\ndev-1;pw\n").rows
    assert managed_object_fragments(row) == {"name": "dev-1", "c8y_IsDevice": {}}


def test_managed_object_fragments_full() -> None:
    text = (
        "ID;CREDENTIALS;NAME;TYPE;ICCID;SHELL;com_cumulocity_model_Agent.active;c8y_Mobile.imei\n"
        "dev-1;pw;Device one;c8y_Device;8949;1;true;3569\n"
    )
    (row,) = parse(text).rows
    fragments = managed_object_fragments(row)
    assert fragments == {
        "name": "Device one",
        "type": "c8y_Device",
        "c8y_IsDevice": {},
        "com_cumulocity_model_Agent": {"active": "true"},
        "c8y_Mobile": {"imei": "3569", "iccid": "8949"},
        "c8y_SupportedOperations": ["c8y_Command"],
    }
    fragments["com_cumulocity_model_Agent"]["active"] = "false"
    assert row.properties["com_cumulocity_model_Agent"]["active"] == "true"


def test_semicolon_doc_example_managed_object() -> None:
    (row,) = parse(SEMICOLON_DOC).rows
    assert managed_object_fragments(row) == {
        "name": "Workbench device 1",
        "type": "c8y_Device",
        "c8y_IsDevice": {},
        "com_cumulocity_model_Agent": {"active": "true"},
    }


def test_rows_are_hashable_despite_properties() -> None:
    (row,) = parse(SEMICOLON_DOC).rows
    assert hash(row) == hash(row)
