"""librdkafka's own log lines go through Python logging (and so the JSON log format), not raw stderr."""

from __future__ import annotations

import logging

import processor.worker as worker_module
from processor.config import load
from processor.worker import Worker


def test_both_clients_log_through_the_processor_kafka_logger(monkeypatch) -> None:
    seen: dict[str, dict] = {}

    class Capture:
        def __init__(self, name: str):
            self.name = name

        def __call__(self, conf: dict):
            seen[self.name] = conf
            return object()

    monkeypatch.setattr(worker_module, "Producer", Capture("producer"))
    monkeypatch.setattr(worker_module, "Consumer", Capture("consumer"))
    Worker(load(env={"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}))._clients()
    for client in ("producer", "consumer"):
        logger = seen[client].get("logger")
        assert isinstance(logger, logging.Logger), f"{client} has no logger: librdkafka would write to stderr"
        assert logger.name == "processor.kafka"
