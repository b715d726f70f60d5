"""What a person sees when something fails: a specific message in Chinese and English, never a traceback or
a server path.

- `scrub(text)`: absolute paths in an error text become their last component (`…/name`);
- `describe(exc)`: (zh, en) for an exception: the message of planwatch's own errors (already written for
  people, scrubbed), a plain sentence for the operating-system errors people meet (disk full, permission
  denied, not a folder …) and for out-of-range dates, else the exception's kind with a hint to ask for details;
- `cli_guard(func)`: runs the CLI, turning an unexpected exception into that message and exit code 3
  (PLANWATCH_DEBUG=1 shows the traceback instead, for developers).
"""

from __future__ import annotations

import errno
import os
import re
import sys
from typing import Callable

# an absolute POSIX path (or a Windows drive path): a slash-led run of two or more components
_PATH = re.compile(r"(?:[A-Za-z]:)?(?:[/\\][^\s'\"`,;:()\[\]{}<>，。：；（）]+){2,}[/\\]?")
MAX_CHARS = 600

_OS_ERRORS = {
    errno.ENOSPC: ("磁盘空间已满", "the disk is full"),
    errno.EDQUOT: ("磁盘配额已用完", "the disk quota is used up"),
    errno.EACCES: ("没有权限", "permission denied"),
    errno.EPERM: ("不允许的操作", "operation not permitted"),
    errno.EROFS: ("文件系统只读", "the file system is read-only"),
    errno.ENOTDIR: ("路径中有一部分是文件而不是文件夹", "a part of the path is a file, not a folder"),
    errno.EISDIR: ("这是一个文件夹，不是文件", "this is a folder, not a file"),
    errno.EEXIST: ("已存在同名文件", "a file of that name already exists"),
    errno.ENOENT: ("找不到文件或文件夹", "no such file or folder"),
    errno.ENAMETOOLONG: ("文件名太长", "the file name is too long"),
    errno.EIO: ("磁盘读写错误（磁盘或文件可能已损坏；请运行 planwatch warehouse check）",
                "input/output error (the disk or a file may be damaged; run planwatch warehouse check)"),
}


def scrub(text: str) -> str:
    """The text with every absolute path replaced by `…/<last component>`, cut to MAX_CHARS."""
    def short(match: re.Match) -> str:
        parts = [p for p in re.split(r"[/\\]", match.group(0)) if p]
        return "…/" + parts[-1] if parts else "…"

    out = _PATH.sub(short, str(text))
    return out if len(out) <= MAX_CHARS else out[:MAX_CHARS] + "…"


def describe(exc: BaseException) -> tuple[str, str]:
    """(zh, en) sentences for an exception, safe to show."""
    if isinstance(exc, OSError) and exc.errno in _OS_ERRORS:
        zh, en = _OS_ERRORS[exc.errno]
        name = os.path.basename(str(exc.filename).rstrip("/")) if exc.filename else ""
        where = f"：{name}" if name else ""
        return f"{zh}{where}", f"{en}{(': ' + name) if name else ''}"
    if isinstance(exc, OverflowError):
        return "日期或数值超出可处理的范围", "a date or number is out of the range that can be handled"
    if isinstance(exc, MemoryError):
        return "内存不足", "out of memory"
    if _is_own(exc):
        text = scrub(str(exc))
        return text, text
    kind = type(exc).__name__
    return (f"内部错误（{kind}）；设置 PLANWATCH_DEBUG=1 重新运行可看到详情",
            f"internal error ({kind}); run again with PLANWATCH_DEBUG=1 for the details")


def _is_own(exc: BaseException) -> bool:
    """planwatch's own errors carry messages written for people (Chinese / English)."""
    module = type(exc).__module__ or ""
    return module.startswith("warehouse") or isinstance(exc, ValueError) and not type(exc).__module__.startswith(
        ("duckdb", "_duckdb", "polars", "pyarrow"))


def message(exc: BaseException, lang: str | None = None) -> str:
    """One line: `zh / en`, or one language when `lang` is given."""
    zh, en = describe(exc)
    if lang == "zh":
        return zh
    if lang == "en":
        return en
    return zh if zh == en else f"{zh} / {en}"


def cli_guard(func: Callable[[], object]) -> None:
    """Run the CLI; an exception nothing else handled ends with its message on stderr and exit code 3."""
    try:
        func()
    except (SystemExit, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001 - the last line of defence: a message, not a traceback
        if os.environ.get("PLANWATCH_DEBUG") == "1":
            raise
        command = " ".join(a for a in sys.argv[1:3] if not a.startswith("-"))
        print(f"错误 / error: planwatch {command}: {message(exc)}", file=sys.stderr)
        sys.exit(3)
