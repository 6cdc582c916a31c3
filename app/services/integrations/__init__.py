"""Integrations: service clients and their scopes, the change feed, webhooks."""
