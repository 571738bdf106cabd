"""The ``bisearch`` command: a thin click shell over :class:`search.Index`.

Every command mirrors a library call. Library errors become one-line messages
with a hint and a documented exit code; a traceback is a bug (set
``BISEARCH_DEBUG=1`` to see one anyway).

Exit codes: 0 success · 1 unexpected error · 2 bad usage or query ·
3 some input was skipped (the rest was indexed; for remove: unknown ids) ·
4 index missing, unusable, damaged, read-only, out of space or of another
version · 5 index locked by another writer · 130 interrupted.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import sys
from pathlib import Path

import click

from search import config
from search.errors import BisearchError
from search.model import Hit

EXIT_SKIPPED = 3
EXIT_INTERRUPTED = 130

_INDEX_OPTION = click.option(
    "--index",
    "index_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help=f"Index directory [env {config.ENV_INDEX}; default {config.default_index_dir()}].",
)

_WAIT_OPTION = click.option(
    "--wait",
    type=click.FloatRange(0),
    default=0,
    metavar="SECONDS",
    help="If another writer holds the index, wait up to SECONDS for it (default: fail at once, exit 5).",
)


def _fail(message: str, hint: str | None, code: int) -> None:
    click.secho(f"Error: {message}", fg="red", err=True)
    if hint:
        click.echo(f"Hint: {hint}", err=True)
    sys.exit(code)


def handle_errors(fn):
    """Turn library errors into messages and exit codes, never tracebacks."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except BisearchError as exc:
            _fail(exc.message, exc.hint, exc.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted; nothing from this run was committed", None, EXIT_INTERRUPTED)
        except BrokenPipeError:
            # `bisearch search … | head`: the reader left; that is not an error.
            # Point stdout at /dev/null so the interpreter's final flush is quiet.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(0)
        except (click.ClickException, click.exceptions.Exit, SystemExit):
            raise
        except Exception as exc:  # a bug, but the user still gets one line
            if os.environ.get("BISEARCH_DEBUG"):
                raise
            _fail(f"internal error: {type(exc).__name__}: {exc}", "re-run with BISEARCH_DEBUG=1 and report the traceback", 1)

    return wrapper


def _open(index_dir: Path | None, *, for_search: bool = False):
    from search.engine import Index, ensure_seed_index

    if index_dir is not None:
        return Index.open(index_dir)
    # No --index: the default index ($BISEARCH_INDEX or the per-user data
    # directory), built from the bundled seeds on first use.
    path = config.default_index_dir()
    if for_search:
        ensure_seed_index(path, log=lambda m: click.echo(m, err=True))
    return Index.open(path)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="bisearch", message="bisearch %(version)s")
def cli() -> None:
    """Bilingual Persian + English full-text search.

    \b
    bisearch search "Isfahan همکاری"      search (the bundled seeds by default)
    bisearch index docs/ --index idx     index .txt/.md/.jsonl files and folders
    bisearch update --index idx          re-read them: add, replace, remove what changed
    bisearch analyze "همکاری‌ها"          show the tokens the index stores
    """


# -- index -------------------------------------------------------------------
@cli.command("index")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@_INDEX_OPTION
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or per-file messages.")
@_WAIT_OPTION
@handle_errors
def index_cmd(paths: tuple[Path, ...], index_dir: Path | None, quiet: bool, wait: float) -> None:
    """Index files and folders (.txt, .md, .jsonl; folders recursively).

    Bad files are skipped with a message naming them (and the line, for
    JSONL); the good ones are still indexed. Exits 3 if anything was skipped.
    """
    from search.engine import Index
    from search.ingest import Skipped, iter_files

    path = index_dir or config.default_index_dir()
    sizes = {str(f.resolve()): f.stat().st_size for f, _root in iter_files(paths) if f.is_file()}
    total = sum(sizes.values()) or 1
    with Index(path) as ix:
        show = not quiet and sys.stderr.isatty()
        with click.progressbar(length=total, label="indexing", file=sys.stderr, hidden=not show) as bar:

            def progress(item) -> None:
                if isinstance(item, Skipped):
                    if not quiet:
                        click.secho(f"skipped {item.message()}", fg="yellow", err=True)
                    if item.line is None:
                        bar.update(sizes.get(str(Path(item.path).resolve()), 0))
                    return
                if item.path and item.path.endswith(".jsonl"):
                    bar.update(len(item.text.encode("utf-8")) + 64)
                else:
                    bar.update(sizes.get(item.path or "", 0))

            report = ix.add_paths(paths, progress=progress, wait=wait)
    _notes(report.notes)
    click.echo(f"{report.summary()} → {path}", err=True)
    if report.skipped:
        click.echo(f"{len(report.skipped)} skipped; fix them and run the same command again", err=True)
        sys.exit(EXIT_SKIPPED)


