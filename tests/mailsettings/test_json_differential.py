"""The JSON-with-comments reader agrees with json.loads on every document json.loads accepts,
and still gives the same values once comments and trailing commas are added."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postroom.mailsettings.jsonconfig import JsonError, Node, parse

NUMBER = st.from_regex(
    r"-?(0|[1-9][0-9]{0,20})(\.[0-9]{1,12})?([eE][+-]?[0-9]{1,3})?", fullmatch=True
)
ESCAPES = ['\\"', "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t", "\\u00e9", "\\ud83d\\ude00"]
PLAIN = st.characters(blacklist_characters='"\\', blacklist_categories=("Cc", "Cs"))
STRING = st.lists(st.one_of(PLAIN, st.sampled_from(ESCAPES)), max_size=12).map(
    lambda pieces: '"' + "".join(pieces) + '"'
)
LITERAL = st.one_of(NUMBER, STRING, st.sampled_from(["true", "false", "null"]))


def unique_keys(members: list[tuple[str, object]]) -> bool:
    keys = [json.loads(key).lower() for key, _ in members]  # the reader ignores key case
    return len(keys) == len(set(keys))


TREE = st.recursive(
    LITERAL,
    lambda children: st.one_of(
        st.lists(children, max_size=5).map(lambda items: ("array", items)),
        st.lists(st.tuples(STRING, children), max_size=5)
        .filter(unique_keys)
        .map(lambda members: ("object", members)),
    ),
    max_leaves=25,
)
SPACE = st.sampled_from(["", " ", "\n", "\t", "\r\n", "\n    "])
LINE_COMMENT = st.text(st.characters(blacklist_characters="\n", blacklist_categories=("Cs",)))
BLOCK_COMMENT = st.text(st.characters(blacklist_categories=("Cs",))).filter(
    lambda text: "*/" not in text
)


def render(tree, draw, extras: bool) -> str:
    """The tree as JSON text; with ``extras``, comments in the gaps and trailing commas."""

    def gap() -> str:
        text = draw(SPACE)
        if extras and draw(st.integers(0, 3)) == 0:
            if draw(st.booleans()):
                text += "//" + draw(LINE_COMMENT) + "\n"
            else:
                text += "/*" + draw(BLOCK_COMMENT) + "*/"
        return text + draw(SPACE)

    def value(node) -> str:
        if isinstance(node, str):
            return node
        kind, parts = node
        if kind == "array":
            inner = [gap() + value(item) + gap() for item in parts]
        else:
            inner = [gap() + key + gap() + ":" + gap() + value(item) + gap() for key, item in parts]
        trailing = "," + gap() if extras and inner and draw(st.booleans()) else ""
        brackets = "[]" if kind == "array" else "{}"
        return brackets[0] + (",".join(inner) or gap()) + trailing + brackets[1]

    return gap() + value(tree) + gap()


def plain(node: Node) -> object:
    if node.kind == "object":
        return {member.key: plain(member.node) for member in node.value}
    if node.kind == "array":
        return [plain(item) for item in node.value]
    return node.value


def same(left: object, right: object) -> bool:
    """Equal, and of the same types all the way down (1 is not 1.0)."""
    return json.dumps(left) == json.dumps(right)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TREE, st.data())
def test_the_reader_gives_what_json_loads_gives(tree, data):
    text = render(tree, data.draw, extras=False)
    expected = json.loads(text)  # every generated document is valid JSON

    assert same(plain(parse(text)), expected)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TREE, st.data())
def test_comments_and_trailing_commas_change_no_value(tree, data):
    clean = render(tree, data.draw, extras=False)
    commented = render(tree, data.draw, extras=True)

    assert same(plain(parse(commented)), json.loads(clean))


# What json.dumps writes, except NaN and Infinity: json.loads accepts them, JSON (and .NET)
# does not, and the reader refuses them as .NET would.
SCALAR = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
)
PYTHON_VALUE = st.recursive(
    SCALAR | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=20,
)


def keys_unique_ignoring_case(value: object) -> bool:
    if isinstance(value, dict):
        keys = [key.lower() for key in value]
        children = list(value.values())
        return len(keys) == len(set(keys)) and all(map(keys_unique_ignoring_case, children))
    if isinstance(value, list):
        return all(map(keys_unique_ignoring_case, value))
    return True


@given(PYTHON_VALUE.filter(keys_unique_ignoring_case), st.sampled_from([None, 2]), st.booleans())
def test_any_document_json_dumps_writes_reads_back(value, indent, ensure_ascii):
    text = json.dumps(value, indent=indent, ensure_ascii=ensure_ascii)

    assert same(plain(parse(text)), json.loads(text))


def test_keys_that_differ_only_in_case_are_refused_where_json_loads_keeps_the_last():
    text = '{"Host": "a", "host": "b"}'
    assert json.loads(text) == {"Host": "a", "host": "b"}
    try:
        parse(text)
    except JsonError as error:
        assert "appears twice in one object (keys ignore case)" in error.reason
    else:
        raise AssertionError("duplicate keys were accepted")
