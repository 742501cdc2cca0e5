"""Data folders, the public datasets' conversions and the committed sample world."""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from graphs import public_data as pdata
from graphs.errors import InputError
from service.cli import app

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


def _metadata(path: Path) -> Path:
    # user prod rating label date; product 0 has 801 reviews (outside the CARE-GNN subset).
    lines = [f"{1000 + i} 0 4.0 1 2012-01-{1 + i % 28:02d}" for i in range(801)]
    lines += ["7 1 1.0 -1 2011-05-02", "7 2 5.0 1 2011-05-03", "8 1 2.0 1 2010-01-01"]
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    return path


def test_yelpchi_conversion_follows_the_rules(tmp_path):
    tables = pdata.yelpchi_from_metadata(_metadata(tmp_path / "meta.gz"))
    ev, lab = tables["events"], tables["labels"].set_index("account_id")["is_bot"]
    assert list(ev.columns) == [
        "account_id",
        "timestamp",
        "action",
        "entity_type",
        "entity_id",
        "rating",
        "in_caregnn_subset",
    ]
    assert len(ev) == 804 and set(ev["action"]) == {"review"} and set(ev["entity_type"]) == {"product"}
    assert ev.loc[ev["entity_id"] == "p0", "in_caregnn_subset"].eq(0).all()
    assert ev.loc[ev["entity_id"] != "p0", "in_caregnn_subset"].eq(1).all()
    assert lab["u7"] == 1 and lab["u8"] == 0 and lab["u1000"] == 0  # any filtered review makes a spammer
    assert list(lab.index[:2]) == ["u1000", "u1001"]  # users in order of first appearance
    assert tables["review_labels"]["is_filtered_review"].sum() == 1


def test_yelpchi_zip_round_trip_and_both_forms_load(tmp_path):
    meta = _metadata(tmp_path / "yelpchi_metadata.gz")
    out = pdata.write_yelpchi_eventlog(meta, tmp_path / "out")
    assert out.name == "yelpchi_eventlog.zip" and out.stat().st_mode & 0o777 != 0o600
    with zipfile.ZipFile(out) as z:
        assert sorted(z.namelist()) == ["events.csv.gz", "labels.csv", "review_labels.csv.gz"]
    from_zip, lab_zip = pdata.load_yelpchi(out)
    from_meta, lab_meta = pdata.load_yelpchi(tmp_path)  # the folder: the zip is not there, the metadata is
    assert from_zip.n_events == from_meta.n_events == 804
    assert lab_zip.equals(lab_meta.reset_index(drop=True)) or len(lab_zip) == len(lab_meta)


def test_bad_metadata_names_file_row_and_column(tmp_path):
    bad = tmp_path / "m.txt"
    bad.write_text("1 0 4.0 1 2012-01-01\n2 0 4.0 0 2012-01-02\n")
    with pytest.raises(InputError, match=r"m.txt, row 2, column 'label': expected -1 or 1, got 0"):
        pdata.yelpchi_from_metadata(bad)


@pytest.mark.skipif(
    not (SHARED / "yelpchi_metadata.gz").is_file(), reason="needs ../shared/data (research data)"
)
def test_conversion_reproduces_the_shared_event_log():
    tables = pdata.yelpchi_from_metadata(SHARED / "yelpchi_metadata.gz")
    with zipfile.ZipFile(SHARED / "yelpchi_eventlog.zip") as z:
        for name, member in (("events", "events.csv.gz"), ("labels", "labels.csv")):
            ref = pd.read_csv(
                io.BytesIO(z.read(member)), compression="gzip" if member.endswith("gz") else None
            )
            mine = pd.read_csv(io.StringIO(tables[name].to_csv(index=False)))
            pd.testing.assert_frame_equal(mine, ref)