# -- search ------------------------------------------------------------------
def render_hit(hit: Hit, *, color: bool = True) -> str:
    """A hit for the terminal: a header line and the snippet, matches in bold yellow."""
    head = f"{hit.rank}. [{hit.lang}] {hit.title or hit.doc_id}"
    meta = [hit.doc_id, f"passage {hit.ordinal}", f"chars {hit.span.start}-{hit.span.end}"]
    if hit.date:
        meta.append(hit.date.isoformat())
    meta.append(f"score {hit.score:.2f}")
    if getattr(hit, "cross", False):
        meta.append("matched across languages")
    snip = hit.snippet
    out, pos = [], 0
    for h in snip.highlights:
        out.append(snip.text[pos : h.start])
        word = snip.text[h.start : h.end]
        out.append(click.style(word, fg="yellow", bold=True) if color else f"[{word}]")
        pos = h.end
    out.append(snip.text[pos:])
    body = "".join(out).replace("\n", " ")
    if snip.offset > hit.span.start:
        body = "…" + body
    if snip.offset + len(snip.text) < hit.span.end:
        body = body + "…"
    return f"{click.style(head, bold=True) if color else head}\n   {' · '.join(meta)}\n   {body}"


@cli.command("search")
@click.argument("query", nargs=-1, required=True)
@_INDEX_OPTION
@click.option("--limit", "-n", default=10, show_default=True, type=click.IntRange(1, 1000), help="Passages to show.")
@click.option("--offset", default=0, type=click.IntRange(0), help="Skip this many passages (paging).")
@click.option("--lang", type=click.Choice(["fa", "en", "mixed"]), help="Only passages in this language (and mixed ones).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON (highlights as offsets).")
@click.option("--no-cross", is_flag=True, help="Do not bridge to the other language (name keys, CLDR names).")
@handle_errors
def search_cmd(
    query: tuple[str, ...], index_dir: Path | None, limit: int, offset: int, lang: str | None, as_json: bool, no_cross: bool
) -> None:
    """Search passages. QUERY uses Whoosh syntax in both languages at once:

    \b
    AND / OR / NOT, "a phrase", prefix*, fuzzy~, and fields:
    lang:fa  title:Isfahan  source:seeds  date:[2024-01-01 TO 2025-12-31]
    """
    text = " ".join(query)
    with _open(index_dir, for_search=True) as ix:
        results = ix.search(text, limit=limit, offset=offset, lang=lang, cross=not no_cross)
    if as_json:
        click.echo(json.dumps(results.to_dict(), ensure_ascii=False, indent=2))
        return
    for w in results.warnings:
        click.secho(f"warning: {w}", fg="yellow", err=True)
    if results.suggestion:
        click.secho(f"did you mean: {results.suggestion}", fg="cyan", err=True)
    if not results.hits:
        if results.total:  # --offset went past the last page
            click.echo(f"{results.total} passages match {text!r}, none after --offset {offset}", err=True)
        else:
            click.echo(f"no passages match {text!r}", err=True)
        return
    color = sys.stdout.isatty()
    for hit in results:
        click.echo(render_hit(hit, color=color), color=color)
        click.echo()
    shown_to = offset + len(results)
    click.echo(f"{offset + 1}-{shown_to} of {results.total} passages ({results.seconds * 1000:.0f} ms)", err=True)


