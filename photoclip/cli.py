"""photoclip's command line: thin subcommands over photoclip.core.library.Library."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from typing import Optional, Sequence

from . import __version__
from .core.errors import Cancelled, PhotoclipError
from .core.jobs import JobControl, Progress
from .core.config import PRECISIONS
from .core.filters import KINDS, SEARCH_ORDERS
from .core.paths import display_path

log = logging.getLogger("photoclip.cli")

EPILOG = """examples:
  photoclip index ~/Pictures ~/Phone-backup
  photoclip search "two dogs playing in the snow" --limit 20
  photoclip search --image ~/Pictures/beach.jpg
  photoclip search "beach" --image ref.jpg --weight 0.5
  photoclip search "portrait -sunglasses"
  photoclip tagsets add scenes beach mountains city forest snow "night sky" --mode single
  photoclip tag
  photoclip export-tags tags.csv
  photoclip export-tags --xmp --min-score 0.6
  photoclip status
  photoclip duplicates --threshold 0.95
  photoclip trash ~/Pictures/blurry.jpg --with-pair
With no command, photoclip opens the desktop app."""


def _global_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    default = argparse.SUPPRESS if suppress else None
    g = parser.add_argument_group("library and model")
    g.add_argument("--library", metavar="DIR", default=default,
                   help="library folder (default: $PHOTOCLIP_HOME or your user data folder)")
    g.add_argument("--model", default=default,
                   help="open_clip model name or path of a model-config JSON (default: the library's model, "
                        "initially ViT-B-32-256)")
    g.add_argument("--pretrained", default=default,
                   help="pretrained tag (downloaded on first use), a local weights file (.safetensors/.pt/.bin), "
                        "or 'random' (tests and benchmarks only)")
    g.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default=default,
                   help="where the model runs (default: auto = cuda, then mps, then cpu)")
    g.add_argument("--threads", type=int, default=default, help="CPU threads for the model (default: all cores)")
    g.add_argument("--precision", choices=PRECISIONS, default=default,
                   help="the model's number format (default: the library's setting, initially auto = bf16 on a "
                        "CPU with native bf16 where it checks out against fp32, fp16 on a CUDA GPU, else fp32)")
    g.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS if suppress else 0,
                   help="more log output")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="photoclip", description="Find your photos by what is in them.",
                                     epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"photoclip {__version__}")
    parser.add_argument("--self-test", action="store_true",
                        help="index and search a generated image with a tiny model, then exit")
    parser.add_argument("--install-desktop-entry", action="store_true",
                        help="add photoclip to your desktop's application menu (Linux)")
    _global_options(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def cmd(name: str, help_: str, description: str = "") -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=description or help_)
        _global_options(p, suppress=True)
        return p

    p = cmd("index", "add folders to the library and index new or changed photos")
    p.add_argument("folders", nargs="*", help="folders to add (default: every library folder)")
    p.add_argument("--no-tag", action="store_true", help="do not auto-tag the new photos")
    p.add_argument("--wait", action="store_true",
                   help="if another photoclip process is indexing this library, wait for it instead of stopping")

    p = cmd("search", "find photos by a description, a photo, or both; or list them by date, camera, place",
            "Find photos by a description, a photo, or both, among the photos the filters allow. "
            "With no description and no --image: the photos the filters allow, newest first.")
    p.add_argument("query", nargs="?", default="", help='what to look for; "-word" pushes a concept away')
    p.add_argument("--image", help="find photos similar to this image")
    p.add_argument("--like-tag", metavar="SET:LABEL",
                   help='find more like these: the photos you have not tagged, confirmed or rejected as SET:LABEL '
                        'that look most like those you have, best first ("My tags:our cabin" for your own labels)')
    p.add_argument("--weight", type=float, default=0.5, help="share of the image when combined with text (0..1)")
    p.add_argument("--limit", "-n", type=int, default=20, help="how many results (default 20)")
    p.add_argument("--folder", metavar="PATH",
                   help="only photos in this folder (a library folder or any folder inside one) and its subfolders")
    p.add_argument("--no-subfolders", action="store_true",
                   help="with --folder: only the photos directly in it, not those in its subfolders")
    p.add_argument("--tag", metavar="SET:LABEL", help="only photos with this tag, e.g. scenes:beach")
    p.add_argument("--after", metavar="YYYY-MM-DD", help="only photos taken on or after this day")
    p.add_argument("--before", metavar="YYYY-MM-DD", help="only photos taken on or before this day")
    p.add_argument("--camera", metavar="TEXT", help='only photos from a camera whose make or model contains TEXT')
    p.add_argument("--lens", metavar="TEXT", help="only photos taken with a lens whose name contains TEXT")
    p.add_argument("--place", metavar="TEXT", help='only photos taken at a place whose name contains TEXT '
                                                   '("Lisbon", "Portugal"), from their GPS position')
    p.add_argument("--kind", choices=KINDS, help="only this kind of file")
    p.add_argument("--sort", choices=SEARCH_ORDERS, default="relevance",
                   help="order of the results: relevance (best first; without a query: newest first), "
                        "taken (newest first) or name")
    p.add_argument("--json", action="store_true",
                   help="print a JSON list of {path, score, taken, camera, lens, place, width, height, kind}")

    p = cmd("tagsets", "list, add, remove, import or export tag sets")
    tsub = p.add_subparsers(dest="action", metavar="ACTION")

    def action(name: str, help_: str) -> argparse.ArgumentParser:
        a = tsub.add_parser(name, help=help_, description=help_)
        _global_options(a, suppress=True)  # library/model options after the action too
        return a

    action("list", "list tag sets")
    a = action("add", "create or replace a tag set")
    a.add_argument("name")
    a.add_argument("labels", nargs="+")
    a.add_argument("--mode", choices=["single", "multi"], default="single",
                   help="single: best label per photo; multi: every label over the threshold")
    a.add_argument("--threshold", type=float, default=0.3, help="multi mode: minimum score (0..1)")
    a.add_argument("--abstain", type=float, default=None, metavar="SCORE",
                   help="single mode: no label when the best scores below SCORE (0..1; "
                        "default: the library's setting, 'abstain')")
    a.add_argument("--template", action="append", dest="templates",
                   help='prompt template containing {} (repeatable), default: an ensemble like "a photo of a {}."')
    a.add_argument("--disabled", action="store_true", help="keep the set but do not tag with it")
    r = action("remove", "delete a tag set and its tags")
    r.add_argument("name")
    i = action("import", "import tag sets from a TOML file")
    i.add_argument("file")
    e = action("export", "write tag sets to a TOML file")
    e.add_argument("file")

    p = cmd("tag", "auto-tag photos with every enabled tag set; or add, remove, confirm, reject a tag by hand",
            "photoclip tag [--set NAME] [--retag]: auto-tag. By hand: photoclip tag add LABEL PHOTO... [--set NAME], "
            "photoclip tag remove LABEL PHOTO... [--set NAME], photoclip tag confirm|reject SET:LABEL PHOTO... "
            "Your decisions are kept through re-tagging, model changes, moves and renames.")
    p.add_argument("action", nargs="?", choices=["add", "remove", "confirm", "reject"],
                   help="change tags by hand (without it: auto-tag)")
    p.add_argument("items", nargs="*", metavar="LABEL PHOTO", help="the label (or SET:LABEL), then photos")
    p.add_argument("--set", action="append", dest="sets",
                   help="auto-tag: only this tag set (repeatable); add/remove: the set the label belongs to")
    p.add_argument("--retag", action="store_true", help="recompute existing tags too")

    p = cmd("export-tags", "export every photo's tags as CSV, or into XMP sidecars other photo apps read")
    p.add_argument("file", nargs="?", help="the CSV file to write (not with --xmp)")
    p.add_argument("--xmp", action="store_true",
                   help="write the tags into each photo's XMP sidecar (merged into one that exists; "
                        "the photos themselves are never written)")
    p.add_argument("--xmp-naming", choices=["darktable", "lightroom"], default=None,
                   help="sidecar names: darktable/digiKam photo.jpg.xmp, or Lightroom photo.xmp "
                        "(default: the library's setting, darktable)")
    p.add_argument("--min-score", type=float, default=None, metavar="S",
                   help="with --xmp: auto-tags scoring at least S (0..1) are written too (default: the "
                        "library's setting, 0.5); confirmed tags and tags added by hand always, rejected never")

    p = cmd("status", "folders, photo counts, model, device, problems")
    p.add_argument("--json", action="store_true")

    p = cmd("folders", "list library folders (or the subfolders of PATH), or remove one (files are never touched)")
    p.add_argument("action", nargs="?", choices=["list", "remove"], default="list")
    p.add_argument("path", nargs="?", help="list: the folder whose subfolders to list; remove: the library folder")

    p = cmd("duplicates", "list groups of duplicate and near-duplicate photos, each with the one to keep")
    p.add_argument("--threshold", type=float, default=0.95,
                   help="similarity (0..1] from which different files count as the same picture "
                        "(default 0.95; 1 = identical content only)")
    p.add_argument("--json", action="store_true",
                   help='print a JSON list of {"keeper", "similarity", "exact", "photos": [...]}')

    p = cmd("trash", "move photos to the trash (the platform's trash: never a permanent delete); "
                     "the library forgets them",
            "Move photos to the trash (the platform's trash, from which they can be restored: never a "
            "permanent delete) and forget them in the library. Asks once, with the count, unless --yes.")
    p.add_argument("photos", nargs="+", metavar="PHOTO", help="photos of the library")
    p.add_argument("--yes", action="store_true", help="do not ask")
    p.add_argument("--with-pair", action="store_true",
                   help="the other file of a RAW+JPEG pair goes too (without it, a JPEG's RAW stays as a photo)")

    p = cmd("download-model", "download the model's weights now (with progress)")

    p = cmd("watch", "keep indexing library folders as photos arrive, until Ctrl+C")
    p.add_argument("folders", nargs="*", help="folders to add and watch (default: every library folder)")
    return parser


class TerminalProgress:
    """tqdm on a terminal, plain lines otherwise."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self._bar = None
        self._phase = None
        self._last = 0.0

    def __call__(self, p: Progress) -> None:
        if self.tty:
            self._tqdm(p)
            return
        now = time.monotonic()
        if p.phase != self._phase or now - self._last > 2.0 or (p.total and p.done >= p.total):
            self._phase = p.phase
            self._last = now
            print(p.message, file=self.stream, flush=True)

    def _tqdm(self, p: Progress) -> None:
        from tqdm import tqdm

        if p.phase != self._phase:
            self.close()
            self._phase = p.phase
            unit = "B" if p.phase == "downloading" else ("file" if p.phase in ("scanning", "fingerprinting") else "photo")
            self._bar = tqdm(total=p.total or None, desc=p.phase.capitalize(), unit=unit, file=self.stream,
                             unit_scale=p.phase == "downloading", dynamic_ncols=True, leave=True)
        if self._bar is not None:
            if p.total and self._bar.total != p.total:
                self._bar.total = p.total
            self._bar.n = p.done
            self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _open_library(args, remember_model: bool = False):
    from .core.library import Library

    return Library(args.library, model=args.model, pretrained=args.pretrained, device=args.device,
                   threads=args.threads, precision=args.precision, remember_model=remember_model)


