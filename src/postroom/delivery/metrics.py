"""Prometheus metrics of the outbox, read from the database at each scrape.

Workers are separate processes (often on other machines), so in-process counters would each
know only their own share. This collector counts what the database holds instead: the queue
by status, every recorded attempt by kind, connection and outcome, the time from enqueue to
acceptance of the messages sent, and each worker's heartbeat. Counters are totals over the
rows kept (``Postroom:Delivery:KeepLogDays``): when old rows are purged a total drops, which
Prometheus reads as a counter reset, so ``rate()`` and ``increase()`` stay right.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.utils import timezone
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry

from postroom.delivery import inspect
from postroom.delivery.models import OutboxMessage, Status

# Seconds from enqueue to the server's acceptance: loopback is milliseconds, a retry minutes.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600)
ALIVE_WITHIN = timedelta(minutes=2)  # as the health check "A delivery worker is running"
OUTCOMES = {Status.SENT: "sent", Status.FAILED: "failed", Status.QUEUED: "retried"}


class OutboxCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        yield from _queue()
        yield from _attempts()
        yield _latency()
        yield from _workers()


def _queue() -> Iterator[Metric]:
    stats = inspect.queue_stats()
    depth = GaugeMetricFamily(
        "postroom_outbox_messages", "Messages in the outbox by status.", labels=["status"]
    )
    for status, count in stats.counts.items():
        depth.add_metric([status], count)
    yield depth
    yield GaugeMetricFamily(
        "postroom_outbox_oldest_waiting_seconds",
        "Age of the oldest queued or sending message (0 when none waits).",
        value=stats.oldest_queued_age_seconds or 0.0,
    )


def _attempts() -> Iterator[Metric]:
    families = {
        outcome: CounterMetricFamily(
            f"postroom_messages_{name}",
            f"Delivery attempts after which the message was {name}, by kind and connection.",
            labels=["kind", "connection"],
        )
        for outcome, name in OUTCOMES.items()
    }
    for kind, connection, outcome, count in inspect.attempt_counts():
        family = families.get(outcome)
        if family is not None:
            family.add_metric([kind, connection or "unknown"], count)
    yield from families.values()


def _latency() -> Metric:
    took = ExpressionWrapper(F("sent_at") - F("created_at"), output_field=DurationField())
    buckets = {
        f"le_{index}": Count("id", filter=Q(took__lte=timedelta(seconds=bound)))
        for index, bound in enumerate(LATENCY_BUCKETS)
    }
    found = (
        OutboxMessage.objects.filter(status=Status.SENT, sent_at__isnull=False)
        .order_by()
        .annotate(took=took)
        .aggregate(total=Count("id"), seconds=Sum("took"), **buckets)
    )
    counts = [(_bound(b), found[f"le_{i}"]) for i, b in enumerate(LATENCY_BUCKETS)]
    total = found["total"]
    seconds = found["seconds"]
    return HistogramMetricFamily(
        "postroom_delivery_latency_seconds",
        "Time from enqueue to the server's acceptance, for the messages sent.",
        buckets=[*counts, ("+Inf", total)],
        sum_value=seconds.total_seconds() if seconds else 0.0,
    )


def _bound(seconds: float) -> str:
    return str(float(seconds))  # "0.05", "1.0": as prometheus_client writes its own buckets


def _workers() -> Iterator[Metric]:
    now = timezone.now()
    seen = GaugeMetricFamily(
        "postroom_worker_last_seen_timestamp_seconds",
        "When each worker last reported (Unix time); workers report every few seconds.",
        labels=["worker", "host"],
    )
    delivered = CounterMetricFamily(
        "postroom_worker_messages_delivered",
        "Messages each running worker has handed to a server since it started.",
        labels=["worker", "host"],
    )
    alive = 0
    for worker, host, last_seen, sent, _failed in inspect.heartbeats():
        seen.add_metric([worker, host], last_seen.timestamp())
        delivered.add_metric([worker, host], sent)
        alive += now - last_seen <= ALIVE_WITHIN
    yield seen
    yield delivered
    yield GaugeMetricFamily(
        "postroom_workers_alive", "Workers seen in the last two minutes.", value=alive
    )


registry = CollectorRegistry(auto_describe=False)
registry.register(OutboxCollector())
