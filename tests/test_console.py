"""The console: the README's demo command, scripted through standard input."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.console import DEFAULT_USER_ID as CONSOLE_USER_ID
from bot.console import Console, run_console
from bot.demo import DEMO_ACT_NUMBER, DEMO_SUBSCRIBER_CODE
from emulator import BotApiEmulator, SentMessage
from i18n import translate
from storage.models import Application, Subscriber, SubscriberLink, ViolationAct
from tests.harness import ROOT, Citizen, ServeProcess, settings_for
from tests.test_act_dialogue import ASK_CODE
from tests.test_crash_recovery import free_port, wait_healthy


async def test_start_shows_the_greeting_and_numbered_buttons(engine: AsyncEngine) -> None:
    script = io.StringIO("/start\n7\n:location 40.4 49.8\n:location nowhere\n")
    out = io.StringIO()
    settings = settings_for(engine.url.render_as_string(hide_password=False))
    await run_console(
        settings, user_id=42, first_name="Aysel", language_code="az", stdin=script, out=out
    )
    transcript = out.getvalue()
    assert "you> /start" in transcript
    assert "bot> Xoş gəlmisiniz!" in transcript
    # the demo data makes the console's citizen a known one: the menu, no language row
    assert "menu: [1] Qoşulma müraciəti  [2] Haqqı hesabla" in transcript
    assert "[1] Azərbaycanca" not in transcript
    assert "bot> Bu botda nələr edə bilərsiniz:" in transcript  # 7 = Kömək
    assert "usage: :location LAT LON" in transcript


def test_the_readme_command_runs_the_console(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_"))}
    env.update(PYTHONPATH=str(ROOT), DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/demo.db")
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "console"],
        input="/start\n",
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "bot> Xoş gəlmisiniz!" in result.stdout
    assert "Qoşulma müraciəti" in result.stdout
    assert "Traceback" not in result.stderr


def test_the_bot_package_does_not_load_the_emulator() -> None:
    """The emulator is a development tool outside the wheel: only a running console loads it."""
    code = "import bot.cli, bot.console, bot.runtime, sys; print('emulator' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert result.stdout.strip() == "False", result.stderr


async def test_without_the_emulator_the_console_says_why(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "emulator", None)  # as installed from the wheel
    with pytest.raises(SystemExit, match="not installed with the bot"):
        await console_transcript(engine, "/start\n")


async def console_transcript(engine: AsyncEngine, script: str, **overrides: object) -> str:
    out = io.StringIO()
    settings = settings_for(engine.url.render_as_string(hide_password=False), **overrides)
    await run_console(
        settings,
        user_id=42,
        first_name="Aysel",
        language_code="az",
        stdin=io.StringIO(script),
        out=out,
    )
    return out.getvalue()


def menus(transcript: str) -> list[str]:
    """Every main menu printed, as its three lines."""
    lines = transcript.splitlines()
    return [
        "\n".join(lines[i : i + 3])
        for i, line in enumerate(lines)
        if line.lstrip().startswith("menu:")
    ]


async def test_the_main_menu_has_the_same_numbers_under_every_message(engine: AsyncEngine) -> None:
    transcript = await console_transcript(engine, "/help\n/cancel\n7\nnonsense\n")
    shown = menus(transcript)
    assert len(shown) == 4  # under the help, "nothing to cancel", the help again, "choose"
    assert len(set(shown)) == 1, transcript
    assert "menu: [1] Qoşulma müraciəti  [2] Haqqı hesabla" in shown[0]
    assert "[3] Müraciətlərim  [4] Aktlar və ödənişlər" in shown[0]
    assert "[5] Elanlar  [6] Dil  [7] Kömək" in shown[0]
    after_seven = transcript.split("you> 7", 1)[1]
    assert "Bu botda nələr edə bilərsiniz:" in after_seven.split("you> ", 1)[0]  # 7 = Kömək


async def test_a_number_not_on_screen_is_refused_not_pressed(engine: AsyncEngine) -> None:
    # /staff answers without buttons: the menu printed above it is no longer on screen.
    transcript = await console_transcript(
        engine, "/help\n/staff\n3\n/help\n9\n", staff_telegram_ids=frozenset({42})
    )
    after_staff = transcript.split("you> /staff", 1)[1]
    answer_to_three = after_staff.split("you> 3\n", 1)[1].split("you> ", 1)[0]
    assert answer_to_three == (
        "     (no button [3]: there are no buttons on screen now (/start shows the menu); "
        "to send 3 as a message, type :text 3)\n"
    )
    answer_to_nine = transcript.split("you> 9\n", 1)[1]
    assert answer_to_nine.startswith("     (no button [9]: the buttons on screen are [1] to [7];")
    assert "bot>" not in answer_to_nine  # neither number reached the bot
    assert "müraciətiniz" not in after_staff  # 3 did not press the hidden Müraciətlərim


async def test_numbers_as_answers_go_with_text_and_long_numbers_go_as_they_are(
    engine: AsyncEngine,
) -> None:
    transcript = await console_transcript(engine, "/fee\n1\n3\n:text 3\n123456789012345\n")
    turns = transcript.split("you> ")
    power, typed_three, text_three, long_number = turns[-4:]
    assert "kVt" in power  # the power question, with fewer than 3 buttons
    assert typed_three.startswith("3\n     (no button [3]:")
    assert "bot>" not in typed_three
    assert ":text 3\nbot> " in "you> " + text_three  # 3 kW reached the bot: the next question
    assert "rayon" in text_three
    assert long_number.startswith("123456789012345\nbot> ")  # a code is text, not a button


async def demo_rows(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as connection:
        return {
            model.__tablename__: int(
                await connection.scalar(select(func.count()).select_from(model)) or 0
            )
            for model in (Application, ViolationAct, Subscriber, SubscriberLink)
        }


async def test_the_console_seeds_a_demo_once_and_both_menus_show_it(engine: AsyncEngine) -> None:
    first = await console_transcript(engine, "/help\n3\n")
    second = await console_transcript(engine, "/acts\n1\n")

    for transcript in (first, second):
        assert "Demo data (console only, never in serve): application QM-" in transcript
        assert f"subscriber code {DEMO_SUBSCRIBER_CODE} with act {DEMO_ACT_NUMBER}" in transcript
    my_applications = first.split("you> 3\n", 1)[1]
    assert "bot> Müraciətləriniz:" in my_applications
    assert "[1] QM-" in my_applications
    acts_list = second.split("you> /acts\n", 1)[1].split("you> ", 1)[0]
    assert f"Abonent kodlarınız: {DEMO_SUBSCRIBER_CODE}." in acts_list
    assert f"[1] {DEMO_ACT_NUMBER}" in acts_list
    act = second.split("you> 1\n", 1)[1]
    assert f"{DEMO_ACT_NUMBER} nömrəli akt" in act and "Məbləğ:" in act
    # Two starts, one of each: the demo is keyed, not added again.
    assert await demo_rows(engine) == {
        "applications": 1, "violation_acts": 1, "subscribers": 1, "subscriber_links": 1,
    }  # fmt: skip


async def test_serve_has_no_demo_data(
    emulator: BotApiEmulator, engine: AsyncEngine, database_url: str
) -> None:
    port = free_port()
    serve = ServeProcess(emulator, database_url, port)
    try:
        serve.start()
        await wait_healthy(port)
        citizen = Citizen(emulator, user_id=CONSOLE_USER_ID)  # the console's own user id
        await citizen.says("Müraciətlərim")
        await citizen.sees("Hələ müraciətiniz yoxdur", timeout=20)
        await citizen.says("Aktlar və ödənişlər")
        await citizen.sees(translate(ASK_CODE, "az"), timeout=20)
    finally:
        stderr = await serve.stop()
    assert "Traceback" not in stderr, stderr
    assert all(count == 0 for count in (await demo_rows(engine)).values())
    assert DEMO_ACT_NUMBER not in "\n".join(
        m.text or "" for m in emulator.messages(CONSOLE_USER_ID)
    )


def sent(message_id: int, markup: dict[str, Any] | None, *, edit: bool = False) -> SentMessage:
    return SentMessage(
        message_id=message_id, chat_id=42, text=f"message {message_id}", reply_markup=markup,
        method="sendMessage", timestamp=0.0, is_edit=edit,
    )  # fmt: skip


def test_a_share_button_keyboard_leaves_the_question_s_buttons_on_screen() -> None:
    # ask_location / ask_phone: the question with its buttons, then "the button is below".
    out = io.StringIO()
    console = Console(cast(BotApiEmulator, None), 42, "Aysel", "az", out)
    rows = [[{"text": "Rayon mərkəzi", "callback_data": "cr:skip"}],
            [{"text": "Geri", "callback_data": "cr:back"}]]  # fmt: skip
    inline: dict[str, Any] = {"inline_keyboard": rows}
    share: dict[str, Any] = {"keyboard": [[{"text": "📍 Məkanı göndər", "request_location": True}]]}
    console.show(sent(1, inline))
    console.show(sent(2, share))
    assert [b.label for b in console.buttons()] == ["Rayon mərkəzi", "Geri"]
    assert "([📍 Məkanı göndər] below the text field: type :location LAT LON)" in out.getvalue()

    console.show(sent(1, None, edit=True))  # the question's buttons taken away
    assert console.buttons() == []
    console.show(sent(3, inline))
    console.new_turn = True  # the citizen typed a line; the answer has no buttons
    console.show(sent(4, None))
    assert console.buttons() == []
