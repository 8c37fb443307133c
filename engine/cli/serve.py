"""weipian serve：在本机打开网页，选择政策年度、拖入文件、预览表头、查看报告并下载台账（需要可选依赖 weipian[serve]）。"""
from __future__ import annotations

import argparse
import importlib.util
import sys

from rich.console import Console

from engine.cli.common import EXIT_UNUSABLE, plain_printer
from engine.errors import InputError

LOCAL = ("127.0.0.1", "localhost", "::1")
EXTRA = ("starlette", "uvicorn")

EXAMPLE = """示例：
  weipian serve                      # 打开 http://127.0.0.1:8765/
  weipian serve --port 9000 --policies 政策/
  weipian serve --max-upload 500MB

需要可选依赖：pip install 'weipian[serve]'。默认只监听本机（127.0.0.1）；网页没有登录和权限控制，
监听其他地址须加 --allow-remote。上传的文件只在本机临时文件夹中检查，检查完即删除。"""


def register(sub) -> None:
    p = sub.add_parser("serve", help="打开本机网页：选政策、拖入文件、看报告、下载台账",
                       description="在本机启动网页：选择政策年度，拖入或选择 xlsx/CSV/打包的 Shapefile/GeoPackage，"
                                   "预览表头与字段的对应，检查后在页面中查看报告并下载台账。",
                       epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1", help="监听地址（默认 127.0.0.1，只有本机能访问）")
    p.add_argument("--port", type=int, default=8765, help="端口（默认 8765；0 表示任选一个空闲端口）")
    p.add_argument("--policies", help="政策目录（默认：内置的 policies/）")
    p.add_argument("--allow-remote", dest="allow_remote", action="store_true",
                   help="允许监听本机以外的地址（局域网内任何人都能打开网页并上传文件）")
    p.add_argument("--max-upload", dest="max_upload", metavar="大小", help="单个上传文件的大小上限，如 500MB（默认 200MB）")
    p.add_argument("--memory-limit", dest="memory_limit", metavar="大小",
                   help="每次检查的 DuckDB 内存上限，如 512MB、2GB（默认 512MB，或环境变量 WEIPIAN_MEMORY_LIMIT）")
    p.set_defaults(func=cmd_serve)


def cmd_serve(args, console: Console) -> int:
    missing = [m for m in EXTRA if importlib.util.find_spec(m) is None]
    if missing:
        sys.stderr.write(f"weipian serve 需要可选依赖（缺少 {'、'.join(missing)}）。请先安装：pip install 'weipian[serve]'"
                         "（在源码目录中：pip install -e '.[serve]'）\n")
        return EXIT_UNUSABLE
    import logging
    import socket

    import uvicorn

    from engine.limits import LIMITS, parse_size
    from engine.policy.policyset import load_policies
    from engine.serve.app import create_app

    say = plain_printer(console)
    if args.port < 0 or args.port > 65535:
        raise InputError(f"--port {args.port} 不是有效端口（0–65535）")
    local = args.host in LOCAL
    if not local and not args.allow_remote:
        raise InputError(f"--host {args.host} 不是本机地址：网页没有登录和权限控制，网络上任何人都能打开它并上传文件。"
                         "确需如此，请同时加 --allow-remote")
    if args.max_upload:
        LIMITS.upload_bytes = parse_size(args.max_upload, "--max-upload 的值")
    policies = load_policies(args.policies)  # a broken policy stops here, with the usual located messages
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((args.host, args.port))
    except OSError as e:
        sock.close()
        raise InputError(f"无法监听 {args.host}:{args.port}（{e.strerror or e}）；端口可能已被占用，请用 --port 换一个") from None
    port = sock.getsockname()[1]
    shown = f"[{args.host}]" if ":" in args.host else args.host
    if not local:
        sys.stderr.write(f"警告：正在监听 {args.host}，同一网络中的任何人都能打开网页并上传文件；网页没有登录和权限控制。\n")
    say(f"weipian 网页已启动：http://{shown}:{port}/  （政策年度：{'、'.join(str(y) for y in sorted(policies))}；按 Ctrl+C 停止）")
    sys.stdout.flush()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = create_app(policies, hosts=[] if local else [args.host, "*"] if args.host in ("0.0.0.0", "::") else [args.host])
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, server_header=False))
    server.run(sockets=[sock])
    return 0
