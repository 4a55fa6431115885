"""Kafka side of caliper-processor: consume, route, produce, commit, metrics, CLI.

Knows nothing of individual Canvas events; the mappings registry is the seam.
"""

__version__ = "0.1.0"
