"""An upload, kept only in a per-request folder: streamed to disk under the size limit, a .zip unpacked safely, and
the path the readers get. Nothing here imports the web framework."""
from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from engine.data.readers import SUPPORTED, SUPPORTED_TEXT
from engine.errors import InputError
from engine.limits import LIMITS, human_bytes, over

ZIP = ".zip"
CHUNK = 1 << 20
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"|?*]')


class UploadError(InputError):
    """An upload the page refuses; `status` is the HTTP status (400, or 413 for too large)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@contextlib.contextmanager
def request_folder():
    """A fresh private folder for one request, deleted with everything in it when the request ends."""
    folder = Path(tempfile.mkdtemp(prefix="weipian-serve-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def upload_name(name: str | None) -> str:
    """The base name of an uploaded file as the browser gave it, safe to create in the request folder: no folder
    part, no control or reserved characters; its suffix must be one the readers (or the zip unpacker) know."""
    base = re.split(r"[\\/]", str(name or ""))[-1].strip()
    base = _UNSAFE.sub("_", base)[-120:].lstrip(".")
    if not base:
        raise UploadError("没有收到文件名，请重新选择文件")
    if Path(base).suffix.lower() not in SUPPORTED + (ZIP,):
        raise UploadError(f"{base}：不支持的文件类型，支持 {SUPPORTED_TEXT}，或把 Shapefile 的全部文件打包成 .zip")
    return base


def too_large(size: int | None) -> UploadError:
    """413: the size the request declared, or None when the body passed the limit while streaming."""
    limit = human_bytes(LIMITS.upload_bytes)
    what = over("上传文件大小", human_bytes(size), limit) if size is not None else f"上传文件大小超出上限 {limit}（已停止接收）"
    return UploadError(what + "，未检查；确需检查更大的文件时，用 weipian serve --max-upload 调高上限（如 500MB）", 413)


async def save_stream(chunks, dest: Path, declared: int | None = None) -> int:
    """Write the request body (an async iterator of bytes) to `dest`, stopping as soon as it passes
    LIMITS.upload_bytes (a declared Content-Length over the limit is refused before a byte is read)."""
    limit = LIMITS.upload_bytes
    if declared is not None and declared > limit:
        raise too_large(declared)
    size = 0
    with open(dest, "xb") as out:
        async for chunk in chunks:
            size += len(chunk)
            if size > limit:
                raise too_large(None)
            out.write(chunk)
    if size == 0:
        raise UploadError(f"{dest.name}：文件为空（0 字节）")
    return size


def data_path(upload: Path) -> Path:
    """The path to read: the uploaded file itself, or for a .zip the one data file (a Shapefile's .shp with its
    sidecars) or the one folder of data files it unpacks to."""
    if upload.suffix.lower() != ZIP:
        return upload
    into = upload.with_name(upload.stem + "_解压")
    into.mkdir()
    unpack(upload, into)
    files = [f for f in sorted(into.rglob("*")) if f.is_file() and f.suffix.lower() in SUPPORTED
             and not f.name.startswith(("~$", "."))]
    shp = {(f.parent, f.stem) for f in files if f.suffix.lower() == ".shp"}
    files = [f for f in files if not (f.suffix.lower() == ".dbf" and (f.parent, f.stem) in shp)]
    if not files:
        raise UploadError(f"{upload.name}：压缩包中没有可读取的图斑文件（支持 {SUPPORTED_TEXT}）")
    folders = sorted({f.parent for f in files})
    if len(folders) > 1:
        shown = "、".join(str(d.relative_to(into)) if d != into else "（根目录）" for d in folders[:5])
        raise UploadError(f"{upload.name}：数据文件分在几个文件夹中（{shown}），请每次只打包一个文件夹")
    return files[0] if len(files) == 1 else folders[0]


def unpack(archive: Path, into: Path) -> None:
    """Unpack `archive` into `into`, refusing (before writing anything) a member that would land outside it
    (absolute, `..`, a drive letter), a symbolic link, an encrypted member or too many members, and stopping
    while extracting when the bytes written pass LIMITS.zip_uncompressed_bytes (a zip directory can lie)."""
    name = archive.name
    try:
        with _open_zip(archive) as z:
            members = [(m, _member_path(name, m)) for m in z.infolist()]
            members = [(m, rel) for m, rel in members if rel is not None]
            if len(members) > LIMITS.zip_members:
                raise UploadError(f"{name}：压缩包中的" + over("文件个数", f"{len(members):,}", f"{LIMITS.zip_members:,}", " 个"))
            declared = sum(m.file_size for m, _ in members)
            if declared > LIMITS.zip_uncompressed_bytes:
                raise UploadError(f"{name}：" + over("解压后大小", human_bytes(declared), human_bytes(LIMITS.zip_uncompressed_bytes)))
            written = 0
            for m, rel in members:
                target = into.joinpath(*rel.parts)
                if not target.resolve().is_relative_to(into.resolve()):
                    raise UploadError(f"{name}：压缩包中的「{m.filename}」指向压缩包之外，整个压缩包未解压")
                target.parent.mkdir(parents=True, exist_ok=True)
                with z.open(m) as src, open(target, "xb") as out:
                    while chunk := src.read(CHUNK):
                        written += len(chunk)
                        if written > LIMITS.zip_uncompressed_bytes:
                            raise UploadError(f"{name}：" + over("解压后大小", f"超过 {human_bytes(LIMITS.zip_uncompressed_bytes)}",
                                                                 human_bytes(LIMITS.zip_uncompressed_bytes)))
                        out.write(chunk)
    except FileExistsError as e:
        raise UploadError(f"{name}：压缩包中有重名的文件「{Path(e.filename).name}」") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError) as e:
        raise UploadError(f"{name}：压缩包已损坏或无法解压（{type(e).__name__}）") from None


def _open_zip(archive: Path) -> zipfile.ZipFile:
    """Names without the zip's UTF-8 flag are read as GB18030 (Chinese Windows writes them so), else as cp437."""
    try:
        return zipfile.ZipFile(archive, metadata_encoding="gb18030")
    except UnicodeDecodeError:
        return zipfile.ZipFile(archive)


def _member_path(archive: str, m: zipfile.ZipInfo) -> PurePosixPath | None:
    """The member's relative path, None for folders and macOS resource forks; UploadError for an unsafe member."""
    raw = m.filename.replace("\\", "/")
    parts = [p for p in raw.split("/") if p not in ("", ".")]
    if raw.startswith("/") or ".." in parts or (parts and re.match(r"^[A-Za-z]:", parts[0])):
        raise UploadError(f"{archive}：压缩包中的「{m.filename}」指向压缩包之外（绝对路径或 ../），整个压缩包未解压")
    if (m.external_attr >> 16) & 0o170000 == 0o120000:
        raise UploadError(f"{archive}：压缩包中的「{m.filename}」是符号链接，整个压缩包未解压")
    if m.flag_bits & 0x1:
        raise UploadError(f"{archive}：压缩包中的「{m.filename}」有密码，请去掉密码后重新打包")
    if m.is_dir() or not parts or parts[0] == "__MACOSX" or parts[-1].startswith("._"):
        return None
    if any(_UNSAFE.search(p) for p in parts):
        raise UploadError(f"{archive}：压缩包中的文件名「{m.filename}」含有不允许的字符")
    return PurePosixPath(*parts)
