"""After publishing: how long each column and 政务新媒体 account has gone without a new
publication, against the inspection indicators' limits (国办秘函〔2019〕19号: an account
silent for two weeks fails outright; a news-like column too; more than a few overdue or
empty columns fail the site).

- :mod:`~pipeline.freshness.watch`: what is watched per agency (its column's categories
  and sub-categories, each 政务新媒体 account serving it), each limit, and the last
  publication of each, read from the delivery log;
- :mod:`~pipeline.freshness.record`: the ``freshness`` table, what beat last saw and
  which warnings it sent (so each is sent once); the console and ``/metrics`` read it;
- :mod:`~pipeline.freshness.notify`: the warnings to the configured webhook (through
  the outbound policy) and e-mail addresses (SMTP);
- :mod:`~pipeline.freshness.job`: beat's periodic look (and the embedded worker's).

The core names no channel: a column is what a channel of report role PORTAL publishes,
an account what a kind declaring ``new_media`` publishes on (pipeline.plugin).
"""
