"""Pure Canvas live event -> Caliper 1.1 mapping functions and their registry. No Kafka here."""
