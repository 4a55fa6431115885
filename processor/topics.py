"""Create the worker's topics (input, one per profile, dead letters, unmapped), idempotently."""

from __future__ import annotations

from dataclasses import dataclass

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from processor.config import Config


@dataclass(slots=True)
class TopicResult:
    topic: str
    status: str  # "created" | "exists" | "error"
    detail: str = ""


def admin_config(cfg: Config) -> dict:
    """The [kafka] properties (bootstrap, security) are the admin client's too."""
    return dict(cfg.kafka)


def wanted_topics(cfg: Config) -> list[str]:
    t = cfg.topics
    seen = dict.fromkeys([t["input"], *cfg.all_output_topics(), t["dlq"], t["unmapped"]])
    return list(seen)


def create_topics(
    cfg: Config, *, partitions: int = 3, replication_factor: int = -1, timeout: float = 30.0
) -> list[TopicResult]:
    """Create what is missing; existing topics are reported as such, not as errors.

    Raises PreflightError (a ConfigError) at once when the client cannot authenticate or its TLS
    settings are refused, instead of waiting out the timeout while librdkafka retries.
    """
    from processor.preflight import ConnectionWatch, wait, who

    conf = admin_config(cfg)
    watch = ConnectionWatch(who(conf))
    admin = AdminClient({**conf, **watch.conf()})
    names = wanted_topics(cfg)
    futures = admin.create_topics(
        [NewTopic(n, partitions, replication_factor) for n in names],
        operation_timeout=timeout,
        request_timeout=timeout,
    )
    wait(admin, futures.values(), watch, timeout + 5)
    results = []
    for name in names:
        try:
            futures[name].result(timeout)
            results.append(TopicResult(name, "created"))
        except KafkaException as exc:
            err = exc.args[0]
            if err.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                results.append(TopicResult(name, "exists"))
            else:
                results.append(TopicResult(name, "error", err.str()))
    return results
