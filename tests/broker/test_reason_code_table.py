"""One reason-code table: outside `mqtt/codec/reason_codes.py` no code in `embedded_broker` spells a reason code as a
number; it names a `ReasonCode` member (v3 CONNACK return codes come from the table's mapping).

Wire bytes are not reason codes: flag masks (`flags & 0x80`), bytes read from a buffer (`data[1] < 0x80`), property
identifiers and packet classes in the codec's tables (dict displays), packet first bytes handed to the encoder's
frame builders, and the flag bytes the encoder assembles stay numbers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import embedded_broker
from embedded_broker.mqtt.codec.reason_codes import ReasonCode, V3ConnackCode, connack_return_code

PACKAGE = Path(embedded_broker.__file__).parent
TABLE = PACKAGE / "mqtt" / "codec" / "reason_codes.py"
_BITWISE = (ast.BitAnd, ast.BitOr, ast.BitXor, ast.LShift, ast.RShift)
_FIRST_BYTE_BUILDERS = {"_frame", "_encode_ack", "_encode_reason_only"}  # codec/encode.py: (first byte, ...)
_FLAG_BYTES = {"flags", "first"}  # codec/encode.py assembles these from flag bits
# callables whose int arguments are reason codes (the packet id of an ack is never a literal in the broker)
_REASON_TAKERS = {"ProtocolError", "MalformedPacket", "AuthError", "refuse", "_refuse", "abort_with", "_close",
                  "_send_disconnect", "disconnect_clients", "closed_by_client", "Connack", "Disconnect", "Puback",
                  "Pubrec", "Pubrel", "Pubcomp", "Auth", "Suback", "Unsuback"}
# local names the handlers, engine, server and platform once used for reason codes
_OLD_NAMES = {"UNSPECIFIED", "IMPLEMENTATION_ERROR", "KEEPALIVE_TIMEOUT", "NORMAL", "BAD_CREDENTIALS", "BAD_USERNAME",
              "CLIENT_ID_NOT_VALID", "BAD_AUTH_METHOD", "PACKET_ID_NOT_FOUND", "UNSUPPORTED_VERSION",
              "IDENTIFIER_REJECTED", *ReasonCode.__members__, *V3ConnackCode.__members__}


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _is_wire_byte(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """Whether a hex literal is a mask, a buffer byte, a table entry or a first/flag byte, not a reason code."""
    parent = parents.get(node)
    while isinstance(parent, ast.IfExp):  # `0xC0 if v5 else 0xFC`: the context of the whole expression decides
        node, parent = parent, parents.get(parent)
    if isinstance(parent, ast.BinOp | ast.AugAssign) and isinstance(parent.op, _BITWISE):
        return True
    if isinstance(parent, ast.Compare):
        return any(isinstance(side, ast.Subscript) for side in (parent.left, *parent.comparators))
    if isinstance(parent, ast.Dict):
        return True
    if isinstance(parent, ast.Call) and parent.args and parent.args[0] is node:
        return isinstance(parent.func, ast.Name) and parent.func.id in _FIRST_BYTE_BUILDERS
    if isinstance(parent, ast.Assign):
        return all(isinstance(t, ast.Name) and t.id in _FLAG_BYTES for t in parent.targets)
    return False


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _number(node: ast.AST, source: str) -> bool:
    """A decimal int literal (hex ones are judged by value and context in `_offences`)."""
    return isinstance(node, ast.Constant) and type(node.value) is int \
        and not (ast.get_source_segment(source, node) or "").lower().startswith("0x")


def _offences(source: str, where: str) -> list[str]:
    tree = ast.parse(source)
    parents = _parents(tree)
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and type(node.value) is int:
            text = ast.get_source_segment(source, node) or ""
            if text.lower().startswith("0x") and node.value in ReasonCode._value2member_map_ \
                    and not _is_wire_byte(node, parents):
                found.append(f"{where}:{node.lineno}: bare reason code {text}")
        elif isinstance(node, ast.Call) and _callee(node) in _REASON_TAKERS:
            found += [f"{where}:{node.lineno}: {_callee(node)}() gets the number {arg.value}"  # type: ignore[attr-defined]
                      for arg in (*node.args, *(k.value for k in node.keywords)) if _number(arg, source)]
        elif isinstance(node, ast.keyword) and node.arg == "reason_code" and _number(node.value, source):
            found.append(f"{where}:{node.value.lineno}: reason_code={node.value.value}")  # type: ignore[attr-defined]
    for statement in tree.body:  # module constants standing in for table members
        if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Constant) \
                and type(statement.value.value) is int:
            found += [f"{where}:{statement.lineno}: local reason-code constant {target.id}"
                      for target in statement.targets if isinstance(target, ast.Name) and target.id in _OLD_NAMES]
    return found


def test_no_bare_reason_code_outside_the_table() -> None:
    files = [path for path in sorted(PACKAGE.rglob("*.py")) if path != TABLE]
    assert len(files) > 40  # the whole package, sub-packages included
    offences = [line for path in files
                for line in _offences(path.read_text(encoding="utf-8"), str(path.relative_to(PACKAGE.parent)))]
    assert offences == [], "use embedded_broker.mqtt.codec.reason_codes.ReasonCode:\n" + "\n".join(offences)


def test_the_checker_sees_what_it_must_refuse() -> None:
    source = ("NOT_AUTHORIZED = 0x87\n"
              "def f(conn, flags, data, emit):\n"
              "    conn.abort_with(0x8B, 'bye')\n"
              "    conn._refuse(5, 'v3 number')\n"
              "    emit(reason_code=151)\n"
              "    return flags & 0x80, data[1] < 0x80, {0x82: 1}, _frame(0x82, b'')\n")
    offences = _offences(source, "probe.py")
    assert sorted(line.split(": ", 1)[1] for line in offences) == [
        "_refuse() gets the number 5", "bare reason code 0x87", "bare reason code 0x8B",
        "local reason-code constant NOT_AUTHORIZED", "reason_code=151"], offences  # and no wire byte


def test_v3_connack_codes_come_from_the_table() -> None:
    assert connack_return_code(ReasonCode.NOT_AUTHORIZED, 4) == V3ConnackCode.NOT_AUTHORIZED == 5
    assert connack_return_code(ReasonCode.SERVER_UNAVAILABLE, 4) == V3ConnackCode.SERVER_UNAVAILABLE == 3
    assert connack_return_code(ReasonCode.BAD_USER_NAME_OR_PASSWORD, 3) == V3ConnackCode.BAD_USER_NAME_OR_PASSWORD
    assert connack_return_code(ReasonCode.NOT_AUTHORIZED, 5) == 0x87