def _photo_filter(args: argparse.Namespace):
    """The search options that narrow the library, as the one filter type the core takes."""
    from .core.filters import PhotoFilter

    tag = None
    if args.tag:
        if ":" not in args.tag:
            raise PhotoclipError("--tag takes SET:LABEL, e.g. scenes:beach")
        tag_set, _, label = args.tag.partition(":")
        tag = (tag_set, label)
    if args.no_subfolders and not args.folder:
        raise PhotoclipError("--no-subfolders goes with --folder PATH")
    folder = os.path.expanduser(args.folder) if args.folder else None
    try:
        return PhotoFilter(directory=folder, deeper=not args.no_subfolders, tag=tag, after=args.after, before=args.before, camera=args.camera,
                           lens=args.lens, place=args.place, kind=args.kind)
    except ValueError as exc:
        raise PhotoclipError(f"{exc}.") from None


def run(args: argparse.Namespace) -> int:
    progress = TerminalProgress()
    if args.command in ("index", "watch", "download-model", "tag"):
        if args.pretrained == "random":
            print("photoclip: WARNING: random model weights: results are meaningless "
                  "(for tests and benchmarks only)", file=sys.stderr)
    lib = _open_library(args, remember_model=args.command in ("index", "download-model", "watch"))
    try:
        control = JobControl()
        if args.command == "index":
            if not args.folders and not lib.folders():
                raise PhotoclipError("The library has no folders yet: photoclip index FOLDER [FOLDER...]")
            report = lib.index(args.folders or None, progress=progress, control=control, tag=not args.no_tag,
                               wait=args.wait)
            progress.close()
            print(f"Indexed: {report.summary()}")
            if report.problems:
                print(f"{report.problems} file(s) could not be read: see 'photoclip status'.")
        elif args.command == "search":
            _search(lib, args)
        elif args.command == "tagsets":
            return _tagsets(lib, args)
        elif args.command == "tag" and args.action:
            return _tag_by_hand(lib, args)
        elif args.command == "tag":
            n = lib.tag(args.sets, retag=args.retag, progress=progress, control=control)
            progress.close()
            print(f"Tagged {n:,} photo(s)." if n else "Every photo is already tagged.")
        elif args.command == "export-tags":
            if args.xmp:
                if args.file:
                    raise PhotoclipError("export-tags --xmp writes sidecars beside the photos: leave out the file.")
                report = lib.export_xmp(args.xmp_naming, args.min_score)
                print(f"XMP sidecars: {report.text}.")
                for path, why in sorted(report.failed.items())[:20]:
                    print(f"  {display_path(path)}: {why}")
            else:
                if not args.file:
                    raise PhotoclipError("export-tags FILE writes a CSV; export-tags --xmp writes XMP sidecars.")
                if args.xmp_naming or args.min_score is not None:
                    raise PhotoclipError("--xmp-naming and --min-score go with --xmp.")
                n = lib.export_tags(args.file)
                print(f"Wrote {n:,} tag rows to {args.file}")
        elif args.command == "status":
            _status(lib, args.json)
        elif args.command == "duplicates":
            _duplicates(lib, args.threshold, args.json)
        elif args.command == "trash":
            return _trash(lib, args.photos, args.yes, args.with_pair)
        elif args.command == "folders":
            if args.action == "remove":
                if not args.path:
                    raise PhotoclipError("photoclip folders remove PATH")
                lib.remove_folder(os.path.abspath(args.path))
                print(f"Removed {args.path} from the library (no file was touched).")
            elif args.path:
                _subfolders(lib, args.path)
            else:
                for f in lib.folders():
                    print(f"{f.photo_count:8,}  {display_path(f.path)}{'' if f.online else '  (offline)'}")
        elif args.command == "download-model":
            lib.embedder(progress, control)
            progress.close()
            print(f"Model ready: {lib.spec.label}")
            print(f"Precision: {lib.precision_in_use()}")
        elif args.command == "watch":
            from .core.watcher import watch_forever

            if args.folders:
                lib.add_folders(args.folders)
            return watch_forever(lib, progress=progress, out=sys.stdout)
        return 0
    finally:
        progress.close()
        lib.close()