# -- stats -------------------------------------------------------------------
@cli.command("stats")
@_INDEX_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@handle_errors
def stats_cmd(index_dir: Path | None, as_json: bool) -> None:
    """Documents, passages, languages and size on disk."""
    with _open(index_dir) as ix:
        st = ix.stats()
    data = {
        "index": st.path,
        "documents": st.documents,
        "passages": st.passages,
        "languages": dict(st.languages),
        "size_bytes": st.size_bytes,
        "persian_stemmer": st.persian_stemmer,
    }
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    langs = ", ".join(f"{k} {v}" for k, v in st.languages.items()) or "none"
    click.echo(f"index      {st.path}")
    click.echo(f"documents  {st.documents}")
    click.echo(f"passages   {st.passages} ({langs})")
    click.echo(f"size       {st.size_bytes / 1e6:.2f} MB")


# -- analyze -----------------------------------------------------------------
@cli.command("analyze")
@click.argument("text", nargs=-1, required=True)
@click.option("--trace", is_flag=True, help="Show every analysis step for each token.")
@click.option(
    "--query", "as_query", is_flag=True, help="Show how TEXT is searched as a query: each rewriting step, on the index."
)
@click.option("--json", "as_json", is_flag=True, help="Print the tokens (or the query's steps) as JSON.")
@click.option("--lang", type=click.Choice(["fa", "en", "mixed"]), help="With --query: as `search --lang` (the filter it adds).")
@click.option("--no-cross", is_flag=True, help="With --query: as `search --no-cross` (no bridges to the other language).")
@_INDEX_OPTION
@handle_errors
def analyze_cmd(
    text: tuple[str, ...],
    trace: bool,
    as_query: bool,
    as_json: bool,
    lang: str | None,
    no_cross: bool,
    index_dir: Path | None,
) -> None:
    """Show the tokens the index stores for TEXT, with offsets (like _analyze).

    With --query, show how TEXT is searched instead: the parsed words, the
    glued spellings of spaced Persian compounds the index has, the bridges to
    the other language, the English neighbours whose proximity re-ranks, and
    whether `run` expands it as a topic. --lang and --no-cross show the
    query as `search` runs it with those options.
    """
    import analyzers
    from search.engine import analyze_text

    value = " ".join(text)
    if as_query:
        _explain(value, index_dir, as_json, lang=lang, cross=not no_cross)
        return
    if lang or no_cross:
        raise click.UsageError("--lang and --no-cross go with --query (how a query is searched)")
    ana = analyzers.BilingualAnalyzer()
    tokens = analyze_text(ana, value)
    chains = ana[-1].chains()
    rows = []
    for t in tokens:
        row = {"term": t.term, "start": t.start, "end": t.end, "position": t.position, "surface": t.surface, "script": t.script}
        if trace:
            joined = "".join(value[t.start : t.end].split())
            from analyzers.chars import fold

            row["steps"] = [{"step": "fold", "out": fold(joined)}] + [
                {"step": name, "out": out} for name, out in chains[t.script].trace(fold(joined))
            ]
        rows.append(row)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for r in rows:
        line = f"{r['start']:>5}-{r['end']:<5} pos {r['position']:<3} {r['script']:<5} {r['surface']!r:<24} → {r['term']}"
        click.echo(line)
        for s in r.get("steps", []):
            click.echo(f"{'':>18}{s['step']:<14} {s['out']}")


def _explain(query: str, index_dir: Path | None, as_json: bool, *, lang: str | None, cross: bool) -> None:
    with _open(index_dir, for_search=True) as ix:
        plan = ix.explain(query, lang=lang, cross=cross)
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(plan), ensure_ascii=False, indent=2))
        return
    rows = [
        ("query", plan.text),
        ("parsed", plan.parsed or "(nothing to search)"),
        ("compounds", ", ".join(plan.glued) or "-"),
        ("searched", plan.searched if plan.searched != plan.parsed else "(as parsed)"),
        ("proximity", ", ".join(f"{a} {b}" for a, b in plan.pairs) or "-"),
        ("filter", plan.filter or "-"),
        (
            "feedback",
            "on in `run` (a topic)" if plan.topic else "off in `run` (not a topic: a question, a sentence, or no words)",
        ),
    ]
    for label, value in rows:
        click.echo(f"{label:<10} {value}")
    for w in plan.warnings:
        click.secho(f"warning: {w}", fg="yellow", err=True)


