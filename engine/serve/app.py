"""The web app of `weipian serve` (Starlette): the page and its two calls, /api/preview and /api/check.

The file travels as the raw request body (the page sends the File object with fetch), so the server controls every
byte: it is streamed into a per-request folder under the size limit and that folder is deleted when the request
ends. Nothing is kept: the report and the ledger go back in the response. Requests must name this server in their
Host header and the API wants the X-Weipian header, which a foreign web page cannot send without a CORS preflight
this server never answers: no other site can make the browser upload to it. The page loads nothing from elsewhere
(Content-Security-Policy)."""
from __future__ import annotations

import json
import logging
import re
import tempfile
import time
from html import escape
from importlib import resources
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from engine.errors import InputError, PolicyError
from engine.limits import LIMITS, human_bytes
from engine.policy.policyset import PolicySet
from engine.serve.upload import UploadError, data_path, request_folder, save_stream, upload_name
from engine.serve.work import choices, column_preview, run_check

LOG = logging.getLogger("weipian.serve")
API_HEADER = "x-weipian"
LOCAL_HOSTS = ["127.0.0.1", "localhost", "::1"]
GENERIC_ERROR = "服务器内部错误：这是 weipian 的缺陷，不是检查结果。详细信息已记录在启动 weipian serve 的终端中，请把它提交给维护者。"
CSP = ("default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "connect-src 'self' blob:; frame-src 'self' blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'")
ASSETS = {"/": ("page.html", "text/html; charset=utf-8"), "/page.js": ("page.js", "text/javascript; charset=utf-8"),
          "/page.css": ("page.css", "text/css; charset=utf-8")}


def asset(name: str) -> str:
    return resources.files("engine.serve").joinpath("assets", name).read_text(encoding="utf-8")


def create_app(policies: PolicySet, hosts: list[str] | None = None) -> Starlette:
    """The app for `policies`; `hosts`: the Host header values accepted besides the local names."""

    async def page(request: Request) -> Response:
        name, media = ASSETS[request.url.path]
        return Response(asset(name), media_type=media)

    async def config(request: Request) -> Response:
        return JSONResponse({**choices(policies), "max_upload": LIMITS.upload_bytes,
                             "max_upload_text": human_bytes(LIMITS.upload_bytes)})

    async def api_preview(request: Request) -> Response:
        return await with_upload(request, lambda path, shown, q, folder: column_preview(
            path, shown, policies, q.get("year"), q.get("area_unit")))

    async def api_check(request: Request) -> Response:
        return await with_upload(request, lambda path, shown, q, folder: run_check(
            path, shown, policies, q.get("year"), q.get("as_of"), q.get("area_unit"), folder))

    routes = [Route(p, page) for p in ASSETS] + [
        Route("/api/config", config),
        Route("/api/preview", api_preview, methods=["POST"]),
        Route("/api/check", api_check, methods=["POST"]),
    ]
    middleware = [Middleware(Guard, hosts=LOCAL_HOSTS + list(hosts or []))]
    return Starlette(routes=routes, middleware=middleware, exception_handlers={HTTPException: http_error, Exception: server_error})


async def with_upload(request: Request, work) -> Response:
    """Save the body into a fresh request folder, run `work(path, shown name, query, folder)` in a worker thread,
    answer its dict as JSON, and delete the folder whatever happened."""
    if request.headers.get(API_HEADER) != "1":
        return error_json("请求缺少 X-Weipian 头：只接受本页面发出的上传", 403)
    started = time.monotonic()
    try:
        shown = upload_name(request.query_params.get("name"))
        declared = request.headers.get("content-length")
        with request_folder() as folder:
            upload = folder / shown
            await save_stream(request.stream(), upload, int(declared) if declared and declared.isdigit() else None)
            out = await run_in_threadpool(lambda: work(data_path(upload), shown, request.query_params, folder))
            text = scrub(json.dumps(out, ensure_ascii=False, default=str))
    except UploadError as e:
        return error_json(str(e), e.status)
    except InputError as e:
        return error_json("输入错误：" + scrub(str(e)), 400)
    except PolicyError as e:
        return error_json("政策错误：" + scrub("；".join(d.message for d in e.diagnostics)), 400)
    except Exception:  # noqa: BLE001 - a bug: logged with its traceback, the page gets a generic message
        LOG.exception("内部错误：%s", request.url.path)
        return error_json(GENERIC_ERROR, 500)
    LOG.info("%s %s：%.1f 秒", request.url.path.rsplit("/", 1)[-1], shown, time.monotonic() - started)
    return Response(text, media_type="application/json; charset=utf-8")


def scrub(text: str) -> str:
    """Answers and error texts name the uploaded file, never the server's temporary folder."""
    return re.sub(re.escape(str(Path(tempfile.gettempdir()))) + r"/weipian-serve-[^/\s]+/", "", text)


def error_json(message: str, status: int) -> Response:
    return JSONResponse({"error": message}, status_code=status)


async def http_error(request: Request, exc: HTTPException) -> Response:
    words = {404: "找不到这个页面", 405: "不支持这种请求方式", 400: "请求不正确"}.get(exc.status_code, "请求无法处理")
    if request.url.path.startswith("/api/"):
        return error_json(words, exc.status_code)
    return error_page(words, exc.status_code)


async def server_error(request: Request, exc: Exception) -> Response:
    LOG.error("内部错误：%s %s", request.method, request.url.path, exc_info=exc)
    if request.url.path.startswith("/api/"):
        return error_json(GENERIC_ERROR, 500)
    return error_page(GENERIC_ERROR, 500)


def error_page(message: str, status: int) -> Response:
    body = (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(message)}</title></head>'
            f'<body><h1>{escape(message)}</h1><p><a href="/">返回首页</a></p></body></html>')
    return HTMLResponse(body, status_code=status)


def host_of(header: str) -> str:
    """The host of a Host header without its port: 127.0.0.1:8765 → 127.0.0.1, [::1]:8765 → ::1."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class Guard:
    """Every request names this server in its Host header (a page of another site that a DNS trick points at
    127.0.0.1 names its own host); every response forbids external loads, sniffing, referrers and foreign framing."""

    def __init__(self, app, hosts: list[str]):
        self.app = app
        self.hosts = {h.lower() for h in hosts}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                headers += [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
                            (b"referrer-policy", b"no-referrer"), (b"cache-control", b"no-store")]
                message = {**message, "headers": headers}
            await send(message)

        host = host_of(dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1"))
        if "*" not in self.hosts and host not in self.hosts:
            refused = error_page(f"请求的主机名「{host}」不是本服务器的地址，已拒绝（请用 weipian serve 显示的地址打开）", 400)
            return await refused(scope, receive, send_with_headers)
        await self.app(scope, receive, send_with_headers)