def _tag_by_hand(lib, args) -> int:
    if len(args.items) < 2:
        raise PhotoclipError(f"photoclip tag {args.action} takes a label and at least one photo.")
    label, photos = args.items[0], args.items[1:]
    if args.action in ("confirm", "reject"):
        if ":" not in label:
            raise PhotoclipError(f"photoclip tag {args.action} takes SET:LABEL, e.g. scenes:beach")
        tag_set, _, label = label.partition(":")
        n = lib.decide_tag(tag_set, label, photos, "confirmed" if args.action == "confirm" else "rejected")
        print(f"{'Confirmed' if args.action == 'confirm' else 'Rejected'} {tag_set}:{label} on {n:,} photo(s).")
        return 0
    tag_set = args.sets[0] if args.sets else None
    if args.action == "add":
        name, n = lib.add_tag(label, photos, tag_set)
        print(f"Tagged {n:,} photo(s) “{label}” ({name}).")
    else:
        name, n = lib.remove_tag(label, photos, tag_set)
        print(f"Removed “{label}” ({name}) from {n:,} photo(s).")
    return 0


def _trash(lib, photos: Sequence[str], yes: bool, with_pair: bool) -> int:
    if not yes:
        pairs = 0
        if with_pair:
            recs = [lib.photo_by_path(p) for p in photos]
            pairs = sum(len(lib.pair_files(r.id)) for r in recs if r is not None)
        n = len(dict.fromkeys(os.path.abspath(p) for p in photos))
        what = f"{n:,} photo{'s' if n != 1 else ''}" + (f" and {pairs:,} paired file{'s' if pairs != 1 else ''}"
                                                       if pairs else "")
        try:
            answer = input(f"Move {what} to the trash? [y/N] ")
        except EOFError:
            answer = ""
        if answer.strip().casefold() not in ("y", "yes"):
            print("Nothing was moved.")
            return 1
    report = lib.trash(photos, with_pairs=with_pair)
    print(report.summary())
    for line in report.failure_lines():
        print(f"  {line}", file=sys.stderr)
    return 1 if report.failed else 0


