"""Azerbaijan's districts (REFERENCE.md §7) and a forgiving way to find one from typed text.

People type district names without Azerbaijani letters ("saki", "sumqayit"), in English
("Sheki", "Khachmaz"), in Russian ("Шуша", "Сумгаит") or with typos ("lenkran"). :func:`fold`
maps all of these to one search key; :func:`find_district` matches keys exactly and
:func:`search_districts` also by prefix and similarity.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

__all__ = [
    "DISTRICTS_FILE",
    "ECONOMIC_REGIONS",
    "NAKHCHIVAN_REGION",
    "District",
    "all_districts",
    "az_sort_key",
    "find_district",
    "fold",
    "search_districts",
]

DISTRICTS_FILE: Final = Path(__file__).parent / "data" / "districts.csv"
NAKHCHIVAN_REGION: Final = "Naxçıvan"
BAKU: Final = "Bakı"
BAKU_SUFFIX: Final = " (Bakı)"
# Economic regions of the Presidential Decree of 7 July 2021 (confidence: likely).
ECONOMIC_REGIONS: Final = frozenset(
    {
        "Bakı",
        "Abşeron-Xızı",
        "Dağlıq Şirvan",
        "Gəncə-Daşkəsən",
        "Qarabağ",
        "Qazax-Tovuz",
        "Quba-Xaçmaz",
        "Lənkəran-Astara",
        "Mərkəzi Aran",
        "Mil-Muğan",
        "Şəki-Zaqatala",
        "Şərqi Zəngəzur",
        "Şirvan-Salyan",
        NAKHCHIVAN_REGION,
    }
)
KINDS: Final = frozenset({"city", "rayon"})
# Generous box around Azerbaijan (about 38.4°–41.9° N, 44.8°–50.4° E), to catch swapped columns.
_LAT_RANGE: Final = (38.0, 42.5)
_LON_RANGE: Final = (44.0, 51.0)
SEARCH_TEXT_MAX: Final = 60
FUZZY_THRESHOLD: Final = 0.75


@dataclass(frozen=True, slots=True)
class District:
    """A city or rayon with an approximate centre.

    ``name_en`` and ``name_ru`` are the usual English and Russian names, empty when unsure.
    """

    name: str
    kind: str
    latitude: float
    longitude: float
    economic_region: str
    name_en: str = ""
    name_ru: str = ""

    @property
    def is_nakhchivan(self) -> bool:
        """Naxçıvan city and its 7 rayons: served by their own energy service, not Azərişıq."""
        return self.economic_region == NAKHCHIVAN_REGION

    @property
    def regional_unit(self) -> str:
        """What staff group applications by: the economic region."""
        return self.economic_region


# ----------------------------------------------------------------------------- ordering

_AZ_ALPHABET: Final = "abcçdeəfgğhxıijkqlmnoöprsştuüvyz"
_AZ_ORDER: Final = {letter: index for index, letter in enumerate(_AZ_ALPHABET)}


def _az_lower(text: str) -> str:
    return text.replace("I", "ı").replace("İ", "i").lower()


def az_sort_key(text: str) -> tuple[int, ...]:
    """Sort key in Azerbaijani alphabetical order (ç after c, ə after e, x after h, q after k …).

    Spaces and punctuation sort before letters; letters of other alphabets after them.
    """
    key: list[int] = []
    for char in _az_lower(text):
        if char in _AZ_ORDER:
            key.append(_AZ_ORDER[char] + 1)
        elif char.isalnum():
            key.append(len(_AZ_ORDER) + 1 + ord(char))
        else:
            key.append(0)
    return tuple(key)


def _group(district: District) -> int:
    if district.name == BAKU:
        return 0
    if district.economic_region == BAKU:
        return 1
    return 2 if district.kind == "city" else 3


# ----------------------------------------------------------------------------- folding

# Russian and Azerbaijani Cyrillic, towards the Azerbaijani Latin spelling (х → x, ч → ç …).
_CYRILLIC: Final = {
    "а": "a",
    "б": "b",
    "в": "v",
    "г": "q",
    "ғ": "ğ",
    "д": "d",
    "е": "e",
    "ё": "yo",
    "ж": "j",
    "з": "z",
    "и": "i",
    "й": "y",
    "ј": "y",
    "к": "k",
    "ҝ": "g",
    "л": "l",
    "м": "m",
    "н": "n",
    "о": "o",
    "ө": "ö",
    "п": "p",
    "р": "r",
    "с": "s",
    "т": "t",
    "у": "u",
    "ү": "ü",
    "ф": "f",
    "х": "x",
    "һ": "h",
    "ц": "ts",
    "ч": "ç",
    "ҹ": "c",
    "ш": "ş",
    "щ": "ş",
    "ъ": "",
    "ы": "ı",
    "ь": "",
    "э": "e",
    "ә": "ə",
    "ю": "yu",
    "я": "ya",
}
_CYRILLIC_TABLE: Final = str.maketrans(_CYRILLIC)
_NON_DECOMPOSING: Final = str.maketrans({"ə": "a", "ı": "i"})
_DIGRAPHS: Final = (("dzh", "c"), ("dj", "c"), ("sh", "s"), ("ch", "c"), ("gh", "g"), ("kh", "x"))
# Letters merged in the key. Vowels a/e/ə are merged because people write ə as either ("saki",
# "lenkeran"); q/g because Russian and English write Q as G ("Губа", "Gabala"); j with c because
# English writes c as j ("Ganja", "Julfa"). No two districts differ only by these (tested).
_MERGED: Final = str.maketrans({"e": "a", "q": "g", "j": "c"})
_BAKU_SUFFIX_RE: Final = re.compile(r"\((?:baki|baku)\)")
# Words people add around a name, as folded: "Şəki şəhəri", "Quba rayonu", "г. Шеки", "Khachmaz
# district". Dropped unless nothing else is left.
_NOISE_WORDS: Final = frozenset(
    {"r", "rayon", "rayonu", "s", "sahar", "sahari", "g", "gorod", "district", "city"}
)
_NON_ALNUM_RE: Final = re.compile(r"[^0-9a-z]+")


def fold(text: str) -> str:
    """The search key of a district name or of typed text: lower-case ASCII letters and digits.

    Azerbaijani letters become plain ones (ş → s, ə → a …), Cyrillic is transliterated, English
    digraphs (sh ch gh kh) become single letters, a/e/ə, q/g and c/j are merged, and " (Bakı)",
    "rayonu", "şəhəri" and the like are dropped: "Şəki şəhəri", "saki", "Sheki" and "Шеки" all
    give ``"saki"``.
    """
    text = _az_lower(unicodedata.normalize("NFKC", text)).translate(_CYRILLIC_TABLE)
    text = unicodedata.normalize("NFKD", text.translate(_NON_DECOMPOSING))
    text = "".join(char for char in text if not unicodedata.combining(char))
    for digraph, letter in _DIGRAPHS:
        text = text.replace(digraph, letter)
    text = _BAKU_SUFFIX_RE.sub(" ", text.translate(_MERGED))
    words = [word for word in _NON_ALNUM_RE.split(text) if word]
    kept = [word for word in words if word not in _NOISE_WORDS]
    return "".join(kept or words)


# ----------------------------------------------------------------------------- loading


def _read_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    numbered = [(n, line) for n, line in enumerate(lines, 1) if line.strip() and line[0] != "#"]
    if not numbered:
        raise ValueError(f"{path}: no header and no rows")
    reader = csv.DictReader(io.StringIO("\n".join(line for _, line in numbered)))
    return [(numbered[index + 1][0], row) for index, row in enumerate(reader)]


def _parse_row(path: Path, line: int, row: dict[str, str]) -> District:
    def fail(message: str) -> ValueError:
        return ValueError(f"{path}:{line}: {message}")

    name = (row.get("name_az") or "").strip()
    kind = (row.get("kind") or "").strip()
    region = (row.get("economic_region") or "").strip()
    if not name:
        raise fail("empty name_az")
    if kind not in KINDS:
        raise fail(f"kind {kind!r} is not one of {sorted(KINDS)}")
    if not region:
        raise fail(f"{name}: no economic_region")
    if region not in ECONOMIC_REGIONS:
        raise fail(f"{name}: unknown economic_region {region!r}")
    try:
        latitude = float(row.get("lat") or "")
        longitude = float(row.get("lon") or "")
    except ValueError as error:
        raise fail(f"{name}: lat/lon are not numbers") from error
    if not (_LAT_RANGE[0] <= latitude <= _LAT_RANGE[1]) or not (
        _LON_RANGE[0] <= longitude <= _LON_RANGE[1]
    ):
        raise fail(f"{name}: ({latitude}, {longitude}) is not in Azerbaijan")
    return District(
        name=name,
        kind=kind,
        latitude=latitude,
        longitude=longitude,
        economic_region=region,
        name_en=(row.get("name_en") or "").strip(),
        name_ru=(row.get("name_ru") or "").strip(),
    )


def load_districts(path: Path) -> tuple[District, ...]:
    """Read and check a districts file; ValueError naming the file and line on any bad row."""
    districts = [_parse_row(path, line, row) for line, row in _read_rows(path)]
    if not districts:
        raise ValueError(f"{path}: no districts")
    owners: dict[str, str] = {}
    for district in districts:
        for alias in (district.name, district.name_en, district.name_ru):
            key = fold(alias)
            if alias and owners.setdefault(key, district.name) != district.name:
                raise ValueError(
                    f"{path}: {alias!r} of {district.name} folds like {owners[key]} ({key!r})"
                )
    return tuple(sorted(districts, key=lambda d: (_group(d), az_sort_key(d.name))))


@cache
def all_districts() -> tuple[District, ...]:
    """Every district: Bakı, its 12 city rayons, the other cities, then the rayons.

    Each group is in Azerbaijani alphabetical order. Nakhchivan is included (filter it with
    :attr:`District.is_nakhchivan`).
    """
    return load_districts(DISTRICTS_FILE)


@cache
def _index() -> tuple[tuple[str, District], ...]:
    """(search key, district) for every name and alias, in :func:`all_districts` order."""
    entries: dict[str, District] = {}
    for district in all_districts():
        for alias in (district.name, district.name_en, district.name_ru):
            if alias:
                entries.setdefault(fold(alias), district)
    return tuple(entries.items())


# ----------------------------------------------------------------------------- look-ups


def find_district(text: str) -> District | None:
    """The district whose name (Azerbaijani, English or Russian) folds exactly like ``text``."""
    if len(text) > SEARCH_TEXT_MAX:
        return None
    key = fold(text)
    if not key:
        return None
    for alias, district in _index():
        if alias == key:
            return district
    return None


def search_districts(text: str, limit: int = 6) -> list[District]:
    """Districts ``text`` may mean, best first: exact, then prefix, then similar names.

    Empty or overlong input gives ``[]``.
    """
    if limit <= 0 or len(text) > SEARCH_TEXT_MAX:
        return []
    key = fold(text)
    if not key:
        return []
    found: list[District] = []

    def add(district: District) -> None:
        if district not in found:
            found.append(district)

    index = _index()
    for alias, district in index:
        if alias == key:
            add(district)
    for alias, district in index:
        if alias.startswith(key):
            add(district)
    scored: list[tuple[float, int, District]] = []
    for position, (alias, district) in enumerate(index):
        ratio = difflib.SequenceMatcher(None, key, alias).ratio()
        if ratio >= FUZZY_THRESHOLD:
            scored.append((ratio, -position, district))
    for _, _, district in sorted(scored, key=lambda item: (item[0], item[1]), reverse=True):
        add(district)
    return found[:limit]


def district_candidates(text: str, limit: int = 6) -> list[District]:
    """What a typed name may mean: the exact match alone, else the best guesses."""
    exact = find_district(text)
    return [exact] if exact is not None else search_districts(text, limit=limit)


#: A shared location farther than this from the chosen district's centre is asked about once
#: (a rayon is at most about 60 km across; Bakı to Şuşa is about 250 km).
FAR_FROM_DISTRICT_M: Final = 60_000


def nearest_district(latitude: float, longitude: float) -> District:
    """The district whose centre is nearest to the point (Nakhchivan included)."""
    from domain.power_centres import haversine_m

    return min(
        all_districts(),
        key=lambda d: haversine_m(latitude, longitude, d.latitude, d.longitude),
    )
