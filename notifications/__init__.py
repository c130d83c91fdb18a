"""Telling people and integrations what happened: the domain event outbox (and, later, webhooks and e-mail)."""