def _search(lib, args) -> None:
    if args.like_tag:
        if ":" not in args.like_tag:
            raise PhotoclipError("--like-tag takes SET:LABEL, e.g. scenes:beach")
        if args.query or args.image:
            raise PhotoclipError("--like-tag finds photos by a tag's examples: leave out the query and --image.")
        from .core.search import sort_results

        tag_set, _, label = args.like_tag.partition(":")
        browsing = False
        results = sort_results(lib.like_tag(tag_set, label, limit=args.limit, where=_photo_filter(args)), args.sort)
    else:
        browsing = not args.query and not args.image
        results = lib.search(args.query, args.image, weight=args.weight, limit=args.limit,
                             where=_photo_filter(args), sort=args.sort)
    if args.json:
        print(json.dumps([{"path": r.path, "score": None if browsing else round(r.score, 6), "taken": r.taken_at,
                           "camera": r.camera, "lens": r.lens, "place": r.place, "width": r.width,
                           "height": r.height, "kind": r.kind} for r in results], indent=1))
    elif not results:
        print("No photos found." if lib.photo_count() else
              "The library is empty: add photos with 'photoclip index FOLDER'.")
    elif browsing:
        for r in results:
            when = (r.taken_at or "")[:16].replace("T", " ")
            print(f"{when:16}  {display_path(r.path)}")
    else:
        for r in results:
            print(f"{r.score:6.3f}  {display_path(r.path)}")


