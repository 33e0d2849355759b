"""The suppression list's functions: normalised addresses, one entry per mailbox, a removal
kept on record, and soft bounces that suppress only when the setting is on."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.mail import EmailMessage
from django.utils import timezone

from postroom.delivery.enqueue import enqueue
from postroom.delivery.models import (
    SoftBounce,
    Suppression,
    SuppressionReason,
    SuppressionRemoval,
)
from postroom.delivery.suppression import (
    InvalidAddress,
    is_suppressed,
    normalise,
    record_delivery,
    record_soft_bounce,
    suppress,
    suppressed_among,
    unsuppress,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def outbox_message():
    return enqueue(EmailMessage("Hi", "Body", to=["ann@example.com"]))


def test_the_domain_is_lowercased_and_the_local_part_kept():
    assert normalise("  Ann.Lee@Example.COM ") == "Ann.Lee@example.com"
    assert normalise("Ann <ann@EXAMPLE.com>") == "ann@example.com"


@pytest.mark.parametrize("bad", ["", "ann", "@example.com", "ann@", "a b@example.com", "a@b,c@d"])
def test_what_is_not_an_address_is_refused_with_a_reason(bad):
    with pytest.raises(InvalidAddress, match="email address"):
        normalise(bad)


def test_one_mailbox_is_listed_once_whatever_its_case_and_keeps_its_first_reason():
    first = suppress("Ann@Example.com", "hard_bounce", source="sendgrid")
    again = suppress("ann@EXAMPLE.COM", "complaint")

    assert again.pk == first.pk
    assert again.reason == SuppressionReason.HARD_BOUNCE
    assert first.address == "Ann@example.com"
    assert Suppression.objects.count() == 1
    assert is_suppressed("ANN@example.com").pk == first.pk
    assert is_suppressed("bob@example.com") is None
    assert is_suppressed("not an address") is None


def test_an_unknown_reason_is_refused():
    with pytest.raises(ValueError, match="reason"):
        suppress("ann@example.com", "tired")


def test_suppressed_among_keys_by_the_address_as_given():
    suppress("ann@example.com", "complaint")

    found = suppressed_among(["Ann@Example.com", "bob@example.com", "junk"])

    assert list(found) == ["Ann@Example.com"]
    assert found["Ann@Example.com"].reason == "complaint"
    assert suppressed_among([]) == {}


def test_the_message_that_caused_it_is_kept_and_its_deletion_keeps_the_entry(outbox_message):
    entry = suppress("ann@example.com", "hard_bounce", message=outbox_message)
    assert entry.message == outbox_message

    outbox_message.delete()

    entry.refresh_from_db()
    assert entry.message is None


def test_removal_keeps_a_record_with_the_note():
    suppress("ann@example.com", "manual")

    removed = unsuppress("ANN@example.com", "She asked us to write again.", removed_by="admin")

    assert removed.address == "ann@example.com"
    assert is_suppressed("ann@example.com") is None
    [record] = SuppressionRemoval.objects.all()
    assert (record.address, record.reason, record.note, record.removed_by) == (
        "ann@example.com",
        "manual",
        "She asked us to write again.",
        "admin",
    )
    assert unsuppress("ann@example.com") is None


def test_soft_bounces_never_suppress_while_the_setting_is_off():
    for _ in range(10):
        assert record_soft_bounce("ann@example.com") is None
    assert is_suppressed("ann@example.com") is None


def test_soft_bounces_suppress_after_the_limit_in_a_row(isolated_site):
    (isolated_site / "appsettings.json").write_text(
        '{"Postroom": {"Suppression": {"SoftBounceLimit": 3, "SoftBounceWindowDays": 2}}}'
    )
    assert record_soft_bounce("ann@example.com") is None
    assert record_soft_bounce("Ann@EXAMPLE.com") is None
    record_delivery("ann@example.com")  # a delivery breaks the row
    assert record_soft_bounce("ann@example.com") is None
    assert record_soft_bounce("ann@example.com") is None

    entry = record_soft_bounce("ann@example.com")

    assert entry is not None and entry.reason == SuppressionReason.SOFT_BOUNCES
    assert "3 soft bounces" in entry.note
    assert not SoftBounce.objects.exists()


def test_soft_bounces_outside_the_window_start_a_new_row(isolated_site):
    (isolated_site / "appsettings.json").write_text(
        '{"Postroom": {"Suppression": {"SoftBounceLimit": 2, "SoftBounceWindowDays": 1}}}'
    )
    record_soft_bounce("ann@example.com")
    SoftBounce.objects.update(first_at=timezone.now() - timedelta(days=2))

    assert record_soft_bounce("ann@example.com") is None
    assert record_soft_bounce("ann@example.com") is not None


def test_an_invalid_soft_bounce_setting_is_a_reported_problem(isolated_site):
    from postroom.config import current_config

    (isolated_site / "appsettings.json").write_text(
        '{"Postroom": {"Suppression": {"SoftBounceLimit": "many"}}}'
    )

    config = current_config()

    assert config.delivery.soft_bounce_limit.value == 0
    [problem] = config.problems
    assert problem.key == "Postroom:Suppression:SoftBounceLimit"
