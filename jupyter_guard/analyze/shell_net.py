"""Shell rules for commands that upload or download. One pure function each.

Hosts are lower-cased, without user, port or path; for buckets (s3://b, gs://b, remote:b) the
host is the bucket.
"""
from __future__ import annotations

from jupyter_guard.analyze.shell_opts import (
    Ctx,
    demo,  # noqa: F401 - used by docstring examples
    download,
    files,
    host_of,
    is_remote,
    parse_opts,
    upload,
)
from jupyter_guard.model import Analysis, Intent

_CURL_ARG = "AbcCdDeEFHKmoPQrTtuUwxXyYz"
_CURL_LONG = ("--data", "--data-raw", "--data-binary", "--data-ascii", "--data-urlencode",
              "--json", "--form", "--form-string", "--upload-file", "--request", "--url",
              "--output", "--header", "--user", "--user-agent", "--referer", "--cookie",
              "--cookie-jar", "--max-time", "--connect-timeout", "--proxy", "--cert", "--key",
              "--cacert", "--config", "--write-out", "--retry", "--range", "--output-dir")
_BODY = ("-d", "--data", "--data-raw", "--data-binary", "--data-ascii", "--data-urlencode",
         "--json", "-F", "--form", "--form-string", "-T", "--upload-file")


def curl(ctx: Ctx, argv: list[str]) -> Analysis:
    """``curl -d @f URL`` / ``curl -X POST URL`` -> net.upload; ``curl URL`` -> net.download.

    >>> demo('curl -d @a.csv https://h.example/u')
    [('net.upload', 'h.example'), ('file.read', 'a.csv')]
    """
    o = parse_opts(argv[1:], _CURL_ARG, _CURL_LONG)
    method = (o.get("-X", "--request") or [""])[-1].upper()
    up = bool(o.get(*_BODY)) or method in ("POST", "PUT", "PATCH")
    urls = list(o.args) + o.get("--url")
    out = tuple((upload if up else download)(ctx, host_of(u), "curl") for u in urls)
    body = [v.partition("@")[2] or v for v in o.get(*_BODY) if "@" in v] + o.get("-T")
    out += files(ctx, "file.read", [b for b in body if b and b != "-" and "=" not in b])
    return Analysis(out + files(ctx, "file.truncate", o.get("-o", "--output")))


def wget(ctx: Ctx, argv: list[str]) -> Analysis:
    """``wget --post-file f URL`` -> net.upload; ``wget URL`` -> net.download.

    >>> demo('wget https://h.example/f')
    [('net.download', 'h.example')]
    """
    o = parse_opts(argv[1:], "OoaPetTwUiBQlARDIX",
                   ("--post-data", "--post-file", "--body-data", "--body-file", "--method",
                    "--output-document", "--header", "--user", "--password"))
    method = (o.get("--method") or [""])[-1].upper()
    up = bool(o.get("--post-data", "--post-file", "--body-data", "--body-file")) or \
        method in ("POST", "PUT", "PATCH")
    out = tuple((upload if up else download)(ctx, host_of(u), "wget") for u in o.args)
    out += files(ctx, "file.read", o.get("--post-file", "--body-file"))
    return Analysis(out + files(ctx, "file.truncate", o.get("-O", "--output-document")))


def copy_remote(ctx: Ctx, argv: list[str]) -> Analysis:
    """``scp f host:p`` / ``rsync -a d/ host:p`` -> net.upload to host; remote source -> download.

    >>> demo('scp a me@box:/tmp')
    [('file.read', 'a'), ('net.upload', 'box')]
    """
    o = parse_opts(argv[1:], "PioFclSJef", ("--rsh", "--exclude", "--include", "--filter"))
    if len(o.args) < 2:
        return Analysis()
    *srcs, dst = o.args
    out = tuple(download(ctx, host_of(s)) for s in srcs if is_remote(s))
    out += files(ctx, "file.read", [s for s in srcs if not is_remote(s)])
    if is_remote(dst):
        out += (upload(ctx, host_of(dst), argv[0]),)
    else:   # a local copy: over ``dst`` (a file), or over what ``dst/<name>`` holds (a folder;
        # ``src/`` copies the folder's content over ``dst`` itself)
        over = [dst if s.endswith("/") else f"{dst.rstrip('/')}/{s.rstrip('/').rpartition('/')[2]}"
                for s in srcs]
        deletes = any(f.startswith("--delete") for f in o.flags)
        out += files(ctx, "file.truncate", [dst]) + files(ctx, "file.truncate", over, True) + (
            files(ctx, "file.delete", [dst], True) if deletes else ())
        if "--remove-source-files" in o.flags:
            out += files(ctx, "file.delete", [s for s in srcs if not is_remote(s)], True)
    return Analysis(out)