def _subfolders(lib, path: str) -> None:
    """The subfolders of PATH with their photos (in them and below; directly in them where fewer)."""
    own = lib.directory_counts(path)
    if not own.total:
        raise PhotoclipError(f"No photo of the library is in {display_path(own.path)}.")
    print(f"{own.total:8,}  {display_path(own.path)}" + (f"  ({own.photos:,} directly in it)" if own.subfolders else ""))
    for sub in lib.subfolders(path):
        here = f"  ({sub.photos:,} directly in it)" if sub.photos != sub.total else ""
        print(f"{sub.total:8,}    {sub.name}{os.sep}{here}")


def _tagsets(lib, args) -> int:
    from .core.tagging import TagSet, dump_tagsets_toml, normalise_label

    action = args.action or "list"
    if action == "list":
        sets = lib.tag_sets()
        if not sets:
            print("No tag sets. Create one: photoclip tagsets add NAME LABEL [LABEL...]")
        counts = lib.tag_counts()
        for ts in sets:
            extra = f", threshold {ts.threshold:g}" if ts.mode == "multi" else ""
            if ts.mode == "single" and ts.abstain is not None:
                extra = f", no label below {ts.abstain:g}"
            state = "" if ts.enabled else " [disabled]"
            print(f"{ts.name} ({ts.mode}{extra}){state}: {', '.join(ts.labels)}")
            for label, n in counts.get(ts.name, {}).items():
                print(f"    {n:8,}  {label}")
    elif action == "add":
        ts = lib.save_tag_set(TagSet(args.name, args.labels, args.mode, args.threshold, args.templates,
                                     not args.disabled, abstain=args.abstain))
        for given in args.labels:
            if given.strip() and normalise_label(given) != given:
                print(f"note: label {given!r} saved as {normalise_label(given)!r}")
        print(f"Saved tag set '{ts.name}' ({len(ts.labels)} labels). Run 'photoclip tag' to tag your photos.")
    elif action == "remove":
        lib.delete_tag_set(args.name)
        print(f"Deleted tag set '{args.name}'.")
    elif action == "import":
        sets = lib.import_tag_sets(args.file)
        print(f"Imported {len(sets)} tag set(s): {', '.join(t.name for t in sets)}")
    elif action == "export":
        from pathlib import Path

        Path(args.file).write_text(dump_tagsets_toml(lib.tag_sets()), "utf-8")
        print(f"Wrote {args.file}")
    return 0


