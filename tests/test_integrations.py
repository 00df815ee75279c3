"""The outside systems over real HTTP: the company GIS, the citizen registry and billing.

Each fake system is a real aiohttp server on 127.0.0.1 (an OS-chosen free port); nothing of
ours is mocked. The last tests run the whole bot with a registry connected.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.runtime import make_services
from chat.context import BotApplication
from conversations import connection_request as cr
from conversations.connection_draft import DRAFT_KEY
from domain.power_centres import SAMPLE_POWER_CENTRES_FILE
from emulator import BotApiEmulator
from i18n import translate
from integrations.citizen_registry import HttpCitizenRegistry, RegistryPerson, TypedIn
from integrations.power_centres import CsvPowerCentres, HttpGis, NearestCentre
from integrations.subscribers import DirectoryUnavailable, HttpBilling, StoredSubscribers
from storage.acts import upsert_subscriber
from tests.harness import Citizen, bot_on_emulator, settings_for
from tests.test_connection_request import choose_language, head, question
from tests.test_crash_recovery import free_port

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SUMQAYIT_HOME = (40.5897, 49.6686)
SHORT_TIMEOUT = 0.3  # seconds: what the clients are given in the failure tests
SLOW = 2.0  # seconds: how long a "slow" system takes to answer (far above SHORT_TIMEOUT)


@dataclass
class FakeSystem:
    """A fake outside system: its URL and the query string of every request it got."""

    url: str
    queries: list[dict[str, str]] = field(default_factory=list)


@asynccontextmanager
async def fake_system(handler: Handler) -> AsyncIterator[FakeSystem]:
    """``handler`` served at ``/api`` on 127.0.0.1, on a port the OS chooses."""
    queries: list[dict[str, str]] = []

    async def recorded(request: web.Request) -> web.StreamResponse:
        queries.append(dict(request.query))
        return await handler(request)

    app = web.Application()
    app.router.add_get("/api", recorded)
    # A short shutdown timeout: the "slow" handlers are cancelled instead of awaited.
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        yield FakeSystem(f"http://{host}:{port}/api", queries)
    finally:
        await runner.cleanup()


def closed_port_url() -> str:
    """A URL on which nothing listens: connections are refused."""
    return f"http://127.0.0.1:{free_port()}/api"


def answers_json(body: object, status: int = 200) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response(body, status=status)

    return handler


def answers_raw(text: str, status: int = 200, content_type: str = "application/json") -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(text=text, status=status, content_type=content_type)

    return handler


def answers_slowly(body: object) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(SLOW)
        return web.json_response(body)

    return handler


def sample_centres() -> CsvPowerCentres:
    return CsvPowerCentres(SAMPLE_POWER_CENTRES_FILE, sample=True)


# --------------------------------------------------------------------------- GIS


async def test_gis_answer_is_used_and_gets_the_coordinates() -> None:
    async with fake_system(answers_json({"name": "Sumqayıt-110", "distance_m": 312})) as gis:
        found = await HttpGis(gis.url, fallback=sample_centres()).nearest(*SUMQAYIT_HOME)
    assert found == NearestCentre("Sumqayıt-110", 312, sample_data=False)
    assert len(gis.queries) == 1
    assert float(gis.queries[0]["lat"]) == SUMQAYIT_HOME[0]
    assert float(gis.queries[0]["lon"]) == SUMQAYIT_HOME[1]


GIS_FAILURES: dict[str, Handler] = {
    "server error": answers_json({"name": "X", "distance_m": 1}, status=500),
    "not found": answers_raw("no such service", status=404, content_type="text/plain"),
    "bad json": answers_raw('{"name": "X", "distance_m": '),
    "html instead of json": answers_raw("<html>ok</html>", content_type="text/html"),
    "missing distance": answers_json({"name": "X"}),
    "missing name": answers_json({"distance_m": 5}),
    "a list": answers_json(["X", 5]),
    "null": answers_json(None),
    "distance not a number": answers_json({"name": "X", "distance_m": "far"}),
    "infinite distance": answers_raw('{"name": "X", "distance_m": 1e999}'),
    "nan distance": answers_raw('{"name": "X", "distance_m": NaN}'),
    "huge distance": answers_raw('{"name": "X", "distance_m": 1' + "0" * 400 + "}"),
    "negative distance": answers_json({"name": "X", "distance_m": -5}),
    "distance true": answers_json({"name": "X", "distance_m": True}),
    "null name": answers_json({"name": None, "distance_m": 5}),
    "empty name": answers_json({"name": " ", "distance_m": 5}),
}


@pytest.mark.parametrize("failure", list(GIS_FAILURES))
async def test_gis_failure_falls_back_to_the_csv(failure: str) -> None:
    csv = sample_centres()
    expected = await csv.nearest(*SUMQAYIT_HOME)
    assert expected.sample_data
    async with fake_system(GIS_FAILURES[failure]) as gis:
        found = await HttpGis(gis.url, fallback=csv, timeout_seconds=SHORT_TIMEOUT).nearest(
            *SUMQAYIT_HOME
        )
    assert found == expected
    assert len(gis.queries) == 1


async def test_gis_unreachable_falls_back_to_the_csv() -> None:
    csv = sample_centres()
    gis = HttpGis(closed_port_url(), fallback=csv, timeout_seconds=SHORT_TIMEOUT)
    assert await gis.nearest(*SUMQAYIT_HOME) == await csv.nearest(*SUMQAYIT_HOME)


async def test_slow_gis_falls_back_to_the_csv_in_time() -> None:
    csv = sample_centres()
    async with fake_system(answers_slowly({"name": "late", "distance_m": 1})) as gis:
        loop = asyncio.get_running_loop()
        started = loop.time()
        found = await HttpGis(gis.url, fallback=csv, timeout_seconds=SHORT_TIMEOUT).nearest(
            *SUMQAYIT_HOME
        )
        elapsed = loop.time() - started
    assert found == await csv.nearest(*SUMQAYIT_HOME)
    assert elapsed < SLOW / 2


# --------------------------------------------------------------------------- citizen registry

KNOWN_FIN = "5ABC7D8"
UNKNOWN_FIN = "6DEF9G2"
REGISTRY_ANSWER = {
    "first_name": "İLQAR",
    "last_name": "məmmədov",
    "patronymic": "RƏŞİD OĞLU",
    "id_card": "aa1234567",
}
REGISTRY_PERSON = RegistryPerson("İlqar", "Məmmədov", "Rəşid oğlu", "AA1234567")


async def registry_handler(request: web.Request) -> web.StreamResponse:
    """Knows one person, by FIN; 404 for everyone else."""
    if request.query.get("fin") == KNOWN_FIN:
        return web.json_response(REGISTRY_ANSWER)
    return web.json_response({"error": "not found"}, status=404)


async def test_registry_person_is_normalised_and_the_fin_is_sent() -> None:
    async with fake_system(registry_handler) as registry:
        client = HttpCitizenRegistry(registry.url)
        assert client.prefills
        person = await client.lookup(KNOWN_FIN)
    assert person == REGISTRY_PERSON
    assert registry.queries == [{"fin": KNOWN_FIN}]


async def test_registry_person_without_patronymic() -> None:
    for patronymic in [None, ""]:
        body = {**REGISTRY_ANSWER, "patronymic": patronymic}
        async with fake_system(answers_json(body)) as registry:
            person = await HttpCitizenRegistry(registry.url).lookup(KNOWN_FIN)
        assert person is not None and person.patronymic is None, patronymic
    body = {key: value for key, value in REGISTRY_ANSWER.items() if key != "patronymic"}
    async with fake_system(answers_json(body)) as registry:
        person = await HttpCitizenRegistry(registry.url).lookup(KNOWN_FIN)
    assert person is not None and person.patronymic is None


async def test_registry_unknown_fin_is_none() -> None:
    async with fake_system(registry_handler) as registry:
        assert await HttpCitizenRegistry(registry.url).lookup(UNKNOWN_FIN) is None
    assert registry.queries == [{"fin": UNKNOWN_FIN}]


REGISTRY_FAILURES: dict[str, Handler] = {
    "server error": answers_json(REGISTRY_ANSWER, status=500),
    "forbidden": answers_raw("forbidden", status=403, content_type="text/plain"),
    "bad json": answers_raw('{"first_name": "İlqar", '),
    "html instead of json": answers_raw("<html>ok</html>", content_type="text/html"),
    "a list": answers_json([REGISTRY_ANSWER]),
    "null": answers_json(None),
    "missing id card": answers_json({"first_name": "İlqar", "last_name": "Məmmədov"}),
    "invalid id card": answers_json({**REGISTRY_ANSWER, "id_card": "AB12"}),
    "invalid name": answers_json({**REGISTRY_ANSWER, "first_name": "<b>x</b>"}),
    "null first name": answers_json({**REGISTRY_ANSWER, "first_name": None}),
    "numeric last name": answers_json({**REGISTRY_ANSWER, "last_name": 12}),
    "numeric id card": answers_json({**REGISTRY_ANSWER, "id_card": 1234567}),
    "slow": answers_slowly(REGISTRY_ANSWER),
}


@pytest.mark.parametrize("failure", list(REGISTRY_FAILURES))
async def test_registry_failure_is_none(failure: str) -> None:
    async with fake_system(REGISTRY_FAILURES[failure]) as registry:
        client = HttpCitizenRegistry(registry.url, timeout_seconds=SHORT_TIMEOUT)
        assert await client.lookup(KNOWN_FIN) is None
    assert registry.queries == [{"fin": KNOWN_FIN}]


async def test_registry_unreachable_is_none() -> None:
    client = HttpCitizenRegistry(closed_port_url(), timeout_seconds=SHORT_TIMEOUT)
    assert await client.lookup(KNOWN_FIN) is None


async def test_typed_in_looks_nothing_up() -> None:
    registry = TypedIn()
    assert not registry.prefills
    assert await registry.lookup(KNOWN_FIN) is None


# --------------------------------------------------------------------------- wiring


async def test_make_services_uses_the_embedded_defaults(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    services = make_services(settings_for(database_url), engine)
    assert isinstance(services.power_centres, CsvPowerCentres)
    assert isinstance(services.citizen_registry, TypedIn)
    assert await services.power_centres.nearest(*SUMQAYIT_HOME) == await sample_centres().nearest(
        *SUMQAYIT_HOME
    )

    own_file = tmp_path / "centres.csv"
    own_file.write_text("name,lat,lon\nOur centre,40.59,49.67\n", encoding="utf-8")
    services = make_services(settings_for(database_url, power_centres_file=own_file), engine)
    found = await services.power_centres.nearest(*SUMQAYIT_HOME)
    assert found.name == "Our centre" and not found.sample_data


async def test_make_services_uses_the_network_systems_when_configured(
    engine: AsyncEngine, database_url: str
) -> None:
    gis = {"name": "GIS centre", "distance_m": 77}
    async with fake_system(answers_json(gis)) as gis_system, fake_system(registry_handler) as reg:
        settings = settings_for(database_url, gis_url=gis_system.url, citizen_registry_url=reg.url)
        services = make_services(settings, engine)
        assert isinstance(services.power_centres, HttpGis)
        assert isinstance(services.citizen_registry, HttpCitizenRegistry)
        assert services.citizen_registry.prefills
        assert await services.power_centres.nearest(*SUMQAYIT_HOME) == NearestCentre(
            "GIS centre", 77, sample_data=False
        )
        assert await services.citizen_registry.lookup(KNOWN_FIN) == REGISTRY_PERSON

    # The GIS falls back to the (sample) file that would be used without it.
    settings = settings_for(database_url, gis_url=closed_port_url())
    fallback = await make_services(settings, engine).power_centres.nearest(*SUMQAYIT_HOME)
    assert fallback == await sample_centres().nearest(*SUMQAYIT_HOME)


# --------------------------------------------------------------------------- the dialogue

REGISTRY_FOUND = "The registry has this for your FIN:\n{name}\nID card: {id_card}\n\nIs this you?"
REGISTRY_NOT_FOUND = "We could not find your data in the registry; please type it."
PERIOD_SKIPPED = "Execution period: {period}."


@pytest.fixture
async def registry() -> AsyncIterator[FakeSystem]:
    async with fake_system(registry_handler) as system:
        yield system


@pytest.fixture
async def bot(
    engine: AsyncEngine, emulator: BotApiEmulator, registry: FakeSystem
) -> AsyncIterator[BotApplication]:
    overrides = {"citizen_registry_url": registry.url}
    async with bot_on_emulator(engine, emulator, settings_overrides=overrides) as application:
        yield application


def draft_of(bot: BotApplication, user_id: int) -> dict[str, object]:
    draft = bot.user_data[user_id][DRAFT_KEY]
    assert isinstance(draft, dict)
    return draft


async def start_application(person: Citizen) -> None:
    """Language, then «Connection request»: with a registry the FIN comes first."""
    await choose_language(person, "az")
    await person.says(translate("Connection request", "az"))
    await person.sees(question(cr.FIN, "az"))
    first_name = question(cr.FIRST_NAME, "az")
    assert not any(
        first_name in (message.text or "") for message in person.emulator.messages(person.user_id)
    )


async def test_registry_data_is_offered_and_confirmed(
    emulator: BotApiEmulator, bot: BotApplication, registry: FakeSystem
) -> None:
    ilqar = Citizen(emulator, user_id=3001, first_name="İlqar")
    await start_application(ilqar)
    await ilqar.says("5abc7d8")
    offer = await ilqar.sees(head(REGISTRY_FOUND, "az"))
    text = offer.text or ""
    assert "İlqar" in text and "Məmmədov" in text and "AA1234567" in text
    assert offer.callback_data()[:2] == ["cr:registry:yes", "cr:registry:no"]
    assert registry.queries == [{"fin": KNOWN_FIN}]

    await ilqar.presses("cr:registry:yes")
    phase = await ilqar.sees(head(PERIOD_SKIPPED, "az"))  # the note opens the next question
    assert head(cr.PHASE_QUESTION, "az") in (phase.text or "")
    draft = draft_of(bot, ilqar.user_id)
    assert draft["first_name"] == "İlqar"
    assert draft["last_name"] == "Məmmədov"
    assert draft["patronymic"] == "Rəşid oğlu"
    assert draft["id_card"] == "AA1234567"
    assert draft["fin"] == KNOWN_FIN
    assert draft["execution_period"] is not None
    assert draft["state"] == cr.PHASE


async def test_unknown_fin_or_a_refusal_means_typing_the_main_info(
    emulator: BotApiEmulator, bot: BotApplication, registry: FakeSystem
) -> None:
    first_name = question(cr.FIRST_NAME, "az")

    nigar = Citizen(emulator, user_id=3002, first_name="Nigar")
    await start_application(nigar)
    await nigar.says(UNKNOWN_FIN.lower())
    await nigar.sees(translate(REGISTRY_NOT_FOUND, "az"))
    await nigar.sees(first_name)
    assert registry.queries[-1] == {"fin": UNKNOWN_FIN}
    assert draft_of(bot, nigar.user_id)["first_name"] is None

    kamran = Citizen(emulator, user_id=3003, first_name="Kamran")
    await start_application(kamran)
    await kamran.says(KNOWN_FIN)
    await kamran.sees(head(REGISTRY_FOUND, "az"))
    await kamran.presses("cr:registry:no")
    await kamran.sees(first_name)
    draft = draft_of(bot, kamran.user_id)
    assert draft["first_name"] is None and draft["id_card"] is None
    assert draft["registry_match"] is None  # someone else's data is not kept
    # The rest of the main info is typed; the FIN is not asked again.
    await kamran.says("Kamran")
    await kamran.sees(question(cr.LAST_NAME, "az"))
    await kamran.says("Əliyev")
    await kamran.sees(question(cr.PATRONYMIC, "az"))
    await kamran.presses(cr.SKIP)
    await kamran.sees(question(cr.ID_CARD, "az"))
    await kamran.says("AA7654321")
    await kamran.sees(head(cr.PHASE_QUESTION, "az"))
    draft = draft_of(bot, kamran.user_id)
    assert (draft["first_name"], draft["last_name"], draft["patronymic"]) == (
        "Kamran",
        "Əliyev",
        None,
    )
    assert (draft["fin"], draft["id_card"]) == (KNOWN_FIN, "AA7654321")


async def test_back_after_answering_the_offer_asks_the_fin_again(
    emulator: BotApiEmulator, bot: BotApplication, registry: FakeSystem
) -> None:
    fin_question = question(cr.FIN, "az")
    offer = head(REGISTRY_FOUND, "az")
    for choice, then in [
        ("no", question(cr.FIRST_NAME, "az")),
        ("yes", head(cr.PHASE_QUESTION, "az")),
    ]:
        leyla = Citizen(emulator, user_id=3010 if choice == "no" else 3011, first_name="Leyla")
        await start_application(leyla)
        await leyla.says(KNOWN_FIN)
        await leyla.sees(offer)
        await leyla.presses(f"cr:registry:{choice}")
        await leyla.sees(then)
        await leyla.presses(cr.BACK)
        again = await leyla.reply()
        assert fin_question in (again.text or ""), (choice, again.text)  # not an empty offer
        await leyla.says(KNOWN_FIN)  # typed again: looked up again
        shown = await leyla.sees(offer)
        assert "AA1234567" in (shown.text or "")


# --------------------------------------------------------------------------- billing

BILLED_CODE = "100200300400500"


@asynccontextmanager
async def billing(handler: Handler) -> AsyncIterator[str]:
    """``handler`` at ``/billing/{code}``; yields the base URL the bot is configured with."""
    app = web.Application()
    app.router.add_get("/billing/{code}", handler)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}/billing/"
    finally:
        await runner.cleanup()


async def billing_handler(request: web.Request) -> web.StreamResponse:
    if request.match_info["code"] != BILLED_CODE:
        return web.json_response({"error": "unknown"}, status=404)
    return web.json_response({"phone": "0501234567"})


async def test_billing_phone_is_normalised_and_unknown_codes_are_none() -> None:
    async with billing(billing_handler) as url:
        directory = HttpBilling(url, timeout_seconds=SHORT_TIMEOUT)
        assert await directory.phone_of(BILLED_CODE) == "+994501234567"
        assert await directory.phone_of("999999999999999") is None
    async with billing(answers_json({"phone": None})) as url:
        assert await HttpBilling(url).phone_of(BILLED_CODE) is None


BILLING_FAILURES: dict[str, Handler] = {
    "server error": answers_json({"phone": "+994501234567"}, status=500),
    "not JSON": answers_raw("<html>maintenance</html>", content_type="text/html"),
    "not a phone": answers_json({"phone": "12"}),
    "wrong type": answers_json({"phone": 994501234567}),
    "slow": answers_slowly({"phone": "+994501234567"}),
}


@pytest.mark.parametrize("failure", list(BILLING_FAILURES))
async def test_billing_failure_is_unavailable_not_none(failure: str) -> None:
    """Never "not yours" because billing is down: the citizen is asked to try later."""
    async with billing(BILLING_FAILURES[failure]) as url:
        with pytest.raises(DirectoryUnavailable):
            await HttpBilling(url, timeout_seconds=SHORT_TIMEOUT).phone_of(BILLED_CODE)
    with pytest.raises(DirectoryUnavailable):
        await HttpBilling(closed_port_url()).phone_of(BILLED_CODE)


async def test_make_services_stores_subscribers_or_asks_billing(
    engine: AsyncEngine, database_url: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    services = make_services(settings_for(database_url), engine)
    assert isinstance(services.subscribers, StoredSubscribers)
    assert await services.subscribers.phone_of(BILLED_CODE) is None
    async with session_factory.begin() as session:
        await upsert_subscriber(session, BILLED_CODE, phone="+994501234567")
    assert await services.subscribers.phone_of(BILLED_CODE) == "+994501234567"
    settings = settings_for(database_url, billing_url="http://127.0.0.1:9/billing")
    assert isinstance(make_services(settings, engine).subscribers, HttpBilling)
