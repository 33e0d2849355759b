"""The number of connections a worker opens grows only while sending waits on the network."""

import time

from postroom.delivery.connections import RAMP_DOWN_SECONDS, Ramp


def test_loopback_stays_at_one_connection():
    ramp = Ramp(20)
    for _ in range(200):  # a millisecond of work, a fraction of one waiting on the server
        ramp.sent(waited=0.0004, cpu=0.001, due=1000)
    assert ramp.active == 1
    assert ramp.wanted(0) and not ramp.wanted(1)


def test_a_far_provider_gets_every_connection_within_its_first_messages():
    ramp = Ramp(20)
    for _ in range(19):  # 50 ms round trips
        ramp.sent(waited=0.1, cpu=0.001, due=1000)
    assert ramp.active == 20
    ramp.sent(waited=0.1, cpu=0.001, due=1000)
    assert ramp.active == 20  # never more than the setting


def test_a_busy_processor_is_not_mistaken_for_the_network():
    ramp = Ramp(20)
    for _ in range(50):  # slow, but the time goes into this process's own work
        ramp.sent(waited=0.008, cpu=0.006, due=1000)
    assert ramp.active == 1


def test_no_more_connections_than_messages_waiting_and_back_to_one_when_idle():
    ramp = Ramp(20)
    ramp.sent(waited=0.1, cpu=0.001, due=0)
    ramp.sent(waited=0.1, cpu=0.001, due=0)
    assert ramp.active == 1  # far, but nothing waits for a connection
    ramp.sent(waited=0.1, cpu=0.001, due=5)
    assert ramp.active == 2  # doubling at most
    ramp.claimed(due=1)
    assert ramp.active == 3  # one more for the one message no connection has
    for _ in range(30):
        ramp.sent(waited=0.1, cpu=0.001, due=0)
    assert ramp.active == 3
    ramp.idle()
    assert ramp.active == 3  # mail trickling in finds its connections still open
    ramp.idle(now=time.monotonic() + RAMP_DOWN_SECONDS)
    assert ramp.active == 1


def test_claims_are_shared_by_every_connection_until_sending_is_known_to_be_local():
    ramp = Ramp(20)
    assert ramp.senders() == 20  # small first claims: the others may open soon
    ramp.sent(waited=0.1, cpu=0.001, due=1000)
    assert ramp.senders() == 20
    local = Ramp(20)
    local.sent(waited=0.0004, cpu=0.001, due=1000)
    assert local.senders() == 1  # a lone connection on loopback takes whole batches


def test_a_loaded_machine_delaying_some_messages_is_not_mistaken_for_the_network():
    ramp = Ramp(20)
    for n in range(200):  # every other message waits 9 ms for a processor, the rest not at all
        ramp.sent(waited=0.009 if n % 2 else 0.0004, cpu=0.0005, due=1000)
    assert ramp.active == 1
    assert ramp.peak == 1


def test_a_far_provider_gets_more_connections_before_the_first_batch_is_sent():
    ramp = Ramp(20)
    ramp.connected(waited=0.075)  # greeting and EHLO, 50 ms round trips
    ramp.sent(waited=0.1, cpu=0.001, due=0)  # nothing else was due when it claimed
    assert ramp.active == 1
    ramp.claimed(due=2)  # the next claim sees two more waiting
    assert ramp.active == 2


def test_a_slow_handshake_alone_opens_no_connection_on_loopback():
    ramp = Ramp(20)
    ramp.connected(waited=0.03)  # a loaded machine, once
    for _ in range(50):
        ramp.sent(waited=0.0004, cpu=0.0005, due=1000)
        ramp.claimed(due=1000)
    assert ramp.peak == 1


def test_far_while_more_connections_may_open():
    ramp = Ramp(2)
    assert not ramp.far  # nothing known yet
    ramp.connected(waited=0.1)  # greeting and EHLO, 50 ms round trips
    assert not ramp.far  # one slow opening may be a loaded machine
    ramp.sent(waited=0.1, cpu=0.001, due=0)
    assert ramp.far
    ramp.claimed(due=5)
    assert ramp.active == 2 and not ramp.far  # every connection is open
    local = Ramp(2)
    local.connected(waited=0.0004)
    assert not local.far
