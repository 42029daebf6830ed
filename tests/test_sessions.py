"""Many saved sessions as one dataset: ``rnb.read_sessions``, its Dask engine and
``rnb.to_parquet_dataset`` (issue 16).

The 200 sessions are real ``conv.save`` files from the embedded server (made once for the
module): conversations in the three dialects with answers, function-call round trips,
deletes, inserts at the top and in the middle, server errors, answers saved while still
streaming, an empty session and one whose last line was cut short. Every frame is compared
with ``rnb.load(p).df`` / ``.events`` of each file plus the session columns, concatenated:
the same values, dtypes and index.
"""

from __future__ import annotations

import json
import random
import re
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

import realtime_nb as rnb
from realtime_nb.data import sessions
from realtime_nb.data.dtypes import string_array
from realtime_nb.data.saved import SavedFile, SavedFileWarning
from realtime_nb.demo import WEATHER_TOOL

N_SESSIONS = 200
STEPS = 4  # saves per connection: each file is the conversation so far


# ------------------------------------------------------------------------------ the sessions
def _say(conv: Any, rng: random.Random) -> None:
    conv.create(rng.choice(["Hello!", "What can you do offline?", "Tell me a fact."]))
    conv.respond()


def _tool(conv: Any, rng: random.Random) -> None:
    conv.update_session(tools=[WEATHER_TOOL])
    conv.create(f"What is the weather in {rng.choice(['Oslo', 'Paris'])}? Use get_weather.")
    call = conv.respond().items[0]
    if call.type == "function_call":
        conv.create({"type": "function_call_output", "call_id": call.call_id,
                     "output": json.dumps({"temp_c": rng.randint(-5, 30)})})
        conv.respond()


def _delete(conv: Any, rng: random.Random) -> None:
    item = conv.create("this one goes away")
    conv.delete(item.id)


def _error(conv: Any, rng: random.Random) -> None:
    with pytest.raises(rnb.RealtimeServerError):
        conv.delete("item_not_there")


