"""No handler talks to the citizen while it holds a database transaction.

Every reply the Bot API accepts is counted in the inbox, and the handler waits until that count
is committed (bot/replay.py). On SQLite the process has one connection (storage/db.py): a
reply sent inside ``async with sessions.begin()`` waits for the connection its own handler
holds, and the whole bot stands still until the pool gives up (30 s), then the step fails. On
PostgreSQL it would hold a pooled connection for as long as Telegram takes to answer. So: read
and write, leave the block, then reply.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "chat", "conversations", "delivery", "handlers")
#: Arguments that give a call the means to answer the citizen.
TALKERS = frozenset({"update", "context", "update.callback_query", "context.bot"})
#: Calls that answer whatever their arguments (Bot API methods and the project's helpers).
REPLY_CALLS = ("reply", "say", "send_message", "edit_message", "answer_callback", "ask")


def _is_transaction(node: ast.AsyncWith) -> bool:
    text = " ".join(ast.unparse(item.context_expr) for item in node.items)
    return "sessions" in text or "session(" in text or ".begin(" in text or ".connect(" in text


def _talks(call: ast.Call) -> bool:
    function = ast.unparse(call.func)
    name = function.rsplit(".", 1)[-1]
    arguments = {ast.unparse(a) for a in call.args} | {ast.unparse(k.value) for k in call.keywords}
    return bool(arguments & TALKERS) or name.startswith(REPLY_CALLS)


def replies_in_transactions(source: str, path: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.AsyncWith) and _is_transaction(node):
            for inner in ast.walk(node):
                if (
                    isinstance(inner, ast.Await)
                    and isinstance(inner.value, ast.Call)
                    and _talks(inner.value)
                ):
                    found.append(f"{path}:{inner.lineno}: {ast.unparse(inner.value)[:80]}")
    return found


def test_the_check_finds_a_reply_inside_a_transaction() -> None:
    source = (
        "async def f(update, context):\n"
        "    async with context.services.sessions.begin() as session:\n"
        "        await reply(update, 'x')\n"
        "    async with context.services.sessions.begin() as session:\n"
        "        await rows(session)\n"
        "    await say(update, 'fine: outside')\n"
    )
    assert replies_in_transactions(source, "f.py") == ["f.py:3: reply(update, 'x')"]


def test_no_reply_is_sent_while_a_transaction_is_open() -> None:
    found = [
        line
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        for line in replies_in_transactions(path.read_text(), str(path.relative_to(ROOT)))
    ]
    assert not found, "\n".join(found)
