"""Telegram plumbing shared by `handlers/` and `conversations/`: the context type, keyboards.

Both folders need these and neither may import the other, so they live here.
"""
