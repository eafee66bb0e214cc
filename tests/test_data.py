"""names.txt provisioning: checksum first, a corrupt copy is never used."""
import shutil
from pathlib import Path

import pytest

from mlpcourse import data, runtime

GOOD = Path(__file__).resolve().parent.parent / "data" / "names.txt"


@pytest.fixture
def good(tmp_path):
    if not GOOD.exists():
        pytest.fail("data/names.txt is not provisioned: run `make data` first")
    copy = tmp_path / "names-good.txt"
    shutil.copy(GOOD, copy)
    return copy


def test_course_copy_is_the_published_file():
    assert data.sha256(GOOD) == data.NAMES_SHA256
    words = runtime.load_words(GOOD)
    assert len(words) == 32033 and words[:3] == ["emma", "olivia", "ava"]


def test_provision_copies_a_verified_source(good, tmp_path):
    dest = tmp_path / "course" / "names.txt"
    assert data.provision(good, dest, allow_download=False) == dest
    assert data.sha256(dest) == data.NAMES_SHA256


def test_env_var_is_used_before_download(good, tmp_path, monkeypatch):
    monkeypatch.setenv(data.NAMES_ENV, str(good))
    dest = tmp_path / "names.txt"
    data.provision(dest=dest, allow_download=False)
    assert data.sha256(dest) == data.NAMES_SHA256


def test_corrupt_source_is_refused_and_nothing_written(good, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text(good.read_text().replace("emma", "emmy", 1))
    dest = tmp_path / "names.txt"
    with pytest.raises(data.DataError, match="not the makemore names.txt"):
        data.provision(bad, dest, allow_download=False)
    assert not dest.exists()


def test_corrupt_existing_copy_is_replaced(good, tmp_path):
    dest = tmp_path / "names.txt"
    dest.write_text("truncated\n")
    data.provision(good, dest, allow_download=False)
    assert data.sha256(dest) == data.NAMES_SHA256


def test_missing_copy_without_download_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.delenv(data.NAMES_ENV, raising=False)
    with pytest.raises(data.DataError, match="python -m mlpcourse provision --source"):
        data.provision(dest=tmp_path / "names.txt", allow_download=False)


def test_failed_download_leaves_no_file(tmp_path):
    dest = tmp_path / "names.txt"
    with pytest.raises(data.DataError, match="could not be downloaded"):
        data.download(dest, url="http://127.0.0.1:9/names.txt")
    assert not dest.exists() and not list(tmp_path.glob("*.part"))


def test_download_with_wrong_checksum_is_discarded(good, tmp_path):
    bad = tmp_path / "served.txt"
    bad.write_text("not names\n")
    dest = tmp_path / "out" / "names.txt"
    with pytest.raises(data.DataError):
        data.download(dest, url=bad.as_uri())
    assert not dest.exists() and not list(dest.parent.glob("*.part"))
    assert data.download(dest, url=good.as_uri()) == dest


def test_load_words_rejects_a_tampered_path(good, tmp_path):
    bad = tmp_path / "names.txt"
    bad.write_text("a\nb\n")
    with pytest.raises(data.DataError):
        runtime.load_words(bad)


def test_student_offline_without_a_copy_gets_one_message_saying_what_to_do(tmp_path, monkeypatch):
    """What a student sees when names.txt is nowhere near the notebook and there is no network."""
    monkeypatch.delenv(runtime.NAMES_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(runtime, "NAMES_URL", "http://127.0.0.1:9/names.txt")
    with pytest.raises(runtime.DataError) as info:
        runtime.load_words()
    message = str(info.value)
    where = str(tmp_path / "cache" / "makemore-mlp" / "names.txt")  # outside the section: never handed in
    assert "could not be downloaded" in message and where in message and runtime.NAMES_ENV in message
    assert info.value.__cause__ is None and info.value.__suppress_context__  # one message, not a chain


def test_the_first_run_downloads_into_the_users_cache_and_later_runs_read_it(good, tmp_path, monkeypatch):
    monkeypatch.delenv(runtime.NAMES_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = tmp_path / "03_training"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.setattr(runtime, "NAMES_URL", good.as_uri())
    cached = tmp_path / "cache" / "makemore-mlp" / "names.txt"
    assert runtime.names_path() == cached and runtime.sha256(cached) == runtime.NAMES_SHA256
    assert list(folder.iterdir()) == [], "nothing is written into the section's folder"
    monkeypatch.setattr(runtime, "NAMES_URL", "http://127.0.0.1:9/names.txt")  # offline now
    assert runtime.names_path() == cached
    cached.write_text("emma\n")
    with pytest.raises(runtime.DataError, match="not the makemore names.txt"):
        runtime.names_path()


def test_student_copy_next_to_the_notebook_is_found_and_verified(good, tmp_path, monkeypatch):
    monkeypatch.delenv(runtime.NAMES_ENV, raising=False)
    folder = tmp_path / "03_training"
    folder.mkdir()
    shutil.copy(good, folder / "names.txt")
    monkeypatch.chdir(folder)
    assert runtime.names_path() == folder / "names.txt"
    (folder / "names.txt").write_text("emma\n")
    with pytest.raises(runtime.DataError, match="not the makemore names.txt"):
        runtime.names_path()
