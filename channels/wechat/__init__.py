"""The WeChat official account channel (微信公众号): articles through wechatpy.

Modules, one job each:

- :mod:`.options`  the channel's options, validated at construction;
- :mod:`.client`   a ``WeChatClient`` with the ``draft`` / ``freepublish`` / mass-send
  groups wechatpy 1.8.18 lacks, a shared token store and a bounded token retry;
- :mod:`.errors`   every WeChat errcode translated to :mod:`pipeline.errors`, in one place;
- :mod:`.content`  an item revision turned into a WeChat article (images, cover, limits);
- :mod:`.records`  what was submitted and sent (jobs, articles, uploads, quota use);
- :mod:`.schedule` broadcast windows and quota periods, in the agency's time zone;
- :mod:`.channel`  publish mode, retraction and the batch entry point;
- :mod:`.broadcast` the daily mass send of up to 8 articles;
- :mod:`.callback` ``/wechat/callback``: events that finish jobs early.

Kept free of imports so that :mod:`pipeline.db` can load the tables cheaply.
"""
