"""Everything that leaves the building: notices, the outbox dispatcher, senders, rate limits."""
