"""The 政务微博 channel: one post per item on the agency's official Weibo account,
through Weibo's open API (``statuses/share.json``, ``statuses/destroy.json``).

- :mod:`.options` the options, checked at start-up (secrets by ``X_env``/``X_file``);
- :mod:`.compose` the post's text (title, summary, the item's page) within Weibo's 140;
- :mod:`.client` the API over HTTP, its error codes mapped to the delivery error tree
  (:mod:`.errors`);
- :mod:`.tokens` OAuth2 access tokens: expiry learnt, renewed by a refresh token, or a
  permanent error telling the operator to re-authorise;
- :mod:`.records` / :mod:`.tables` which delivery made which post, per account;
- :mod:`.channel` the Channel; :mod:`.sandbox` Weibo on loopback; :mod:`.demo` its part
  of ``govpub demo``; :mod:`.cli` ``govpub weibo …`` and ``govpub sandbox weibo``.
"""
