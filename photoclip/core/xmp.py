"""Tags other photo apps can read: XMP sidecars written (and read) through exiv2.

A photo's tags go to its sidecar as ``dc:subject`` keywords (what every app reads) and as
``lr:hierarchicalSubject`` entries ``photoclip|<tag set>|<label>`` (Lightroom's, digiKam's and
darktable's keyword trees). The sidecar is named as darktable and digiKam do (``photo.jpg.xmp``)
or as Lightroom does (``photo.xmp``), by ``Settings.xmp_naming``.

An existing sidecar is merged, never clobbered: exiv2 parses it and only the two keyword arrays
change; every other field and namespace (ratings, colour labels, develop settings, history) is
written back with its value. Keywords already there stay; a ``photoclip|...`` entry photoclip
wrote earlier whose tag the photo no longer has is taken out again. A sidecar exiv2 cannot parse
is left alone and reported. Writes are atomic (temporary file + os.replace); the photo itself is
only ever read. Sidecars are written through python-exiv2 (``exiv2``), which types the two keyword
arrays as the standard does (``rdf:Bag``); they are read, like photos' own metadata, through
``pyexiv2``.
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence

from . import paths
from .errors import PhotoclipError

log = logging.getLogger("photoclip.xmp")

#: how a sidecar is named: "darktable" (and digiKam) photo.jpg.xmp, "lightroom" photo.xmp
NAMINGS = ("darktable", "lightroom")
#: the top of photoclip's keyword tree in lr:hierarchicalSubject
ROOT = "photoclip"
#: where a photo's XMP rating goes as a tag ("3 stars")
RATING_SET = "Rating"

SUBJECT = "Xmp.dc.subject"
HIERARCHY = "Xmp.lr.hierarchicalSubject"
RATING = "Xmp.xmp.Rating"
IPTC_KEYWORDS = "Iptc.Application2.Keywords"

#: a sidecar larger than this is no keyword file (it is not read on a scan, nor merged into)
MAX_SIDECAR_BYTES = 16 * 1024 * 1024

# What exiv2 is handed for a sidecar that does not exist yet: an empty XMP packet.
_EMPTY_PACKET = ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
                 '<x:xmpmeta xmlns:x="adobe:ns:meta/"></x:xmpmeta><?xpacket end="w"?>')


def sidecar_path(photo: str, naming: str) -> str:
    """Where the sidecar of ``photo`` goes: ``photo.jpg.xmp`` (darktable) or ``photo.xmp`` (lightroom)."""
    if naming not in NAMINGS:
        raise PhotoclipError(f"Unknown sidecar naming {naming!r}: one of {', '.join(NAMINGS)}.")
    if naming == "darktable":
        return photo + ".xmp"
    return os.path.splitext(photo)[0] + ".xmp"


def existing_sidecars(photo: str) -> list[str]:
    """The sidecars of ``photo`` that exist, either naming (and ``.XMP`` too), darktable's first."""
    stem = os.path.splitext(photo)[0]
    found = []
    for candidate in (photo + ".xmp", photo + ".XMP", stem + ".xmp", stem + ".XMP"):
        if candidate not in found and os.path.isfile(candidate):
            found.append(candidate)
    return found


def _part(text: str) -> str:
    """A set or label as one level of a keyword tree ("|" separates levels)."""
    return text.replace("|", "/").strip()


def hierarchy_entry(tag_set: str, label: str) -> str:
    return f"{ROOT}|{_part(tag_set)}|{_part(label)}"


# -- writing -------------------------------------------------------------------------------------

@dataclass
class XmpReport:
    written: int = 0      # new sidecars
    updated: int = 0      # existing sidecars merged with new keywords
    unchanged: int = 0    # sidecars that already said it all
    failed: dict[str, str] = field(default_factory=dict)  # photo path -> why its sidecar was not written

    @property
    def text(self) -> str:
        parts = [f"{self.written:,} sidecar{'s' if self.written != 1 else ''} written",
                 f"{self.updated:,} updated"]
        if self.unchanged:
            parts.append(f"{self.unchanged:,} already up to date")
        if self.failed:
            parts.append(f"{len(self.failed):,} could not be written")
        return ", ".join(parts)


