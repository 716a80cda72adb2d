"""The Gremlin console: one-shot -e use, multi-line input, readable output, on every backend."""

from __future__ import annotations

import pytest

from gremlin.console import format_value, main, needs_more_input


def test_needs_more_input_while_brackets_or_strings_are_open():
    assert needs_more_input("g.V().has('name',")
    assert needs_more_input("g.V().\n")
    assert needs_more_input("g.inject('a)")
    assert not needs_more_input("g.inject(')(')")
    assert not needs_more_input("g.V().count()")


def test_one_shot_execute_prints_results(capsys):
    assert main(["memory://", "-e", "g.inject(1, 2).fold()"]) == 0
    assert capsys.readouterr().out == "==>[1, 2]\n"


def test_syntax_error_is_reported_with_position(capsys):
    assert main(["memory://", "-e", "g.V().has('x' 'y')"]) == 1
    err = capsys.readouterr().err
    assert "line 1" in err and "column" in err


def test_format_value_uses_console_notation():
    from gremlin_python.structure.graph import Edge, Vertex
    assert format_value(Vertex("1", "person")) == "v[1]"
    assert format_value(Edge("7", Vertex("1"), "knows", Vertex("2"))) == "e[7][1-knows->2]"
    assert format_value({"a": [True, None]}) == "[a:[true, null]]"


def test_console_runs_against_each_backend(backend_url, capsys):
    assert main([backend_url, "-e", "g.addV('person').property('name','marko').values('name')"]) == 0
    assert capsys.readouterr().out == "==>marko\n"


def test_interactive_session_reads_multiline_input(monkeypatch, capsys):
    lines = iter(["g.inject(1,", "2).sum()", ":q"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(lines))
    monkeypatch.setattr("gremlin.console.HISTORY", "/dev/null")
    assert main(["memory://"]) == 0
    assert "==>3" in capsys.readouterr().out


@pytest.mark.parametrize("text", ["g.V().count().next()", "g.V().count().toList()"])
def test_terminal_steps(text, capsys):
    assert main(["memory://", "-e", text]) == 0
    assert capsys.readouterr().out == "==>0\n"


@pytest.mark.integration
def test_the_console_authenticates_with_a_user_and_password(monkeypatch, capsys):
    import gremlin
    from gremlin.server import running_server
    with running_server(gremlin.Graph(), credentials={"acme": "s3cret"}) as url:
        monkeypatch.setenv("GREMLIN_PASSWORD", "s3cret")
        assert main([url, "--user", "acme", "-e", "g.inject(7)"]) == 0
        assert capsys.readouterr().out == "==>7\n"
        assert main([url, "--user", "acme", "--password", "wrong", "-e", "g.inject(7)"]) == 1
        assert "incorrect" in capsys.readouterr().err
        monkeypatch.delenv("GREMLIN_PASSWORD")
        monkeypatch.setattr("sys.stdin", __import__("io").StringIO("s3cret\n"))
        assert main([url, "--user", "acme", "-e", "g.inject(8)"]) == 0
        assert capsys.readouterr().out == "==>8\n"
        assert main([url, "-e", "g.inject(7)"]) == 1  # no credentials: refused