_CLOUD_VERBS = frozenset({"cp", "sync", "mv", "rsync", "copy", "copyto", "move", "moveto"})
_CLOUD_ARG = frozenset({"--profile", "--region", "--exclude", "--include", "--acl",
                        "--storage-class", "--endpoint-url", "--content-type", "--expires",
                        "--cache-control", "--metadata", "--sse", "--output", "--config",
                        "-o", "-h", "-x"})


def cloud(ctx: Ctx, argv: list[str]) -> Analysis:
    """``aws s3 cp f s3://b/k`` / ``gsutil cp`` / ``rclone copy`` -> net.upload, host = bucket.

    >>> demo('aws s3 cp a s3://bkt/k')
    [('net.upload', 'bkt'), ('file.read', 'a')]
    """
    pos: list[str] = []
    skip = False
    for a in argv[1:]:
        if skip or a in _CLOUD_ARG:
            skip = not skip
        elif not a.startswith("-"):
            pos.append(a)
    verb = next((n for n, a in enumerate(pos) if a in _CLOUD_VERBS | {"rm"}), None)
    if verb is None:
        return Analysis()
    args = pos[verb + 1:]
    if pos[verb] == "rm":
        return Analysis(tuple(Intent("file.delete", "path", a, remote=True, source=ctx.source,
                                     recursive="--recursive" in argv) for a in args))
    if len(args) < 2:
        return Analysis()
    src, dst = args[0], args[-1]
    out: tuple[Intent, ...] = ()
    if is_remote(dst):
        out += (upload(ctx, _bucket(dst), argv[0]),) + files(ctx, "file.read", [src])
        if pos[verb] in ("mv", "move", "moveto"):
            out += files(ctx, "file.move", [src])
    elif is_remote(src):
        out += (download(ctx, _bucket(src), argv[0]),) + files(ctx, "file.write", [dst])
    return Analysis(out)


def _bucket(url: str) -> str:
    return host_of(url) if "://" in url else url.split("/")[0]


def netcat(ctx: Ctx, argv: list[str]) -> Analysis:
    """``nc host 80 < f`` / ``socat - TCP:host:80`` / ``ssh host`` / ``sftp host`` -> upload.

    >>> demo('nc h.example 80')
    [('net.upload', 'h.example')]
    """
    name = argv[0].rpartition("/")[2]
    if name == "socat":
        hosts = [a.split(":")[1] for a in argv[1:] if a.upper().startswith(
            ("TCP", "UDP", "OPENSSL", "SSL")) and a.count(":") >= 2]
    else:
        o = parse_opts(argv[1:], "psSwiqxXeIOTVlbcDEFJLmoQRW" if name != "nc" else "pswiqxXeIOTV")
        if o.has("-l") and name in ("nc", "ncat", "netcat"):
            return Analysis()
        hosts = [host_of(o.args[0])] if o.args else []
    return Analysis(tuple(upload(ctx, h, name) for h in hosts))


NET_RULES = {
    "curl": curl, "wget": wget, "scp": copy_remote, "rsync": copy_remote,
    "aws": cloud, "gsutil": cloud, "gcloud": cloud, "rclone": cloud, "azcopy": cloud,
    **dict.fromkeys(("nc", "ncat", "netcat", "socat", "ssh", "sftp", "ftp", "telnet"), netcat),
}
