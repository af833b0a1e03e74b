"""Settings of the workers in the backfill end-to-end tests: the product's, with fast retries."""

from recomamp.settings import *  # noqa: F403

RECOMAMP_BACKFILL_RETRY_SECONDS = 0.5
