"""`make bench-ingest`: the HTTPS receiver under a real HTTP load generator (wrk, hey)."""
