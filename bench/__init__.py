"""The benchmark behind `make bench`: the worker against a plain Kafka copy, Quix Streams, bare mapping.

One input topic is loaded with realistic Canvas live events before any clock starts; each contender
then runs in its own process over the same input and is measured the same way (wall time from the
broker's log-append timestamps, CPU and peak RSS from the child's rusage). A separate phase offers a
steady load to a running worker and measures end-to-end latency from log-append times.
"""