def merged_keywords(current: dict, tags: Sequence[tuple[str, str]]) -> dict:
    """The keyword arrays a sidecar with XMP ``current`` gets for ``tags`` (set, label): what it
    has, less photoclip's entries for tags the photo no longer has, plus the tags'. {} when
    nothing changes."""
    old_subjects = as_list(current.get(SUBJECT))
    old_hierarchy = as_list(current.get(HIERARCHY))
    wanted = list(dict.fromkeys(hierarchy_entry(s, label) for s, label in tags))
    ours = f"{ROOT}|"
    stale = [h for h in old_hierarchy if h.startswith(ours) and h not in wanted]
    hierarchy = [h for h in old_hierarchy if h not in stale]
    hierarchy += [h for h in wanted if h not in hierarchy]
    # a stale entry's keyword goes too, unless another entry still carries it
    leaves = {h.rsplit("|", 1)[-1] for h in hierarchy}
    dropped = {h.rsplit("|", 1)[-1] for h in stale} - leaves
    subjects = [s for s in old_subjects if s not in dropped]
    for _, label in tags:
        label = _part(label)
        if label not in subjects:
            subjects.append(label)
    changes = {}
    if subjects != old_subjects:
        changes[SUBJECT] = subjects
    if hierarchy != old_hierarchy:
        changes[HIERARCHY] = hierarchy
    return changes


def write_sidecar(photo: str, tags: Sequence[tuple[str, str]], naming: str) -> str:
    """Merge ``tags`` (set, label) into the sidecar of ``photo``: "written" (a new sidecar),
    "updated" or "unchanged". Raises PhotoclipError when an existing sidecar cannot be parsed
    (it is left as it was) or the file cannot be written."""
    from .metadata import _lock

    dest = sidecar_path(photo, naming)
    mode = None
    try:
        with open(dest, "rb") as f:
            st = os.fstat(f.fileno())
            if st.st_size > MAX_SIDECAR_BYTES:
                raise PhotoclipError(f"{paths.display_path(dest)} is too large for a sidecar "
                                     f"({st.st_size:,} bytes), so it was left as it is")
            data = f.read()
        mode, new = st.st_mode & 0o7777, False
    except FileNotFoundError:
        data, new = _EMPTY_PACKET.encode("utf-8"), True
    except OSError as exc:
        raise PhotoclipError(f"Cannot read {paths.display_path(dest)}: {exc.strerror or exc}") from exc
    if not new and not data.strip():
        data = _EMPTY_PACKET.encode("utf-8")  # an empty file holds nothing to keep
    with _lock:
        try:
            out = _merged_packet(data, tags, new)
        except Exception as exc:  # noqa: BLE001 - exiv2 raises its own error for a broken packet
            raise PhotoclipError(f"{paths.display_path(dest)} is not a sidecar exiv2 can read, so it was "
                                 f"left as it is ({str(exc).strip()[:120] or type(exc).__name__})") from exc
    if out is None:
        return "unchanged"
    with paths.atomic_write(dest, "write the sidecar", "wb") as f:
        f.write(out)
    if mode is not None:  # the sidecar keeps its permissions
        try:
            os.chmod(dest, mode)
        except OSError:
            pass
    return "written" if new else "updated"



@functools.cache
def _exiv2():
    """python-exiv2, the binding that writes XMP arrays as the standard types them (``rdf:Bag``
    for both keyword arrays; pyexiv2, which reads photos' metadata, writes every array as a Seq).
    Imported and muted once."""
    import exiv2

    try:
        exiv2.LogMsg.setLevel(exiv2.LogMsg.Level.mute)  # a broken packet is reported, not printed
    except Exception:  # noqa: BLE001
        pass
    return exiv2


def _merged_packet(data: bytes, tags: Sequence[tuple[str, str]], new: bool) -> Optional[bytes]:
    """The sidecar packet ``data`` with ``tags`` merged into its keyword arrays, None when it
    already says it all (and is not new). Every other property is kept as exiv2 parsed it; both
    arrays are Bags (exiv2 reads a Seq another app wrote there as the Bag the schema names)."""
    exiv2 = _exiv2()
    image = exiv2.ImageFactory.open(data)
    image.readMetadata()
    xmp_data = image.xmpData()
    current: dict = {}
    for datum in xmp_data:
        key = datum.key()
        if key in (SUBJECT, HIERARCHY):
            current[key] = [datum.toString(i) for i in range(datum.count())]
    changes = merged_keywords(current, tags)
    if not changes and not new:
        return None
    for key, values in changes.items():
        found = xmp_data.findKey(exiv2.XmpKey(key))
        if found != xmp_data.end():
            xmp_data.erase(found)
        value = exiv2.XmpArrayValue(exiv2.TypeId.xmpBag)
        for item in values:
            value.read(item)
        if values:
            xmp_data.add(exiv2.XmpKey(key), value)
    image.writeMetadata()
    with image.io().mmap() as buffer:
        return bytes(buffer)


def tags_to_write(rows: Iterable[tuple], min_score: float) -> dict[str, list[tuple[str, str]]]:
    """photo path -> its (set, label)s to write, from export rows (path, folder, tag_set, label,
    score, model, source): confirmed and user tags, auto-tags scoring at least ``min_score``
    (rejected tags are never written)."""
    out: dict[str, list[tuple[str, str]]] = {}
    for path, _folder, tag_set, label, score, _model, source in rows:
        if source == "rejected" or (source == "auto" and score < min_score):
            continue
        wanted = out.setdefault(path, [])
        if (tag_set, label) not in wanted:
            wanted.append((tag_set, label))
    return out


