"""The compliance guard: checks that run on every new revision before any channel sees it.

:mod:`.stage` runs the configured checks at intake and decides, per channel, whether a
finding holds the delivery (state ``held``) or only warns; the findings are stored with
the revision in the intake's transaction (:mod:`pipeline.store`).
"""
