"""Prometheus metrics (`prometheus-client`). Each process keeps its own and serves them on
``/metrics``; scrape every process (docs/deployment.md, "Operations").

Counted where things happen: HTTP requests (route template, status, latency), messages stored
per channel (after commit), job failures, delivery latency (message written -> accepted by the
channel). Read at scrape time with one query each: conversations waiting per queue, the oldest
due job, failed jobs; from the process: open sockets.
"""

from __future__ import annotations

from collections import Counter as Tally

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

REGISTRY = CollectorRegistry(auto_describe=True)

http_requests = Counter(
    "omniline_http_requests_total",
    "HTTP requests answered, by route template and status",
    ["method", "route", "status"],
    registry=REGISTRY,
)
http_seconds = Histogram(
    "omniline_http_request_seconds",
    "Time to answer an HTTP request, by route template",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
messages_ingested = Counter(
    "omniline_messages_ingested_total",
    "Customer messages stored, by channel",
    ["channel"],
    registry=REGISTRY,
)
job_failures = Counter(
    "omniline_job_failures_total",
    "Job runs that failed (each retry counts), by job kind",
    ["kind"],
    registry=REGISTRY,
)
delivery_seconds = Histogram(
    "omniline_delivery_seconds",
    "From an outbound message being written to the channel accepting it, by channel",
    ["channel"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800),
    registry=REGISTRY,
)
delivery_unconfirmed = Counter(
    "omniline_delivery_unconfirmed_total",
    "Replies left unconfirmed (the send was interrupted on a channel that shows repeats), "
    "by channel",
    ["channel"],
    registry=REGISTRY,
)
conversations_waiting = Gauge(
    "omniline_conversations_waiting",
    "Conversations waiting for an agent (queued), by workspace and queue",
    ["workspace_id", "queue_id"],
    registry=REGISTRY,
)
jobs_oldest_due = Gauge(
    "omniline_jobs_oldest_due_seconds",
    "How long the oldest due job has waited to run (0 when none)",
    registry=REGISTRY,
)
jobs_failed = Gauge(
    "omniline_jobs_failed", "Jobs parked as failed (need a person)", registry=REGISTRY
)
open_sockets = Gauge(
    "omniline_open_sockets", "WebSockets open in this process", ["kind"], registry=REGISTRY
)
database_up = Gauge(
    "omniline_database_up", "1 when the database answered the last scrape", registry=REGISTRY
)


def count_ingested(channels: Tally[str]) -> None:
    for channel, n in channels.items():
        messages_ingested.labels(channel).inc(n)


def render() -> tuple[bytes, str]:
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
