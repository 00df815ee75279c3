"""Districts: the data file, ordering, Nakhchivan, economic regions, and finding a district."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.districts import (
    DISTRICTS_FILE,
    ECONOMIC_REGIONS,
    District,
    all_districts,
    az_sort_key,
    find_district,
    fold,
    load_districts,
    search_districts,
)

SHARED_DISTRICTS = Path(__file__).resolve().parents[2] / "shared" / "domain" / "districts.csv"
NAKHCHIVAN = {"Naxçıvan", "Babək", "Culfa", "Kəngərli", "Ordubad", "Sədərək", "Şahbuz", "Şərur"}
BAKU_RAYONS = {
    "Binəqədi",
    "Xətai",
    "Xəzər",
    "Qaradağ",
    "Nərimanov",
    "Nəsimi",
    "Nizami",
    "Sabunçu",
    "Səbail",
    "Suraxanı",
    "Yasamal",
    "Pirallahı",
}


def by_name(name: str) -> District:
    return next(d for d in all_districts() if d.name == name)


def data_rows() -> list[dict[str, str]]:
    lines = DISTRICTS_FILE.read_text(encoding="utf-8").splitlines()
    return list(csv.DictReader(line for line in lines if not line.startswith("#")))


# ----------------------------------------------------------------------------- data


def test_every_row_loads() -> None:
    districts = all_districts()
    assert len(districts) == len(data_rows()) == 87
    assert all_districts() is districts  # cached


@pytest.mark.skipif(not SHARED_DISTRICTS.exists(), reason="shared/ is not beside the repository")
def test_data_file_keeps_the_shared_rows() -> None:
    with SHARED_DISTRICTS.open(encoding="utf-8") as file:
        shared = [
            (r["name_az"], r["kind"], r["lat"], r["lon"], r["source"]) for r in csv.DictReader(file)
        ]
    ours = [(r["name_az"], r["kind"], r["lat"], r["lon"], r["source"]) for r in data_rows()]
    assert ours == shared


def test_counts_by_kind() -> None:
    districts = all_districts()
    cities = [d for d in districts if d.kind == "city"]
    assert len(cities) == 11  # 10 cities + Naxçıvan
    baku = [d for d in districts if d.name.endswith(" (Bakı)")]
    assert {d.name.removesuffix(" (Bakı)") for d in baku} == BAKU_RAYONS
    assert len([d for d in districts if d.kind == "rayon" and d not in baku]) == 57 + 7


def test_order_baku_then_its_rayons_then_cities_then_rayons() -> None:
    names = [d.name for d in all_districts()]
    assert names[0] == "Bakı"
    assert all(name.endswith(" (Bakı)") for name in names[1:13])
    assert names[1:4] == ["Binəqədi (Bakı)", "Xətai (Bakı)", "Xəzər (Bakı)"]
    cities = [d.name for d in all_districts()[13:] if d.kind == "city"]
    assert names[13 : 13 + len(cities)] == cities
    assert cities[:3] == ["Gəncə", "Xankəndi", "Lənkəran"]
    rayons = names[13 + len(cities) :]
    assert rayons == sorted(rayons, key=az_sort_key)
    assert rayons[:2] == ["Abşeron", "Ağcabədi"]
    # Azerbaijani order: ç after c, ə after e, x after h, ı before i, q after k, ş after s.
    assert rayons.index("Culfa") < rayons.index("Daşkəsən")
    assert rayons.index("Hacıqabul") < rayons.index("Xaçmaz") < rayons.index("İmişli")
    assert rayons.index("Kürdəmir") < rayons.index("Qax") < rayons.index("Laçın")
    assert rayons.index("Siyəzən") < rayons.index("Şabran") < rayons.index("Tərtər")


def test_nakhchivan_flags() -> None:
    flagged = {d.name for d in all_districts() if d.is_nakhchivan}
    assert flagged == NAKHCHIVAN
    assert not by_name("Bakı").is_nakhchivan
    assert not by_name("Şuşa").is_nakhchivan


def test_every_district_has_a_known_economic_region() -> None:
    rows = data_rows()
    assert all(row["economic_region"] in ECONOMIC_REGIONS for row in rows)
    assert {d.economic_region for d in all_districts()} == ECONOMIC_REGIONS
    for district in all_districts():
        assert district.regional_unit == district.economic_region


@pytest.mark.parametrize(
    ("name", "region"),
    [
        ("Bakı", "Bakı"),
        ("Səbail (Bakı)", "Bakı"),
        ("Sumqayıt", "Abşeron-Xızı"),
        ("Şamaxı", "Dağlıq Şirvan"),
        ("Naftalan", "Gəncə-Daşkəsən"),
        ("Ağdərə", "Qarabağ"),
        ("Tovuz", "Qazax-Tovuz"),
        ("Siyəzən", "Quba-Xaçmaz"),
        ("Yardımlı", "Lənkəran-Astara"),
        ("Mingəçevir", "Mərkəzi Aran"),
        ("Sabirabad", "Mil-Muğan"),
        ("Qəbələ", "Şəki-Zaqatala"),
        ("Zəngilan", "Şərqi Zəngəzur"),
        ("Şirvan", "Şirvan-Salyan"),
        ("Şərur", "Naxçıvan"),
    ],
)
def test_economic_region_examples(name: str, region: str) -> None:
    assert by_name(name).economic_region == region


def test_names_and_aliases_are_unique_after_folding() -> None:
    owner: dict[str, str] = {}
    for district in all_districts():
        for alias in (district.name, district.name_en, district.name_ru):
            if alias:
                key = fold(alias)
                assert key, alias
                assert owner.setdefault(key, district.name) == district.name, (alias, key)


def test_aliases_find_their_own_district() -> None:
    for district in all_districts():
        for alias in (district.name, district.name_en, district.name_ru):
            if alias:
                assert find_district(alias) == district, alias


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "districts.csv"
    path.write_text(text, encoding="utf-8")
    return path


HEADER = "name_az,kind,lat,lon,source,economic_region,name_en,name_ru\n"


def test_loader_fails_loudly_on_a_missing_economic_region(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "Quba,rayon,41.36,48.51,x,,Guba,Губа\n")
    with pytest.raises(ValueError, match=r"districts\.csv:2: Quba: no economic_region"):
        load_districts(path)


def test_loader_fails_on_an_unknown_region_bad_kind_or_coordinates(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown economic_region"):
        load_districts(write(tmp_path, HEADER + "Quba,rayon,41.36,48.51,x,Quba,,\n"))
    with pytest.raises(ValueError, match="kind"):
        load_districts(write(tmp_path, HEADER + "Quba,village,41.36,48.51,x,Quba-Xaçmaz,,\n"))
    with pytest.raises(ValueError, match="not in Azerbaijan"):
        load_districts(write(tmp_path, HEADER + "Quba,rayon,48.51,41.36,x,Quba-Xaçmaz,,\n"))
    with pytest.raises(ValueError, match="not numbers"):
        load_districts(write(tmp_path, HEADER + "Quba,rayon,north,48.51,x,Quba-Xaçmaz,,\n"))
    with pytest.raises(ValueError, match="no districts"):
        load_districts(write(tmp_path, "# only a comment\n" + HEADER))


def test_loader_rejects_names_that_fold_alike(tmp_path: Path) -> None:
    rows = "Şəki,city,41.19,47.17,x,Şəki-Zaqatala,,\nSaki,city,41.2,47.1,x,Şəki-Zaqatala,,\n"
    with pytest.raises(ValueError, match="folds like"):
        load_districts(write(tmp_path, HEADER + rows))


# ----------------------------------------------------------------------------- find


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Sumqayıt", "Sumqayıt"),
        ("sumqayit", "Sumqayıt"),
        ("SUMQAYIT", "Sumqayıt"),
        ("  Sumqayıt  ", "Sumqayıt"),
        ("saki", "Şəki"),
        ("Şəki", "Şəki"),
        ("ŞƏKİ", "Şəki"),
        ("Sheki", "Şəki"),
        ("Şəki şəhəri", "Şəki"),
        ("binəqədi", "Binəqədi (Bakı)"),
        ("Binəqədi (Bakı)", "Binəqədi (Bakı)"),
        ("Binəqədi rayonu", "Binəqədi (Bakı)"),
        ("Baku", "Bakı"),
        ("Baki", "Bakı"),
        ("Shusha", "Şuşa"),
        ("Khachmaz", "Xaçmaz"),
        ("Xachmaz", "Xaçmaz"),
        ("Ganja", "Gəncə"),
        ("gence", "Gəncə"),
        ("Lankaran", "Lənkəran"),
        ("lenkeran", "Lənkəran"),
        ("Mingachevir", "Mingəçevir"),
        ("Khankendi", "Xankəndi"),
        ("Sumgait", "Sumqayıt"),
        ("qebele", "Qəbələ"),
        ("Gabala", "Qəbələ"),
        ("Imishli", "İmişli"),
        ("Шуша", "Şuşa"),
        ("Сумгаит", "Sumqayıt"),
        ("Гянджа", "Gəncə"),
        ("Баку", "Bakı"),
        ("Шеки", "Şəki"),
        ("г. Шеки", "Şəki"),
        ("Ханкенди", "Xankəndi"),
        ("Ленкорань", "Lənkəran"),
        ("Губа", "Quba"),
        ("Нахчыван", "Naxçıvan"),
        ("Сабаил", "Səbail (Bakı)"),
    ],
)
def test_find_district(text: str, name: str) -> None:
    found = find_district(text)
    assert found is not None, text
    assert found.name == name


@pytest.mark.parametrize(
    "text", ["", "   ", "Moskva", "sumqay", "lenkran", "Şəki" * 30, "\x00", "🙂", "()", "rayonu"]
)
def test_find_district_none(text: str) -> None:
    assert find_district(text) is None


# ----------------------------------------------------------------------------- search


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("sumgayit", "Sumqayıt"),
        ("lenkeran", "Lənkəran"),
        ("qebele", "Qəbələ"),
        ("sumqyt", "Sumqayıt"),
        ("Lənkran", "Lənkəran"),
        ("mingecevr", "Mingəçevir"),
        ("zaqatla", "Zaqatala"),
        ("Sumq", "Sumqayıt"),
        ("nərim", "Nərimanov (Bakı)"),
        ("Шемаха", "Şamaxı"),
    ],
)
def test_search_best_first(text: str, name: str) -> None:
    assert search_districts(text)[0].name == name


def test_search_prefix_matches_come_before_fuzzy_ones_and_respect_the_limit() -> None:
    results = search_districts("qu")
    assert [d.name for d in results][:3] == ["Quba", "Qubadlı", "Qusar"]
    assert len(search_districts("a", limit=3)) == 3
    assert len(search_districts("a")) == 6
    assert search_districts("a", limit=0) == []
    names = [d.name for d in search_districts("a", limit=50)]
    assert len(names) == len(set(names))


def test_search_exact_first() -> None:
    assert search_districts("Quba")[0].name == "Quba"
    assert search_districts("Şəki")[0].name == "Şəki"


@pytest.mark.parametrize("text", ["", "   ", "x" * 61, "zzzzzzzz", "🙂🙂", "\x00", "---"])
def test_search_nothing(text: str) -> None:
    assert search_districts(text) == []


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=80))
def test_search_and_find_never_raise(text: str) -> None:
    results = search_districts(text)
    assert len(results) <= 6
    found = find_district(text)
    if found is not None:
        assert results[0] == found


def test_fold_examples() -> None:
    assert fold("Şəki") == fold("saki") == fold("Sheki") == fold("Шеки") == "saki"
    assert fold("Binəqədi (Bakı)") == fold("binəqədi")
    assert fold("İsmayıllı") == fold("ISMAYILLI") == "ismayilli"
    assert fold("") == ""
