"""The worked example of docs/channels/writing-a-channel.md: the electronic notice board
of the agency's service hall (政务服务大厅电子公告屏), a channel in one folder.

It is installed only by its test (tests/channels/test_example_noticeboard.py), through
a ``govpub.channels`` entry point as a distribution would install it.
"""
