"""The HTTPS receiver for Canvas Data Services deliveries (`caliper-processor ingest`).

Canvas POSTs one live event per request, plain JSON or a signed JWT, and counts a 2xx as delivered
(anything else is retried, up to 3 times). So the answer is 2xx only once Kafka acknowledged the
record, and every failure is an answer Canvas retries: nothing is acknowledged that Kafka does not
hold. Modules: `jwks` (Instructure's keys, cached), `verify` (body -> event bytes and key),
`kafka` (produce and wait for the acknowledgement), `metrics`, `app` (the aiohttp handlers) and
`server` (listen, TLS, graceful shutdown).
"""
