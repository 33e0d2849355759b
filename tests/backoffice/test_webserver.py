"""The web server's limits: descriptors, connections and bodies."""

from __future__ import annotations

import resource

import pytest

from postroom.backoffice import webserver


@pytest.fixture
def low_soft_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(1024, hard), hard))
    yield hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_serve_raises_its_descriptor_limit_to_the_hard_limit(low_soft_limit):
    hard = low_soft_limit
    assert webserver.raise_descriptor_limit() == hard
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == hard


def test_connections_are_capped_below_the_descriptor_limit(low_soft_limit):
    assert webserver.connection_limit() == 1024 - webserver.RESERVED_DESCRIPTORS
    webserver.raise_descriptor_limit()
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    expected = min(webserver.MAX_CONNECTIONS, soft - webserver.RESERVED_DESCRIPTORS)
    assert webserver.connection_limit() == expected


def test_the_body_limit_is_the_largest_form_upload_plus_multipart_overhead():
    from postroom.forms.editing import MAX_REQUEST_MB

    options = webserver.server_options()
    largest = MAX_REQUEST_MB * 1024 * 1024
    # waitress refuses a Content-Length >= max_request_body_size
    assert options["max_request_body_size"] == webserver.MAX_BODY_BYTES + 1
    assert largest < webserver.MAX_BODY_BYTES <= largest + 2 * 1024 * 1024
    assert options["asyncore_use_poll"] is True
    assert options["channel_timeout"] == webserver.CHANNEL_TIMEOUT
