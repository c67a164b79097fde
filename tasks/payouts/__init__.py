"""The quarterly payout run against the database: its reads, its ledger lines."""