def _coortweet_zip(path: Path) -> Path:
    ru = pd.DataFrame(
        {
            "object_id": ["t1", "t1", "t2"],
            "account_id": ["a", "b", "a"],
            "content_id": ["c1", "c2", "c3"],
            "timestamp_share": [1623881091.0, 1623881100.0, 1623881200.0],
        }
    )
    de = pd.DataFrame(
        {
            "account_id": ["fb_1", "tw_2"],
            "post_id": [1, 2],
            "url_id": [10.0, None],
            "hashtag_id": [None, None],
            "domain_id": [30.0, 31.0],
            "phash_id": [None, 40.0],
            "timestamp": [1629589836.0, 1629589069.0],
        }
    )
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("russian_coord_tweets.csv.gz", gzip.compress(ru.to_csv(index=False).encode()))
        z.writestr("german_elections.csv.gz", gzip.compress(de.to_csv(index=False).encode()))
    return path


def test_coortweet_logs_become_event_logs(tmp_path, monkeypatch):
    _coortweet_zip(tmp_path / pdata.COORTWEET_FILE)
    monkeypatch.setenv(pdata.DATA_ENV, str(tmp_path))  # found through RINGSCOPE_DATA
    ru = pdata.load_coortweet("russian_coord_tweets")
    assert ru.n_events == 3 and ru.summary()["entity_types"] == {"content": {"events": 3, "distinct": 2}}
    de = pdata.load_coortweet("german_elections").to_frame()
    # One row per non-empty identifier: url + domain of the first post, domain + image hash of the second.
    assert sorted(de["entity_type"].astype(str)) == ["domain", "domain", "image_phash", "url"]
    assert set(de["action"].astype(str)) == {"post"}
    with pytest.raises(InputError, match="not a CooRTweet log"):
        pdata.load_coortweet("nope")


def test_missing_data_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv(pdata.DATA_ENV, str(tmp_path / "mine"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as info:
        pdata.load_yelpchi()
    text = str(info.value)
    assert "mine/yelpchi_eventlog.zip" in text and "shared/data" in text and "data/README.md" in text


def test_sample_world_is_what_the_generator_makes(tmp_path):
    committed = pdata.sample_paths()
    again = pdata.write_sample(tmp_path)
    for name, path in committed.items():
        pd.testing.assert_frame_equal(pd.read_csv(path), pd.read_csv(again[name]), obj=name)


def test_sample_world_shows_every_ring_kind(tmp_path):
    from graphs.events import load_accounts, load_events, load_labels
    from graphs.truth import quality_report
    from service.pipeline import run_detection

    p = pdata.sample_paths()
    det = run_detection(load_events(p["events"]), load_accounts(p["accounts"]))
    report = quality_report(det.accounts, det.clusters, load_labels(p["labels"]))
    assert report["true_rings"] == 4 and report["ring_recall"] == 1.0 and report["ring_precision"] == 1.0
    assert set(report["ring_recall_by_kind"]) == {"device_farm", "pod", "proxy_ring", "stealth"}


def test_data_cli_lists_and_converts(tmp_path, monkeypatch):
    _coortweet_zip(tmp_path / pdata.COORTWEET_FILE)
    monkeypatch.setenv(pdata.DATA_ENV, str(tmp_path))
    monkeypatch.chdir(tmp_path)  # no ../shared/data beside it
    runner = CliRunner()
    res = runner.invoke(app, ["data", "list"])
    assert (
        res.exit_code == 0
        and f"CooRTweet coordination logs: {tmp_path}/coortweet_coordination_logs.zip" in res.output
    )
    assert "YelpChi raw metadata: not found" in res.output
    out = tmp_path / "events.parquet"
    res = runner.invoke(app, ["data", "convert", "russian_coord_tweets", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert len(pd.read_parquet(out)) == 3
    res = runner.invoke(app, ["data", "convert", "german_elections", "--out", str(tmp_path / "x.txt")])
    assert (
        res.exit_code == 2 and "expected a folder or a .csv" in res.output and "Traceback" not in res.output
    )
    res = runner.invoke(app, ["data", "convert", "yelpchi", "--out", str(tmp_path / "y")])
    assert res.exit_code == 2 and "yelpchi_metadata.gz" in res.output and "not found" in res.output
