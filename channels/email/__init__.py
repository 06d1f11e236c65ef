"""The e-mail channel: citizens' subscriptions (double opt-in, per item or a daily
digest, one-click unsubscribe) and newsroom addresses, sent through SMTP."""
