"""The drop directories. The sender writes `<direction>-<seq>.emx` into its outbox atomically
(a temporary name, then a rename once the bundle's sequence number is committed) and keeps a
copy in its archive for a resend; the gateway moves the outbox's files into the receiver's inbox;
the receiver reads them in sequence order and moves each to `done/` or `rejected/`."""

import os
import re
import shutil
from pathlib import Path

NAME = re.compile(r"^(outbound|inbound)-(\d{12})\.emx$")
PENDING = re.compile(r"^\.((outbound|inbound)-(\d{12})\.emx)\.part$")  # no gateway takes it


def bundle_name(direction: str, seq: int) -> str:
    return f"{direction}-{seq:012d}.emx"


def write_pending(outbox: Path, direction: str, seq: int, data: bytes) -> Path:
    """The bundle under a name the gateway ignores, until `publish` renames it."""
    outbox.mkdir(parents=True, exist_ok=True)
    path = outbox / f".{bundle_name(direction, seq)}.part"
    with open(path, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    return path


def publish(pending: Path, archive: Path | None) -> Path:
    final = pending.with_name(PENDING.match(pending.name).group(1))
    if archive is not None:
        archive.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(pending, archive / final.name)
    os.replace(pending, final)
    return final


def leftover_pending(outbox: Path, direction: str) -> list[tuple[int, Path]]:
    """Pending files left by a sender that stopped between its commit and the rename."""
    if not outbox.is_dir():
        return []
    found = []
    for path in outbox.iterdir():
        match = PENDING.match(path.name)
        if match and match.group(2) == direction:
            found.append((int(match.group(3)), path))
    return sorted(found)


def inbox_files(inbox: Path) -> list[Path]:
    """Every regular file of the inbox (a stranger among them is refused, not skipped), bundles
    in sequence order first."""
    if not inbox.is_dir():
        return []
    files = [p for p in inbox.iterdir() if p.is_file() and not p.name.startswith(".")]
    return sorted(files, key=lambda p: (not NAME.match(p.name), p.name))


def file_away(path: Path, inbox: Path, folder: str, why: str | None = None) -> None:
    target = inbox / folder
    target.mkdir(exist_ok=True)
    os.replace(path, target / path.name)
    if why is not None:
        (target / f"{path.name}.why.txt").write_text(why + "\n", encoding="utf-8")


def archived(archive: Path, direction: str, seq: int) -> Path:
    return archive / bundle_name(direction, seq)
