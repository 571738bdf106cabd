"""``bisearch serve``: a local search page and a JSON API over one index.

The app is read-only: it opens the index with :meth:`search.Index.open` and
only ever searches it. Document ids are looked up in the index, never turned
into file paths. Every error is JSON with a proper status (see
:class:`ErrorBody`), and the page (``search/static/``) loads nothing from
outside: its script, style and font are all served from here, and the
Content-Security-Policy says so to the browser as well.

This module imports FastAPI at the top, so only import it when serving
(``pip install 'bisearch[web]'``); ``import search`` never does.
"""

from __future__ import annotations

import os
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Literal

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException

from search.engine import Index
from search.errors import BisearchError, IndexStateError, QueryError
from search.query import MAX_QUERY_CHARS

STATIC_DIR = Path(__file__).resolve().parent / "static"

#: Longest query the API accepts (the engine's own limit is higher).
MAX_WEB_QUERY_CHARS = min(500, MAX_QUERY_CHARS)
MAX_LIMIT = 100
MAX_OFFSET = 10_000

#: Hosts a browser may call us by when bound to loopback (a DNS-rebinding
#: page then cannot read the index); "testserver" is the test client's.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]", "testserver")

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; font-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


# -- response models (they are also the OpenAPI description) ----------------
class ErrorBody(BaseModel):
    """Every error the API returns."""

    status: int = Field(description="The HTTP status, repeated.")
    error: str = Field(description="A stable code: bad_query, bad_parameter, not_found, index_unavailable, internal.")
    message: str = Field(description="One line for a person.")
    hint: str | None = Field(default=None, description="What to do next, if there is something.")


class SnippetModel(BaseModel):
    text: str
    offset: int = Field(description="Where the snippet starts in the document (characters).")
    highlights: list[list[int]] = Field(description="Half-open [start, end) character ranges into the snippet text.")


class HitModel(BaseModel):
    rank: int
    doc_id: str
    passage: int
    span: list[int] = Field(description="The passage's [start, end) in the document.")
    score: float
    lang: str = Field(description="fa, en or mixed.")
    title: str | None
    date: str | None = Field(description="ISO date, if the document has one.")
    source: str | None
    url: str | None
    snippet: SnippetModel
    matched: list[str] = Field(description="Index terms of the query found in this passage.")
    cross: bool = Field(default=False, description="True when the passage matched through the other language.")


class SearchResponse(BaseModel):
    query: str
    lang: str
    offset: int
    limit: int
    total: int = Field(description="Passages matching in all (this page is hits).")
    warnings: list[str] = Field(description="What the query parser repaired or ignored.")
    suggestion: str | None = Field(default=None, description="A did-you-mean query, when there is one.")
    seconds: float
    hits: list[HitModel]


class StatsResponse(BaseModel):
    documents: int
    passages: int
    languages: dict[str, int]
    size_bytes: int
    persian_stemmer: str


class DocumentResponse(BaseModel):
    id: str
    title: str | None
    lang: str = Field(description="fa or en when all passages agree, else mixed.")
    date: str | None
    source: str | None
    url: str | None
    passages: int
    text: str = Field(description="The text as indexed (passages at their original offsets).")


ERROR_RESPONSES = {
    400: {"model": ErrorBody, "description": "Bad query or parameter."},
    503: {"model": ErrorBody, "description": "The index cannot be read."},
}


# -- helpers -----------------------------------------------------------------
def _error(status: int, code: str, message: str, hint: str | None = None) -> JSONResponse:
    body = ErrorBody(status=status, error=code, message=message, hint=hint)
    return JSONResponse(body.model_dump(), status_code=status)


def _describe_validation(exc: RequestValidationError) -> tuple[str, str | None]:
    parts, hint = [], None
    for err in exc.errors():
        loc = [str(x) for x in err.get("loc", ()) if x not in ("query", "path")]
        name = ".".join(loc) or "request"
        if name == "q" and err.get("type") == "string_too_long":
            parts.append(f"query is too long (limit {MAX_WEB_QUERY_CHARS} characters)")
            hint = "search for the key words, not the whole text"
        elif name == "q" and err.get("type") in ("string_too_short", "string_pattern_mismatch"):
            parts.append("empty query")
            hint = "type some words, e.g. Isfahan or همکاری"
        elif name == "q" and err.get("type") == "missing":
            parts.append("no query given")
            hint = "add ?q=words, e.g. ?q=Isfahan or ?q=همکاری"
        else:
            parts.append(f"{name}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request", hint or "see /api/openapi.json for the parameters"


def _suggestion(results) -> str | None:
    """The did-you-mean query, if the engine offers one (a later feature)."""
    s = getattr(results, "suggestion", None)
    if s is None or isinstance(s, str):
        return s or None
    return str(getattr(s, "query", None) or getattr(s, "text", None) or s) or None


def _hit_dict(hit) -> dict:
    d = hit.to_dict()
    d["cross"] = bool(getattr(hit, "cross", False))
    return d


def _document(ix: Index, doc_id: str) -> DocumentResponse | None:
    """A document's metadata and text, looked up in the index by id only."""
    text = ix.document_text(doc_id)
    if text is None:
        return None
    # The engine has no public per-document metadata call yet; the stored
    # fields of its passages hold it (title, date, ... are the same on each).
    searcher = ix._current_searcher()
    fields = sorted(searcher.documents(doc_id=doc_id), key=lambda f: f["ordinal"])
    first = fields[0] if fields else {}
    langs = {f.get("lang") for f in fields}
    date = first.get("date")
    return DocumentResponse(
        id=doc_id,
        title=first.get("title"),
        lang=langs.pop() if len(langs) == 1 else "mixed",
        date=date.date().isoformat() if date else None,
        source=first.get("source"),
        url=first.get("url"),
        passages=len(fields),
        text=text,
    )


class HostCheck:
    """Answer 400 (as JSON) to a Host header not in ``allowed_hosts``.

    A server on loopback is still reachable from any web page the user opens;
    a page on a rebound DNS name would send its own Host, and gets nothing.
    """

    def __init__(self, app, allowed_hosts: Sequence[str]) -> None:
        self.app = app
        self.allowed = {h.lower() for h in allowed_hosts}

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] in ("http", "websocket"):
            host = Headers(scope=scope).get("host", "")
            name = host[: host.find("]") + 1] if host.startswith("[") else host.split(":", 1)[0]
            if name.lower() not in self.allowed:
                response = _error(400, "bad_host", f"unexpected Host header {host!r}", "open the page at http://127.0.0.1:PORT/")
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