def _status(lib, as_json: bool) -> None:
    st = lib.status()
    if as_json:
        print(json.dumps(st, indent=1))
        return
    print(f"Library:  {st['library']}")
    print(f"Model:    {st['model']}{'' if st['model_ready'] else ' (weights not downloaded yet)'}")
    print(f"Device:   {st['device']}")
    print(f"Precision: {st['precision']}" + (f", in use {st['precision_in_use']}" if st["precision_in_use"] else ""))
    if st["warm_model"]:
        w = st["warm_model"]
        print(f"Searches: use the model loaded by process {w['pid']} ({w['precision']} on {w['device']}): "
              "no model load")
    print(f"Photos:   {st['photos']:,} ({st['embedded']:,} of {st['distinct_photos']:,} distinct images indexed)")
    print("Folders:" + ("" if st["folders"] else "  none (photoclip index FOLDER)"))
    for f in st["folders"]:
        print(f"  {f['photos']:8,}  {f['path']}{'' if f['online'] else '  (offline)'}")
    for title, key in (("Cameras", "cameras"), ("Years", "years"), ("Places", "places")):
        counts = st[key]
        if counts:
            shown = ", ".join(f"{name} ({n:,})" for name, n in list(counts.items())[:8])
            print(f"{title + ':':9} {shown}{', …' if len(counts) > 8 else ''}")
    print(f"Tag sets: {', '.join(t['name'] + ('' if t['enabled'] else ' (disabled)') for t in st['tag_sets']) or 'none'}")
    print(f"Problems: {st['problems']:,}")
    for p in st["problem_files"][:20]:
        print(f"  {p['path']}: {p['reason']}")


