"""Power centres: great-circle distance, the nearest centre, and the (sample) data file."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from domain.districts import all_districts
from domain.power_centres import (
    SAMPLE_POWER_CENTRES_FILE,
    PowerCentre,
    haversine_m,
    load_power_centres,
    nearest_power_centre,
)

BAKU = (40.4093, 49.8671)
SUMQAYIT = (40.5897, 49.6686)


def test_haversine_baku_to_sumqayit() -> None:
    # Computed by hand: Δφ = 0.1804° ≈ 20.06 km, Δλ = 0.1985° × cos 40.5° ≈ 16.78 km, so
    # √(20.06² + 16.78²) ≈ 26.15 km (spherical Earth, R = 6371.0088 km).
    distance = haversine_m(*BAKU, *SUMQAYIT)
    assert distance == pytest.approx(26_155, rel=0.005)


def test_haversine_nashville_to_los_angeles() -> None:
    # The classic example: 2887.26 km with R = 6372.8 km, scaled to our radius.
    expected = 2_887_259.95 * 6_371_008.8 / 6_372_800
    assert haversine_m(36.12, -86.67, 33.94, -118.40) == pytest.approx(expected, rel=1e-6)


def test_haversine_properties() -> None:
    assert haversine_m(*BAKU, *BAKU) == 0
    assert haversine_m(*BAKU, *SUMQAYIT) == pytest.approx(haversine_m(*SUMQAYIT, *BAKU))
    # One degree of latitude on the mean sphere.
    assert haversine_m(40.0, 49.0, 41.0, 49.0) == pytest.approx(111_195, abs=1)
    # Antipodes do not fail on rounding (sqrt of a value slightly above 1).
    assert haversine_m(0.0, 0.0, 0.0, 180.0) == pytest.approx(20_015_115, abs=1)


def test_nearest_power_centre() -> None:
    centres = [
        PowerCentre("Sumqayıt", *SUMQAYIT),
        PowerCentre("Bakı uzaq", 40.4200, 49.8671),
        PowerCentre("Bakı yaxın", 40.4120, 49.8671),
    ]
    centre, metres = nearest_power_centre(centres, *BAKU)
    assert centre.name == "Bakı yaxın"
    assert metres == round(haversine_m(*BAKU, 40.4120, 49.8671))
    assert isinstance(metres, int)
    assert 295 <= metres <= 305


def test_nearest_tie_goes_to_the_first() -> None:
    a = PowerCentre("A", 40.0, 49.0)
    b = PowerCentre("B", 40.0, 49.0)
    assert nearest_power_centre([a, b], 40.001, 49.0)[0] is a
    assert nearest_power_centre([a], 40.0, 49.0) == (a, 0)


def test_nearest_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="no power centres"):
        nearest_power_centre([], *BAKU)


# ----------------------------------------------------------------------------- sample file


def test_sample_file_loads_and_is_labelled_sample() -> None:
    head = SAMPLE_POWER_CENTRES_FILE.read_text(encoding="utf-8").splitlines()[:6]
    comments = "\n".join(line for line in head if line.startswith("#"))
    assert "SAMPLE" in comments
    assert "synthetic" in comments
    assert "NOT real substations" in comments
    assert "POWER_CENTRES_FILE" in comments
    centres = load_power_centres(SAMPLE_POWER_CENTRES_FILE)
    outside_nakhchivan = [d for d in all_districts() if not d.is_nakhchivan]
    assert len(centres) == 3 * len(outside_nakhchivan)
    assert all("nümunə yarımstansiya" in centre.name for centre in centres)
    assert len({centre.name for centre in centres}) == len(centres)
    assert not any(d.name in c.name for d in all_districts() if d.is_nakhchivan for c in centres)


def test_sample_centres_lie_150_m_to_2_5_km_from_their_district() -> None:
    centres = {c.name: c for c in load_power_centres(SAMPLE_POWER_CENTRES_FILE)}
    for district in all_districts():
        if district.is_nakhchivan:
            continue
        for number in (1, 2, 3):
            centre = centres[f"{district.name} — nümunə yarımstansiya {number}"]
            distance = haversine_m(
                district.latitude, district.longitude, centre.latitude, centre.longitude
            )
            assert 149 <= distance <= 2501, (centre.name, distance)


def test_sample_district_centres_fall_on_both_sides_of_400_m() -> None:
    centres = load_power_centres(SAMPLE_POWER_CENTRES_FILE)
    distances = [
        nearest_power_centre(centres, d.latitude, d.longitude)[1]
        for d in all_districts()
        if not d.is_nakhchivan
    ]
    assert any(m <= 400 for m in distances)
    assert any(m > 400 for m in distances)


def load_generator() -> ModuleType:
    path = SAMPLE_POWER_CENTRES_FILE.parent / "make_sample_power_centres.py"
    spec = importlib.util.spec_from_file_location("make_sample_power_centres", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sample_file_is_reproducible_from_its_script() -> None:
    generator = load_generator()
    assert generator.main(["--check"]) == 0


# ----------------------------------------------------------------------------- bad files


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "centres.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_comments_blank_lines_and_quoted_names(tmp_path: Path) -> None:
    path = write(tmp_path, '# comment\n\nname,lat,lon\n# more\n"PS-1, Bakı",40.4,49.8\n')
    assert load_power_centres(path) == [PowerCentre("PS-1, Bakı", 40.4, 49.8)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"centres\.csv: no power centres"),
        ("# only comments\n", "no power centres"),
        ("name,lat,lon\n", "no power centres"),
        ("name,latitude,longitude\nA,40,49\n", r"centres\.csv:1: header"),
        ("name,lat,lon\nA,40\n", r"centres\.csv:2: expected 3 fields"),
        ("name,lat,lon\nA,40,49,1\n", r":2: expected 3 fields"),
        ("# c\nname,lat,lon\nA,40,49\nB,north,49\n", r"centres\.csv:4: lat/lon are not numbers"),
        ("name,lat,lon\n,40,49\n", r":2: empty name"),
        ("name,lat,lon\nA,91,49\n", r":2: .* not a latitude and longitude"),
        ("name,lat,lon\nA,nan,49\n", r":2: .* not a latitude and longitude"),
        ("name,lat,lon\nA,40,inf\n", r":2: .* not a latitude and longitude"),
    ],
)
def test_bad_files(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_power_centres(write(tmp_path, text))


def test_missing_or_binary_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot be read"):
        load_power_centres(tmp_path / "absent.csv")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00name")
    with pytest.raises(ValueError, match=r"binary\.csv"):
        load_power_centres(binary)