def _insert(conv: Any, rng: random.Random) -> None:
    conv.create(role="system", text="Be brief.", previous_item_id="root")
    items = conv.items
    if len(items) > 2:
        conv.create("squeezed in", previous_item_id=items[len(items) // 2].id)


def _streaming(conv: Any, rng: random.Random) -> None:
    conv.create("answer while I save")
    conv.respond(wait=False)  # saved below while the answer may still stream


STEP_KINDS: list[Callable[[Any, random.Random], None]] = [
    _say, _tool, _delete, _error, _insert, _streaming]


def _truncate_last_line(path: Path) -> None:
    data = path.read_bytes()
    last = data.rstrip(b"\n").rfind(b"\n") + 1
    path.write_bytes(data[: last + (len(data) - last) // 2])


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """200 saved sessions (see the module doc), named in the order they were made."""
    out = tmp_path_factory.mktemp("sessions")
    rng = random.Random(16)
    made = 0
    empty = rnb.connect(timeout=10)
    empty.save(out / f"s{made:03d}.jsonl")  # an empty session: greeted, nothing said
    empty.close()
    made += 1
    dialects = ["ga", "ga", "beta", "yandex"]
    while made < N_SESSIONS:
        conv = rnb.connect(dialect=dialects[made % len(dialects)], timeout=10)
        try:
            for _ in range(STEPS):
                if made == N_SESSIONS:
                    break
                step = rng.choice(STEP_KINDS)
                step(conv, rng)
                conv.save(out / f"s{made:03d}.jsonl")
                made += 1
                if step is _streaming:
                    break  # an answer may still be running: the next one would be refused
        finally:
            conv.close()
    _truncate_last_line(out / "s117.jsonl")  # a file still being written
    return out


def _paths(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.jsonl"))


def expected(paths: list[Path], what: str) -> pd.DataFrame:
    """The plain way: ``rnb.load(p)`` of every file, the session columns, ``pd.concat``."""
    frames = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SavedFileWarning)
        for p in paths:
            frame = getattr(rnb.load(p), "df" if what == "items" else "events")
            with SavedFile(p) as saved:
                sid = saved.session_id
            n = len(frame)
            frames.append(frame.assign(session_id=string_array([sid] * n),
                                       session_path=string_array([str(p)] * n)))
    return pd.concat(frames)


@pytest.fixture(scope="module")
def items(folder: Path) -> pd.DataFrame:
    return expected(_paths(folder), "items")


@pytest.fixture(scope="module")
def events(folder: Path) -> pd.DataFrame:
    return expected(_paths(folder), "events")


@pytest.fixture
def pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read through the process pool even for the test's few megabytes."""
    monkeypatch.setattr(sessions, "POOL_MIN_BYTES", 0)
    monkeypatch.setattr(sessions, "WARM_POOL_MIN_BYTES", 0)


def _read(*args: Any, **kwargs: Any) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SavedFileWarning)
        return rnb.read_sessions(*args, **kwargs)


# ------------------------------------------------------------------------------ the frames
def test_the_sessions_are_varied(folder, items, events):
    assert len(_paths(folder)) == N_SESSIONS
    assert items.deleted.any() and (~items.deleted).any()
    assert {"message", "function_call", "function_call_output"} <= set(items["type"])
    assert "system" in set(items["role"])
    assert (events.type == "error").any()
    assert items.position.isna().any() and items.position.max() > 3
    assert str(folder / "s000.jsonl") not in set(items.session_path)  # the empty session
    assert str(folder / "s000.jsonl") in set(events.session_path)


@pytest.mark.parametrize("workers", [1, 2])
def test_items_equal_load_of_each_file(folder, items, pool, workers):
    with pytest.warns(SavedFileWarning, match=r"s117\.jsonl:\d+: truncated last line"):
        got = rnb.read_sessions(folder, workers=workers)
    assert_frame_equal(got, items)
    assert list(got.columns[-2:]) == ["session_id", "session_path"]
    assert got.session_id.dtype == got.session_path.dtype == pd.StringDtype()
    assert got.index.name == "item_id" and got.index.dtype == "str"


@pytest.mark.parametrize("workers", [1, 2])
def test_events_equal_load_of_each_file(folder, events, pool, workers):
    got = _read(folder, what="events", workers=workers)
    assert_frame_equal(got, events)
    first = got[got.session_path == str(folder / "s001.jsonl")]
    assert first.index.tolist() == first.seq.tolist() == list(range(len(first)))


def test_every_core_by_default_and_the_pool_is_kept(folder, items, pool):
    assert_frame_equal(_read(folder), items)
    if sessions.cores() > 1:
        assert sessions.pool_workers() >= 2


def test_paths_as_list_glob_and_directory(folder, items):
    paths = _paths(folder)
    chosen = [paths[5], paths[2], paths[9]]  # a list keeps its order
    got = _read(chosen)
    assert_frame_equal(got, expected(chosen, "items"))
    assert_frame_equal(_read(str(folder / "s00*.jsonl")), expected(paths[:10], "items"))
    assert_frame_equal(_read(paths[3]), expected([paths[3]], "items"))
    assert sessions.session_paths(folder) == [str(p) for p in paths]
    with pytest.raises(FileNotFoundError):
        rnb.read_sessions(folder / "nope.jsonl")


def test_no_files_give_the_empty_schema(tmp_path, items):
    for what, full in (("items", items), ("events", None)):
        got = rnb.read_sessions([], what=what)
        assert len(got) == 0
        if full is not None:
            assert got.dtypes.equals(full.dtypes)
            assert got["type"].dtype == full["type"].dtype  # categories included
    assert len(rnb.read_sessions(tmp_path)) == 0  # an empty directory


def test_session_id_from_the_header_else_the_stem(folder, tmp_path):
    ids = {}
    for p in _paths(folder)[1:40]:
        with SavedFile(p) as saved:
            head = saved.header
            greeting = next(e for e in saved if e["type"] == "session.created")
        assert "session_id" in head
        server_id = greeting["payload"]["session"].get("id")
        assert head["session_id"] == server_id  # GA's embedded greeting has no id: null
        ids[p] = server_id or p.stem
    assert any(v.startswith("sess_") for v in ids.values())
    assert any(v == p.stem for p, v in ids.items())
    got = _read(list(ids))
    assert dict(zip(got.session_path, got.session_id, strict=True)) == {
        str(p): v for p, v in ids.items() if str(p) in set(got.session_path)}
    # a file written before the field existed: the stem
    old = tmp_path / "before-the-field.jsonl"
    lines = (folder / "s010.jsonl").read_text().splitlines(keepends=True)
    head = json.loads(lines[0])
    del head["session_id"]
    old.write_text(json.dumps(head) + "\n" + "".join(lines[1:]))
    assert set(rnb.read_sessions(old, what="events").session_id) == {"before-the-field"}


@pytest.fixture(scope="module")
def turns(folder: Path) -> pd.DataFrame:
    frames = []
    for p in _paths(folder):
        t = _load(p).turns
        with SavedFile(p) as saved:
            sid = saved.session_id
        frames.append(t.assign(session_id=string_array([sid] * len(t)),
                               session_path=string_array([str(p)] * len(t))))
    return pd.concat(frames)


def test_turns_equal_load_of_each_file(folder, turns, pool):
    want = turns
    assert len(want) > 100 and want.done_s.notna().any()
    assert_frame_equal(_read(folder, what="turns", workers=1), want)
    assert_frame_equal(_read(folder, what="turns", workers=2), want)
    assert_frame_equal(rnb.read_sessions([], what="turns"), want.iloc[:0])


def _load(path: Path) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SavedFileWarning)
        return rnb.load(path)


def test_what_is_a_table(folder, monkeypatch):
    monkeypatch.setitem(sessions.WHAT, "later", "what='later' needs conv.later")
    with pytest.raises(NotImplementedError, match=r"conv\.later"):
        rnb.read_sessions(folder, what="later")
    with pytest.raises(ValueError, match="what must be one of 'items', 'events', 'turns'"):
        rnb.read_sessions(folder, what="rows")
    with pytest.raises(ValueError, match="engine"):
        rnb.read_sessions(folder, engine="spark")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="errors"):
        rnb.read_sessions(folder, errors="ignore")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ bad files
def _corrupt(src: Path, dst: Path, lineno: int) -> Path:
    lines = src.read_text().splitlines(keepends=True)
    lines[lineno - 1] = '{"seq": 3, "ts": 1.0, "direction": "in", "typ\n'
    dst.write_text("".join(lines))
    return dst


def test_a_corrupt_line_raises_with_file_and_line(folder, tmp_path, pool):
    bad = _corrupt(folder / "s021.jsonl", tmp_path / "bad.jsonl", 4)
    with pytest.raises(ValueError, match=rf"{re.escape(str(bad))}:4: not JSON"):
        rnb.read_sessions([folder / "s020.jsonl", bad])
    with pytest.raises(ValueError, match=rf"{re.escape(str(bad))}:4:"):
        rnb.read_sessions([*_paths(folder)[:60], bad], workers=2)  # from a worker too
    with pytest.raises(ValueError, match=rf"{re.escape(str(bad))}:4:"):
        rnb.load(bad)


def test_a_line_that_is_not_utf8(folder, tmp_path):
    lines = (folder / "s021.jsonl").read_bytes().splitlines(keepends=True)
    lines[2] = b'{"seq": 1, "note": "\xff\xfe"}\n'
    bad = tmp_path / "latin.jsonl"
    bad.write_bytes(b"".join(lines))
    with pytest.raises(ValueError, match=rf"{re.escape(str(bad))}:3: not valid UTF-8"):
        rnb.read_sessions(bad, what="events")
    with pytest.warns(SavedFileWarning, match=rf"{re.escape(str(bad))}:3: "):
        got = rnb.read_sessions(bad, what="events", errors="warn")
    assert len(got) == len(lines) - 2


@pytest.mark.parametrize("what", ["items", "events"])
def test_errors_warn_skips_the_line(folder, tmp_path, what):
    src = folder / "s021.jsonl"
    bad = _corrupt(src, tmp_path / "bad.jsonl", 4)
    without = tmp_path / "without.jsonl"
    lines = src.read_text().splitlines(keepends=True)
    without.write_text("".join(lines[:3] + lines[4:]))
    with pytest.warns(SavedFileWarning, match=rf"{re.escape(str(bad))}:4: .*line skipped"):
        got = rnb.read_sessions(bad, what=what, errors="warn")
    want = rnb.read_sessions(without, what=what)
    assert_frame_equal(got.drop(columns=["session_id", "session_path"]),
                       want.drop(columns=["session_id", "session_path"]))


def test_a_bad_header(folder, tmp_path):
    bad = tmp_path / "notes.jsonl"
    bad.write_text('{"hello": 1}\n' + (folder / "s030.jsonl").read_text().split("\n", 1)[1])
    with pytest.raises(ValueError, match=rf"{re.escape(str(bad))}:1: not a realtime_nb"):
        rnb.read_sessions([folder / "s030.jsonl", bad])
    with pytest.warns(SavedFileWarning, match=rf"{re.escape(str(bad))}:1: .*file skipped"):
        got = rnb.read_sessions([folder / "s030.jsonl", bad], errors="warn")
    assert_frame_equal(got, rnb.read_sessions(folder / "s030.jsonl"))


def test_the_truncated_last_line(folder):
    path = folder / "s117.jsonl"
    n = len(path.read_bytes().splitlines())
    with pytest.warns(SavedFileWarning) as caught:
        got = rnb.read_sessions(path, what="events")
    assert [str(w.message) for w in caught] == [
        f"{path}:{n}: truncated last line skipped (the file may still be being written)"]
    assert len(got) == n - 2  # the header and the cut line
    assert_frame_equal(got, expected([path], "events"))


def test_worker_warnings_reach_the_caller_in_file_order(folder, tmp_path, pool):
    bad = _corrupt(folder / "s021.jsonl", tmp_path / "bad.jsonl", 6)
    paths = [*_paths(folder)[100:160], bad, *_paths(folder)[160:]]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = rnb.read_sessions(paths, errors="warn", workers=2)
    assert sessions.pool_workers() == 2
    ours = [w for w in caught if issubclass(w.category, SavedFileWarning)]
    messages = [str(w.message) for w in ours]
    assert len(messages) == 2
    assert messages[0].startswith(f"{folder / 's117.jsonl'}:")
    assert messages[1].startswith(f"{bad}:6: ")
    assert {w.filename for w in ours} == {__file__}  # attributed to the caller's line
    assert got.session_path.unique().tolist() == [
        str(p) for p in paths if str(p) in set(got.session_path)]


# ------------------------------------------------------------------------------ Dask
@pytest.fixture(scope="module")
def cluster_client() -> Any:
    distributed = pytest.importorskip("distributed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # port and memory notices of a local cluster
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=None)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.mark.filterwarnings("ignore::realtime_nb.data.saved.SavedFileWarning")
@pytest.mark.parametrize("what", ["items", "events", "turns"])
def test_dask_on_a_local_cluster_equals_pandas(folder, items, events, turns, cluster_client,
                                               what, monkeypatch):
    import dask

    monkeypatch.setattr(sessions, "PARTITION_BYTES", 256 << 10)  # several per worker
    with dask.config.set({"dataframe.convert-string": True}):  # on for everything else
        ddf = rnb.read_sessions(folder, what=what, engine="dask")
    want = {"items": items, "events": events, "turns": turns}[what]
    assert ddf.npartitions > 4
    assert ddf._meta.dtypes.equals(want.dtypes)
    assert list(ddf.columns) == list(want.columns)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = ddf.compute()
        deadline = time.monotonic() + 10  # the client raises a worker's warning on its loop
        while time.monotonic() < deadline and not any(
                issubclass(w.category, SavedFileWarning) for w in caught):
            time.sleep(0.05)
    assert_frame_equal(got, want)
    from_workers = [str(w.message) for w in caught if issubclass(w.category, SavedFileWarning)]
    assert from_workers, "a worker's warning reaches the client"
    assert re.fullmatch(rf"{re.escape(str(folder / 's117.jsonl'))}:\d+: truncated last line.*",
                        from_workers[0])
    assert cluster_client.scheduler_info()["n_workers"] == 2
    if what == "items":
        texts = ddf[["text", "session_id"]].compute()  # column projection
        assert_frame_equal(texts, want[["text", "session_id"]])


def test_dask_errors_raise_on_compute(folder, tmp_path, cluster_client):
    bad = _corrupt(folder / "s021.jsonl", tmp_path / "bad.jsonl", 5)
    ddf = rnb.read_sessions([folder / "s020.jsonl", bad], engine="dask")
    with pytest.raises(ValueError, match=r"bad\.jsonl:5:"):
        ddf.compute()


# ------------------------------------------------------------------------------ Parquet
def _shifted(src: Path, dst: Path, days: int) -> Path:
    """A copy of a saved session ``days`` earlier (for more than one date partition)."""
    def shift(m: re.Match[str]) -> str:
        return f'"ts": {float(m.group(1)) - 86400.0 * days!r}'

    dst.write_text(re.sub(r'"ts": (\d+\.\d+)', shift, src.read_text()))
    return dst


@pytest.fixture(scope="module")
def dated(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("dated")
    paths = _paths(folder)
    return [_shifted(p, out / p.name, (i % 3) * 40) for i, p in enumerate(paths[:30])] + \
        paths[30:]


@pytest.mark.parametrize("what", ["items", "events"])
def test_parquet_dataset_reads_back(dated, tmp_path, pool, what):
    out = tmp_path / "dataset"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SavedFileWarning)
        assert rnb.to_parquet_dataset(dated, out, what=what, workers=2) == out
        frame = rnb.read_sessions(dated, what=what)
    stamp = frame["created_at" if what == "items" else "ts"]
    want = frame.assign(date=string_array(stamp.dt.strftime("%Y-%m-%d").tolist()))
    dates = sorted(want.date.dropna().unique())
    assert len(dates) == 3
    assert sorted(p.name for p in out.iterdir()) == [f"date={d}" for d in dates]
    back = rnb.read_parquet(out)  # partition by partition, file order within
    assert_frame_equal(back, want.sort_values("date", kind="stable"))
    plain = pd.read_parquet(out)  # pyarrow: a plain Hive dataset, JSON text in object columns
    assert len(plain) == len(want)
    with pytest.raises(FileExistsError):
        rnb.to_parquet_dataset(dated, out, what=what)


def test_parquet_dataset_in_duckdb(dated, tmp_path, items):
    duckdb = pytest.importorskip("duckdb")
    out = tmp_path / "dataset"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SavedFileWarning)
        rnb.to_parquet_dataset(dated, out)
        want = rnb.read_sessions(dated)
    rows = duckdb.sql(
        f"SELECT session_path, item_id, CAST(date AS VARCHAR), text, type, position, "
        f"deleted, content FROM read_parquet('{out}/**/*.parquet', hive_partitioning = true)"
    ).fetchall()
    got = sorted(rows, key=lambda r: (r[0], r[1]))
    ref = sorted(
        ((p, i, c.strftime("%Y-%m-%d"), None if t is pd.NA else t, ty,
          None if pos is pd.NA else pos, d, json.dumps(cont, ensure_ascii=False))
         for p, i, c, t, ty, pos, d, cont in zip(
             want.session_path, want.index, want.created_at, want.text, want["type"],
             want.position, want.deleted, want.content, strict=True)),
        key=lambda r: (r[0], r[1]))
    assert got == ref
    n = duckdb.sql(f"SELECT count(DISTINCT date) FROM read_parquet('{out}/**/*.parquet', "
                   f"hive_partitioning = true)").fetchall()
    assert n == [(3,)]


def test_parquet_dataset_of_no_rows_keeps_the_schema(folder, tmp_path, items):
    out = rnb.to_parquet_dataset([folder / "s000.jsonl"], tmp_path / "empty")  # no items
    back = rnb.read_parquet(out)
    assert len(back) == 0
    assert back.drop(columns="date").dtypes.equals(items.dtypes)


def test_parquet_dataset_partitioned_on_another_column(folder, tmp_path):
    out = tmp_path / "by-session"
    paths = _paths(folder)[40:50]
    rnb.to_parquet_dataset(paths, out, partition_on=("session_id", "date"), workers=1)
    back = rnb.read_parquet(out)
    want = rnb.read_sessions(paths)
    assert_frame_equal(back.drop(columns="date").sort_values(["session_id"], kind="stable"),
                       want.sort_values(["session_id"], kind="stable"))