def _duplicates(lib, threshold: float, as_json: bool) -> None:
    if not 0.0 < threshold <= 1.0:
        raise PhotoclipError("--threshold must be more than 0 and at most 1.")
    groups = lib.duplicates(threshold)
    if as_json:
        print(json.dumps([{
            "keeper": g.keeper.path,
            "similarity": round(g.similarity, 6),
            "exact": g.exact,
            "photos": [{"path": p.path, "width": p.width, "height": p.height, "size": p.size,
                        "taken": p.taken_at, "folder": p.folder, "keep": i == 0}
                       for i, p in enumerate(g.photos)],
        } for g in groups], indent=1))
        return
    if not groups:
        print("No duplicates found.")
        return
    extra = sum(len(g.others) for g in groups)
    print(f"{len(groups):,} group(s) of duplicates; {extra:,} photo(s) could go.")
    for g in groups:
        kind = "same file content" if g.exact else f"similarity >= {g.similarity:.3f}"
        print(f"\n{len(g.photos)} photos, {kind}:")
        for i, p in enumerate(g.photos):
            size = f"{p.width}x{p.height}" if p.width and p.height else "?"
            print(f"  {'keep' if i == 0 else '    '}  {size:>11}  {display_path(p.path)}")


def self_test(verbose: bool = False) -> int:
    """Index and search a generated image with a tiny random model in a temporary library.
    Quiet (the tiny model's random weights are the point here, not a warning) unless -v."""
    import tempfile

    root = logging.getLogger()
    level = root.level
    if not verbose:
        root.setLevel(logging.ERROR)
    try:
        return _self_test(tempfile)
    finally:
        root.setLevel(level)


def _self_test(tempfile) -> int:
    from PIL import Image, ImageDraw

    from .core.library import Library

    with tempfile.TemporaryDirectory(prefix="photoclip-selftest-") as tmp:
        photos = os.path.join(tmp, "photos")
        os.makedirs(photos)
        img = Image.new("RGB", (96, 64), (30, 90, 200))
        ImageDraw.Draw(img).ellipse((20, 10, 60, 50), fill=(230, 40, 40))
        img.save(os.path.join(photos, "test.jpg"))
        config = os.path.join(tmp, "tiny.json")
        with open(config, "w") as f:
            json.dump({"embed_dim": 32, "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 8},
                       "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2,
                                    "layers": 1}}, f)
        os.environ.setdefault("PHOTOCLIP_MODELS", os.path.join(tmp, "models"))
        lib = Library(os.path.join(tmp, "library"), model=config, pretrained="random", device="cpu")
        try:
            report = lib.index([photos], tag=False)
            results = lib.search("a red circle", limit=1)
        finally:
            lib.close()
        ok = report.added == 1 and len(results) == 1 and results[0].path.endswith("test.jpg")
        import open_clip
        import torch

        print(f"self-test {'OK' if ok else 'FAILED'}: decoded a JPEG, embedded it with a tiny open_clip model "
              f"on the CPU, stored it in a temporary library and found it by a text search "
              f"(indexed {report.added}, found {len(results)}; photoclip {__version__}, torch {torch.__version__}, "
              f"open_clip {open_clip.__version__})")
        return 0 if ok else 1


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING - 10 * min(args.verbose or 0, 2),
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.self_test:
            return self_test(verbose=bool(args.verbose))
        if args.install_desktop_entry:
            from .desktop import install_desktop_entry

            for path in install_desktop_entry():
                print(f"wrote {path}")
            return 0
        if not args.command:
            parser.print_help()
            return 2
        if args.command == "tagsets" and not getattr(args, "action", None):
            args.action = "list"
        return run(args)
    except (Cancelled, KeyboardInterrupt):
        print("\nInterrupted; everything indexed so far is kept.", file=sys.stderr)
        return 130
    except PhotoclipError as exc:
        print(f"photoclip: error: {exc}", file=sys.stderr)
        return 1
