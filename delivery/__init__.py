"""Everything that leaves the building: outbox dispatcher, senders, rate limits (to come)."""
