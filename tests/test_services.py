"""The private PostgreSQL and Redis servers of ``tests/services.py``."""

from __future__ import annotations

import socket

import pytest

from tests.services import (
    HOST,
    POSTGRES_BINARIES,
    PostgresServer,
    RedisServer,
    require,
)


def refuses_connections(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex((HOST, port)) != 0


def test_postgres_server_serves_a_new_database_then_leaves_nothing() -> None:
    import psycopg

    require(*POSTGRES_BINARIES)
    with PostgresServer() as server:
        server.create_database("services_check")
        server.create_database("services_check")  # drops the first one
        entry = server.django_database("services_check")
        with psycopg.connect(
            host=entry["HOST"],
            port=entry["PORT"],
            user=entry["USER"],
            dbname=entry["NAME"],
        ) as connection:
            row = connection.execute(
                "SELECT current_database(), current_setting('fsync'), 6 * 7"
            ).fetchone()
        assert row == ("services_check", "off", 42)
        assert entry["TEST"] == {"NAME": "test_services_check"}
        port, directory = server.port, server.directory
        assert directory is not None and directory.is_dir()
    assert refuses_connections(port)
    assert not directory.exists()


def test_redis_server_stores_values_then_leaves_nothing() -> None:
    import redis

    require("redis-server")
    with RedisServer() as server:
        assert server.url == f"redis://127.0.0.1:{server.port}/0"
        with redis.Redis.from_url(server.url) as client:
            client.set("key", "value")
            assert client.get("key") == b"value"
            server.flush()
            assert client.get("key") is None
        port, directory = server.port, server.directory
        assert directory is not None and directory.is_dir()
    assert refuses_connections(port)
    assert not directory.exists()


def test_redis_url_fixture_empties_the_session_server(
    redis_server: RedisServer, request: pytest.FixtureRequest
) -> None:
    import redis

    with redis.Redis.from_url(redis_server.url) as client:
        client.set("left over", "by another test")
        url = request.getfixturevalue("redis_url")
        assert url == redis_server.url
        assert client.dbsize() == 0


@pytest.mark.parametrize(
    ("ci", "outcome"),
    [
        ("", pytest.skip.Exception),
        ("false", pytest.skip.Exception),
        ("true", pytest.fail.Exception),
        ("1", pytest.fail.Exception),
    ],
)
def test_a_missing_binary_skips_but_fails_in_ci(
    monkeypatch: pytest.MonkeyPatch, ci: str, outcome: type[BaseException]
) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="apt-get install postgresql redis-server"):
        require("no-such-binary-for-djdt")
