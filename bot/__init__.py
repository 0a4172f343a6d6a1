"""A Telegram bot that answers questions from dated sources, with cited excerpts."""