def write_sidecars(by_photo: dict[str, list[tuple[str, str]]], naming: str, *, progress=None,
                   control=None) -> XmpReport:
    """Write the sidecars of many photos; one that fails is reported, the others are written."""
    from .jobs import Progress

    report = XmpReport()
    total = len(by_photo)
    for n, (photo, tags) in enumerate(sorted(by_photo.items()), 1):
        if control is not None:
            control.checkpoint()
        if not os.path.exists(photo):  # an offline folder: nothing to put a sidecar beside
            report.failed[photo] = "the photo is not there (its folder is offline)"
            continue
        try:
            outcome = write_sidecar(photo, tags, naming)
        except PhotoclipError as exc:
            report.failed[photo] = str(exc)
            log.warning("%s", exc)
            continue
        setattr(report, outcome, getattr(report, outcome) + 1)
        if progress is not None and (n % 50 == 0 or n == total):
            progress(Progress("xmp", n, total, message=f"Writing XMP sidecars: {n:,} of {total:,}"))
    return report


# -- reading -------------------------------------------------------------------------------------

def as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, dict):  # a lang alternative
        return [v for v in value.values() if isinstance(v, str) and v.strip()]
    return [v for v in value if isinstance(v, str) and v.strip()]


def keyword_tags(xmp: dict, iptc: Optional[dict] = None) -> list[tuple[Optional[str], str]]:
    """The tags a photo's own keywords and rating give: (set, label), set None where the keyword
    names none (the library decides: a set that has the label, else "My tags").

    ``lr:hierarchicalSubject`` "Places|Portugal|Lisbon" is ("Portugal", "Lisbon"): the last level
    is the label, its parent the set; photoclip's own "photoclip|scenes|beach" is ("scenes",
    "beach"). A flat keyword (``dc:subject``, IPTC Keywords) that is no level of a hierarchy
    entry is (None, keyword). ``xmp:Rating`` 1-5 is ("Rating", "3 stars")."""
    out: list[tuple[Optional[str], str]] = []
    levels: set[str] = set()
    for entry in as_list(xmp.get(HIERARCHY)):
        parts = [p.strip() for p in entry.split("|") if p.strip()]
        if not parts:
            continue
        levels.update(p.casefold() for p in parts)
        tag = (parts[-2] if len(parts) > 1 else None, parts[-1])
        if tag[0] == ROOT:  # "photoclip|beach": no set named
            tag = (None, tag[1])
        if tag not in out:
            out.append(tag)
    flat = as_list(xmp.get(SUBJECT)) + as_list((iptc or {}).get(IPTC_KEYWORDS))
    for keyword in (k.strip() for k in flat):
        if keyword.casefold() in levels or (None, keyword) in out:
            continue
        out.append((None, keyword))
    rating = _rating(xmp.get(RATING))
    if rating:
        out.append((RATING_SET, f"{rating} star{'s' if rating != 1 else ''}"))
    return out


def _rating(value) -> Optional[int]:
    """xmp:Rating "3" or "3.0" -> 3; 0, -1 (Lightroom's rejected), junk -> None."""
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        rating = round(float(str(value).strip()))
    except (TypeError, ValueError, OverflowError):
        return None
    return rating if 1 <= rating <= 5 else None


def read_sidecars(sidecars: Sequence[str]) -> dict:
    """The keywords and rating of a photo's ``sidecars`` (``existing_sidecars``: darktable's name
    first) merged, {} when there is none or none can be read (a broken sidecar is logged, never
    fatal)."""
    from .metadata import _lock, _pyexiv2

    merged: dict = {}
    for sidecar in sidecars:
        try:
            if os.path.getsize(sidecar) > MAX_SIDECAR_BYTES:
                log.info("sidecar %r not read: too large", sidecar)
                continue
            with open(sidecar, "rb") as f:
                data = f.read()
            if not data.strip():
                continue
            pyexiv2 = _pyexiv2()
            with _lock:
                with pyexiv2.ImageData(data) as img:
                    xmp = img.read_xmp()
        except Exception as exc:  # noqa: BLE001 - a sidecar is never worth the photo
            log.info("sidecar %r not read: %s", sidecar, exc)
            continue
        for key in (SUBJECT, HIERARCHY):
            have = as_list(merged.get(key))
            values = have + [v for v in as_list(xmp.get(key)) if v not in have]
            if values:
                merged[key] = values
        if RATING not in merged and RATING in xmp:
            merged[RATING] = xmp[RATING]
    return merged