# -- run / eval --------------------------------------------------------------
@cli.command("run")
@click.option(
    "--queries", "queries_path", required=True, type=click.Path(dir_okay=False, path_type=Path), help="JSONL with id and text."
)
@click.option(
    "--output", "-o", "output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="TREC run file to write."
)
@click.option(
    "--limit", default=1000, show_default=True, type=click.IntRange(1, 10000), help="Documents per query (trec_eval ranks 1000)."
)
@click.option("--tag", default="bisearch", show_default=True, help="Run tag (last column).")
@click.option(
    "--expand/--no-expand",
    default=None,
    help="Add the words of each query's best documents (pseudo-relevance feedback). "
    "Default: for queries that look like topics (a few keywords), not for questions or sentences.",
)
@_INDEX_OPTION
@handle_errors
def run_cmd(queries_path: Path, output: Path, limit: int, tag: str, expand: bool | None, index_dir: Path | None) -> None:
    """Batch search: one TREC line per document (its best passage's score)."""
    from search.errors import QueryError
    from search.evaluate import read_queries, write_run

    queries = read_queries(queries_path)
    run = {}
    failed = 0
    with (
        _open(index_dir) as ix,
        click.progressbar(queries, label="searching", file=sys.stderr, hidden=not sys.stderr.isatty()) as bar,
    ):
        for qid, text in bar:
            try:
                run[qid] = ix.search_documents(text, limit=limit, expand=expand)
            except QueryError as exc:
                failed += 1
                click.secho(f"query {qid}: {exc.message} (no results written)", fg="yellow", err=True)
                run[qid] = []
    tmp = output.with_name(output.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        write_run({q: d for q, d in run.items() if d}, fh, tag=tag)
    tmp.replace(output)
    click.echo(f"wrote {sum(len(v) for v in run.values())} lines for {len(run)} queries to {output}", err=True)


@cli.command("eval")
@click.option(
    "--qrels", required=True, type=click.Path(dir_okay=False, path_type=Path), help="qid docid rel (TSV) or TREC qrels."
)
@click.argument("run_path", metavar="RUN", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@handle_errors
def eval_cmd(qrels: Path, run_path: Path, as_json: bool) -> None:
    """MRR@10, Recall@10, Recall@100, nDCG@10 and MAP of a TREC run."""
    from search.evaluate import evaluate, format_metrics, read_qrels, read_run

    metrics = evaluate(read_run(run_path), read_qrels(qrels))
    if as_json:
        click.echo(json.dumps(metrics.as_dict(), indent=2))
    else:
        click.echo(format_metrics(metrics))


# -- update / remove / rebuild ------------------------------------------------
SHOWN_IDS = 10


def _notes(notes) -> None:
    for note in notes:
        click.secho(f"note: {note}", fg="cyan", err=True)


def _report_head(report, path: Path, as_json: bool) -> bool:
    """Print a write report as JSON, or its skips and notes on stderr.

    Returns True when the caller should go on to print the human summary.
    """
    if as_json:
        click.echo(json.dumps({"index": str(path), **report.to_dict()}, ensure_ascii=False, indent=2))
        return False
    for s in report.skipped:
        click.secho(f"skipped {s.message()}", fg="yellow", err=True)
    _notes(report.notes)
    return True


class _Ticker:
    """``written N document(s)…`` on a terminal's stderr while a long write runs."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.n = 0

    def __call__(self, item) -> None:
        from search.ingest import Skipped

        if self.enabled and not isinstance(item, Skipped):
            self.n += 1
            if self.n % 25 == 0:
                click.echo(f"\rwritten {self.n} document(s)…", nl=False, err=True)

    def done(self) -> None:
        if self.enabled and self.n >= 25:
            click.echo("\r" + " " * 40 + "\r", nl=False, err=True)


def _id_list(ids) -> str:
    shown = ", ".join(ids[:SHOWN_IDS])
    return shown + (f", … (+{len(ids) - SHOWN_IDS} more)" if len(ids) > SHOWN_IDS else "")


@cli.command("update")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@_INDEX_OPTION
@_WAIT_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@handle_errors
def update_cmd(paths: tuple[Path, ...], index_dir: Path | None, wait: float, as_json: bool) -> None:
    """Bring the index up to date with PATHs (default: every recorded source).

    \b
    New documents are added, changed ones (by content hash) re-indexed,
    documents whose file or JSONL line is gone from an indexed folder or file
    are removed, and unchanged ones are left alone: a second update of the same
    tree writes nothing. Creates the index if needed. Exits 3 if anything was
    skipped.
    """
    from search.engine import Index

    path = index_dir or config.default_index_dir()
    if paths:
        ix = Index(path)
    else:
        ix = Index.open(path)
        if not ix.sources():
            ix.close()
            raise click.UsageError("this index has no recorded sources yet; give the PATHs to index")
    ticker = _Ticker(not as_json)
    with ix:
        report = ix.sync(paths, wait=wait, progress=ticker)
    ticker.done()
    if _report_head(report, path, as_json):
        for label, ids in (("added", report.added), ("changed", report.changed), ("removed", report.removed)):
            click.echo(f"{label:<10}{len(ids):>7}  {_id_list(ids)}".rstrip())
        click.echo(f"{'unchanged':<10}{report.unchanged:>7}")
        click.echo(f"{'skipped':<10}{len(report.skipped):>7}")
        if report.committed:
            click.echo(f"committed {report.passages} passage(s) in {report.seconds:.1f}s → {path}")
        else:
            click.echo(f"nothing changed; nothing written ({report.seconds:.1f}s) → {path}")
    if report.skipped:
        sys.exit(EXIT_SKIPPED)


@cli.command("remove")
@click.argument("doc_ids", nargs=-1, required=True)
@_INDEX_OPTION
@_WAIT_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@handle_errors
def remove_cmd(doc_ids: tuple[str, ...], index_dir: Path | None, wait: float, as_json: bool) -> None:
    """Remove documents by id. Exits 3 if some ids were not in the index.

    A removed document whose file is still inside an indexed folder comes
    back with the next `update` of that folder: delete or move the file too.
    """
    with _open(index_dir) as ix:
        report = ix.remove(doc_ids, wait=wait)
    if as_json:
        click.echo(json.dumps({"index": str(ix.path), **report.to_dict()}, ensure_ascii=False, indent=2))
    else:
        _notes(report.notes)
        if report.unknown:
            click.secho(f"not in the index: {_id_list(report.unknown)}", fg="yellow", err=True)
        if report.still_on_disk:
            click.echo(
                f"note: {len(report.still_on_disk)} removed document(s) still have their source file; "
                "the next `update` of their folder adds them back unless the files are deleted",
                err=True,
            )
        click.echo(f"removed {len(report.removed)} document(s){': ' + _id_list(report.removed) if report.removed else ''}")
    if report.unknown:
        sys.exit(EXIT_SKIPPED)


@cli.command("rebuild")
@_INDEX_OPTION
@_WAIT_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@handle_errors
def rebuild_cmd(index_dir: Path | None, wait: float, as_json: bool) -> None:
    """Re-index every recorded source into a fresh index and swap it in atomically.

    \b
    Searches keep answering from the old index while it runs; none sees a
    half-built one. The cure for an index written by another bisearch
    version (new analyzers) or a damaged one. Exits 3 if anything was skipped.
    """
    from search.engine import rebuild

    path = index_dir or config.default_index_dir()
    ticker = _Ticker(not as_json)
    report = rebuild(path, wait=wait, progress=ticker)
    ticker.done()
    if _report_head(report, path, as_json):
        click.echo(f"{report.summary()} → {path}")
    if report.skipped:
        sys.exit(EXIT_SKIPPED)


# `serve` lives in its own module so that fastapi/uvicorn load only when it runs.
from search.serve_cmd import serve  # noqa: E402 - registered after the group exists

cli.add_command(serve)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="bisearch")
