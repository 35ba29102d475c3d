"""The embedded cluster survives being moved or copied, odd paths, deep paths and concurrent starts."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from pathlib import Path

import psycopg
import pytest
import sqlalchemy

from aurora_cli.db.cluster import PORT, SOCKET_PATH_MAX, EmbeddedCluster
from aurora_cli.errors import DatabaseUnavailable


@pytest.fixture
def short_tmp():
    """A short private directory (Unix socket paths are limited), removed with its clusters."""
    root = Path(tempfile.mkdtemp(prefix="au-"))
    clusters: list[EmbeddedCluster] = []
    yield root, clusters
    for cluster in clusters:
        try:
            cluster.stop()
        except DatabaseUnavailable:
            pass
    shutil.rmtree(root, ignore_errors=True)


def _new(clusters: list[EmbeddedCluster], data_dir: Path) -> EmbeddedCluster:
    cluster = EmbeddedCluster(data_dir, fast=True)
    clusters.append(cluster)
    return cluster


def _data_directory(url: str) -> str:
    with psycopg.connect(url) as conn:
        return conn.execute("SHOW data_directory").fetchone()[0]


def _socket(cluster: EmbeddedCluster) -> Path:
    return cluster.socket_dir / f".s.PGSQL.{PORT}"


def test_copied_and_moved_data_dirs_use_their_own_socket(short_tmp):
    root, clusters = short_tmp
    a = _new(clusters, root / "a")
    a.init()
    a.start()
    a.stop()
    assert str(a.socket_dir) not in (a.pgdata / "postgresql.auto.conf").read_text()

    # A copy runs next to the original; each URL reaches its own cluster.
    shutil.copytree(a.data_dir, root / "b", symlinks=True)
    b = _new(clusters, root / "b")
    b.start()
    a.start()
    assert _data_directory(b.url("postgres")) == str(b.pgdata)
    assert _data_directory(a.url("postgres")) == str(a.pgdata)
    a.stop()
    b.stop()

    # A moved data directory starts where it now is.
    os.rename(a.data_dir, root / "c")
    c = _new(clusters, root / "c")
    c.start()
    assert _socket(c).exists() and not _socket(a).exists()
    assert _data_directory(c.url("postgres")) == str(c.pgdata)


def test_socket_dir_on_command_line_beats_old_conf_setting(short_tmp):
    """Clusters created by older Aurora have unix_socket_directories in postgresql.auto.conf."""
    root, clusters = short_tmp
    elsewhere = root / "elsewhere"
    elsewhere.mkdir(mode=0o777)
    elsewhere.chmod(0o777)
    cluster = _new(clusters, root / "old")
    cluster.init()
    with open(cluster.pgdata / "postgresql.auto.conf", "a", encoding="utf-8") as handle:
        handle.write(f"unix_socket_directories = '{elsewhere}'\n")
    cluster.start()
    assert _socket(cluster).exists()
    assert not any(elsewhere.iterdir())
    assert _data_directory(cluster.url("postgres")) == str(cluster.pgdata)


def test_paths_with_spaces_quotes_and_url_specials(short_tmp):
    root, clusters = short_tmp
    cluster = _new(clusters, root / "a b'c\"d$e`f+g%h&i=j#k?l;m")
    cluster.init()
    cluster.start()
    url = cluster.url("postgres")
    assert " " not in url and "'" not in url and '"' not in url and "#" not in url
    assert _data_directory(url) == str(cluster.pgdata)
    engine = sqlalchemy.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            assert conn.execute(sqlalchemy.text("SHOW data_directory")).scalar() == str(cluster.pgdata)
    finally:
        engine.dispose()
    same = cluster.url("postgres", driver="postgresql+psycopg")
    assert same == url.replace("postgresql://", "postgresql+psycopg://")
    assert str(root) not in (cluster.pgdata / "postgresql.auto.conf").read_text()
    assert cluster.stop() is True and not cluster.is_running()


def _deep_dir(root: Path, socket_path_bytes: int) -> Path:
    """A data directory whose socket path is exactly `socket_path_bytes` long."""
    tail = len(os.fsencode(Path("/run") / f".s.PGSQL.{PORT}"))
    pad = socket_path_bytes - tail - len(os.fsencode(root)) - 1
    data_dir = root / ("x" * pad)
    assert len(os.fsencode(data_dir / "run" / f".s.PGSQL.{PORT}")) == socket_path_bytes
    return data_dir


def test_socket_path_at_the_limit_works(short_tmp):
    root, clusters = short_tmp
    cluster = _new(clusters, _deep_dir(root, SOCKET_PATH_MAX))
    cluster.init()
    cluster.start()
    assert _data_directory(cluster.url("postgres")) == str(cluster.pgdata)


def test_socket_path_over_the_limit_is_refused_clearly(short_tmp):
    root, clusters = short_tmp
    deep = _new(clusters, _deep_dir(root, SOCKET_PATH_MAX + 1))
    with pytest.raises(DatabaseUnavailable) as refused:
        deep.init()
    message = str(refused.value)
    assert "107" in message and "AURORA_DATA_DIR" in message
    assert message.count(". ") == 0  # one sentence
    assert not deep.data_dir.exists()  # refused before anything was created

    # An existing cluster moved too deep: start refuses with the same sentence.
    short = _new(clusters, root / "s")
    short.init()
    deep.data_dir.parent.mkdir(parents=True, exist_ok=True)
    os.rename(short.data_dir, deep.data_dir)
    for attempt in (deep.start, deep.ensure_running):
        with pytest.raises(DatabaseUnavailable, match="107-byte limit"):
            attempt()
    assert not deep.is_running()


def test_concurrent_on_demand_starts(short_tmp):
    root, clusters = short_tmp
    cluster = _new(clusters, root / "c")
    cluster.init()
    lock = cluster.data_dir / ".start.lock"

    def one(barrier: threading.Barrier, errors: list[BaseException]) -> None:
        try:
            mine = EmbeddedCluster(cluster.data_dir, fast=True)
            barrier.wait()
            mine.ensure_running()  # each a separate object, as separate commands would be
            with psycopg.connect(mine.url("postgres")) as conn:
                conn.execute("SELECT 1")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    for _round in range(3):
        cluster.stop()
        barrier = threading.Barrier(6)
        errors: list[BaseException] = []
        threads = [threading.Thread(target=one, args=(barrier, errors)) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert cluster.is_running()
    info = lock.stat()
    assert info.st_mode & 0o777 == 0o600 and info.st_uid == os.geteuid()
