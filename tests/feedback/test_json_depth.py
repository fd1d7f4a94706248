"""JSON nested too deeply, from an API client or a remote service, is refused as malformed JSON
is (a 400, a channel error that says so, a quarantined payload), never a RecursionError's 500
or a poll that fails with an internal error."""

import pytest
from rest_framework.test import APIClient

from feedback.channels import ConnectorError
from feedback.channels.discourse import parse_post
from feedback.channels.social import get_json
from feedback.mail import UnparseableMessage
from portal.api.parsers import TOO_DEEP
from portal.validation import JSON_TOO_DEEP, MAX_JSON_DEPTH, json_depth_exceeds, json_loads
from tests.feedback.fakeweb import Reply


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_the_depth_is_counted_without_recursion_at_any_depth():
    assert not json_depth_exceeds(json_loads(nested(MAX_JSON_DEPTH)))
    assert json_depth_exceeds([[[]]], limit=2)
    assert not json_depth_exceeds({"a": [1, {"b": 2}]}, limit=3)
    for depth in (MAX_JSON_DEPTH + 1, 100_000):
        with pytest.raises(ValueError, match=JSON_TOO_DEEP):
            json_loads(nested(depth))


@pytest.mark.parametrize("as_bytes", [False, True])
def test_the_line_holds_for_text_and_bytes_whatever_the_brackets_in_strings(as_bytes):
    def loads(text):
        return json_loads(text.encode() if as_bytes else text)

    deepest = '{"a": ' * (MAX_JSON_DEPTH - 1) + "[]" + "}" * (MAX_JSON_DEPTH - 1)
    wide = "[" + ", ".join(['{"x": [1, {"y": "[[[{{{"}]}'] * 200) + "]"
    assert loads(deepest)
    assert len(loads(wide)) == 200  # many brackets, three levels
    assert loads('"' + "[" * 100 + '"') == "[" * 100  # brackets inside a string only
    with pytest.raises(ValueError, match=JSON_TOO_DEEP):
        loads('{"a": [' + deepest + "]}")  # one level beyond, inside a wide document
    with pytest.raises(ValueError, match=JSON_TOO_DEEP):
        loads("[" + ", ".join(["1"] * 100 + [nested(MAX_JSON_DEPTH)]) + "]")


@pytest.mark.django_db
@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 50_000])
@pytest.mark.parametrize(
    "path", ["/api/v1/feedback/items/", "/api/v1/channels/", "/api/v1/customers/"]
)
def test_the_api_answers_400_to_json_nested_too_deeply(world, path, depth):
    client = APIClient()
    client.force_authenticate(world.admin_a)

    response = client.post(path, nested(depth), content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"detail": TOO_DEEP}


def test_a_remote_page_nested_too_deeply_is_a_channel_error_saying_so(fake_web):
    fake_web.route("GET", "/posts.json", Reply(200, nested(50_000).encode()))

    with pytest.raises(ConnectorError) as failed:
        get_json(f"{fake_web.url}/posts.json", headers={}, timeout=5)

    assert JSON_TOO_DEEP in str(failed.value)


def test_a_stored_post_nested_too_deeply_is_quarantined_by_its_parse():
    with pytest.raises(UnparseableMessage, match=JSON_TOO_DEEP):
        parse_post(nested(50_000).encode(), base_url="https://forum.example.com")
