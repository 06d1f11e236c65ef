"""What a channel author reuses rather than rewrites.

- :mod:`channels.kit.http`: an HTTP answer → the delivery error tree, one rule for
  every channel (which statuses retry, which stop, ``Retry-After`` honoured);
- :mod:`channels.kit.smtp`: the same for an SMTP conversation (4yz retries, 5yz stops);
- :mod:`channels.kit.files`: files that readers fetch while workers rewrite them
  (only-if-changed replacement, a folder lock, copying into a drop folder), all
  written through the core's one atomic write (:mod:`pipeline.files`);
- :mod:`channels.kit.secrets`: where secrets come from (an environment variable or a
  mounted file named in the options, never the options themselves);
- :mod:`channels.kit.sandbox`: running a channel's sandbox (the loopback stand-in for
  its service) in the background or until interrupted, and misbehaving on request.
- :mod:`channels.kit.sandbox`: what a channel's sandbox (``govpub sandbox NAME``, the
  loopback stand-in for the service it talks to) needs to serve and misbehave.

The contract a channel fills in is the core's (:mod:`pipeline.channel`,
:mod:`pipeline.plugin`, :mod:`pipeline.errors`); the test suite every channel passes
is :mod:`channels.testing`. ``docs/channels/writing-a-channel.md`` puts them together.
"""