# -- the app -----------------------------------------------------------------
def create_app(index_path: str | os.PathLike, *, allowed_hosts: Sequence[str] | None = LOOPBACK_HOSTS) -> FastAPI:
    """The ASGI app serving ``index_path`` (IndexNotFound if there is none).

    ``allowed_hosts`` are the Host header values accepted (None or ``["*"]``
    accepts any, for a server deliberately bound beyond loopback).
    """
    ix = Index.open(index_path)
    lock = threading.Lock()  # one Whoosh searcher, shared by the worker threads

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        with lock:
            ix.close()

    app = FastAPI(
        title="bisearch",
        summary="Bilingual Persian + English full-text search (read-only).",
        version=_version(),
        docs_url=None,  # Swagger UI loads from a CDN: no external requests
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
    )
    app.state.index = ix
    if allowed_hosts and "*" not in allowed_hosts:
        app.add_middleware(HostCheck, allowed_hosts=allowed_hosts)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        for k, v in SECURITY_HEADERS.items():
            response.headers.setdefault(k, v)
        return response

    # -- errors: JSON with a status, never an HTML page or a traceback --
    @app.exception_handler(QueryError)
    async def query_error(_request: Request, exc: QueryError) -> JSONResponse:
        return _error(400, "bad_query", exc.message, exc.hint)

    @app.exception_handler(IndexStateError)
    async def index_error(_request: Request, exc: IndexStateError) -> JSONResponse:
        return _error(503, "index_unavailable", exc.message, exc.hint)

    @app.exception_handler(BisearchError)
    async def bisearch_error(_request: Request, exc: BisearchError) -> JSONResponse:
        return _error(500, "internal", exc.message, exc.hint)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        message, hint = _describe_validation(exc)
        return _error(400, "bad_parameter", message, hint)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        response = _error(exc.status_code, code, str(exc.detail))
        for k, v in (exc.headers or {}).items():
            response.headers[k] = v
        return response

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        return _error(500, "internal", f"internal error: {type(exc).__name__}", "report this with the query that caused it")

    # -- API --
    @app.get("/api/search", response_model=SearchResponse, responses=ERROR_RESPONSES, tags=["search"])
    def api_search(
        q: Annotated[
            str,
            Query(
                min_length=1,
                max_length=MAX_WEB_QUERY_CHARS,
                pattern=r"\S",
                description="Whoosh syntax, both languages at once (at least one non-space character).",
            ),
        ],
        lang: Annotated[Literal["all", "fa", "en", "mixed"], Query(description="fa/en keep mixed passages too.")] = "all",
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 10,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    ) -> SearchResponse:
        """Ranked passages, with highlights as character offsets into each snippet."""
        if not q.strip():
            raise QueryError("empty query", query=q, hint="type some words, e.g. Isfahan or همکاری")
        with lock:
            results = ix.search(q, limit=limit, offset=offset, lang=None if lang == "all" else lang)
            hits = [_hit_dict(h) for h in results.hits]
        return SearchResponse(
            query=results.query,
            lang=lang,
            offset=offset,
            limit=limit,
            total=results.total,
            warnings=list(results.warnings),
            suggestion=_suggestion(results),
            seconds=round(results.seconds, 6),
            hits=hits,
        )

    @app.get("/api/stats", response_model=StatsResponse, responses={503: ERROR_RESPONSES[503]}, tags=["index"])
    def api_stats() -> StatsResponse:
        """Documents, passages, passages per language and size of the index."""
        with lock:
            st = ix.stats()
        return StatsResponse(
            documents=st.documents,
            passages=st.passages,
            languages=dict(st.languages),
            size_bytes=st.size_bytes,
            persian_stemmer=st.persian_stemmer,
        )

    @app.get(
        "/api/documents/{doc_id:path}",
        response_model=DocumentResponse,
        responses={404: {"model": ErrorBody, "description": "No document with that id."}, 503: ERROR_RESPONSES[503]},
        tags=["index"],
    )
    def api_document(doc_id: str) -> DocumentResponse:
        """One document by its index id (ids may contain slashes; percent-encode them)."""
        with lock:
            doc = _document(ix, doc_id)
        if doc is None:
            raise StarletteHTTPException(404, f"no document with id {doc_id!r} in this index")
        return doc

    # -- the page --
    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    _strip_unused_422(app)
    return app


def _strip_unused_422(app: FastAPI) -> None:
    """FastAPI documents a 422 on every route with parameters; ours answer 400."""
    original = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = original()
            for item in schema.get("paths", {}).values():
                for op in item.values():
                    op.get("responses", {}).pop("422", None)
            for name in ("HTTPValidationError", "ValidationError"):
                schema.get("components", {}).get("schemas", {}).pop(name, None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi


def _version() -> str:
    from search import __version__

    return __version__
