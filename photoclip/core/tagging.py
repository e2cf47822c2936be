"""Tag sets and zero-shot tagging: prompt-ensembled label embeddings scored against photo vectors."""

from __future__ import annotations

import hashlib
import json
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from .errors import PhotoclipError, StorageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


#: where a tag added by hand (or read from a photo's keywords) goes when no tag set has its label
MY_TAGS = "My tags"
log = logging.getLogger("photoclip.tagging")

# The prompt ensemble (the CLIP paper's trick): each label's embedding is the normalised mean of
# these templates' embeddings.
DEFAULT_TEMPLATES = (
    "a photo of a {}.",
    "a photo of the {}.",
    "a close-up photo of a {}.",
    "a bright photo of a {}.",
    "a cropped photo of a {}.",
    "a good photo of a {}.",
    "a photo of a small {}.",
    "a photo of a large {}.",
    "an image of a {}.",
    "a picture of a {}.",
)

MODES = ("single", "multi")
DEFAULT_THRESHOLD = 0.3


def normalise_label(label: str) -> str:
    """How a label is stored: leading and trailing whitespace (spaces, tabs, CR) dropped, every
    inner run of whitespace one space ("night\tsky " -> "night sky")."""
    return " ".join(label.split())


def clean_labels(labels: Sequence[str]) -> list[str]:
    """Labels as a set keeps them: normalised, blanks dropped, repeats (ignoring case) dropped with
    the first spelling kept ("Dog" and "dog" are one label)."""
    seen: set[str] = set()
    out: list[str] = []
    for label in labels:
        label = normalise_label(label or "")
        if label and label.casefold() not in seen:
            seen.add(label.casefold())
            out.append(label)
    return out


def template_problem(template: str) -> Optional[str]:
    """Why a prompt template cannot be used, or None when it is fine."""
    if "{}" not in template:
        return f"“{template}” has no {{}} where the label goes."
    try:
        filled = template.format("\0")
    except (IndexError, KeyError, ValueError):
        filled = ""
    if filled.count("\0") != 1:
        return f"“{template}” has braces other than {{}}; use {{}} once for the label."
    return None


@dataclass
class TagSet:
    name: str
    labels: list[str]
    mode: str = "single"
    threshold: float = DEFAULT_THRESHOLD
    templates: Optional[list[str]] = None
    enabled: bool = True
    id: Optional[int] = field(default=None, compare=False)
    #: single mode: no label when the best scores below this (0..1); None: the library's setting
    abstain: Optional[float] = None

    def problem(self, taken_names: Sequence[str] = ()) -> str:
        """Why this set cannot be saved ("" when it can); ``taken_names`` are the other sets' names.
        The one rule, for the CLI, the tag-set files and the editor alike."""
        name = (self.name or "").strip()
        if not name:
            return "Give the tag set a name."
        if name.casefold() in {n.casefold() for n in taken_names}:
            return f"There is already a tag set called “{name}”. Choose another name."
        labels = clean_labels(self.labels)
        if not labels:
            return f"Tag set “{name}” needs at least one label (one per line)."
        if len(labels) == 1:
            return (f"Tag set “{name}”: add at least one more label: scores compare the labels of a set with "
                    "each other, so a set with a single label would give it to every photo.")
        if self.mode not in MODES:
            return f"Tag set “{name}”: mode must be 'single' or 'multi', not {self.mode!r}."
        if not 0.0 < float(self.threshold) < 1.0:
            return f"Tag set “{name}”: threshold must be between 0 and 1."
        if self.abstain is not None and not 0.0 <= float(self.abstain) < 1.0:
            return f"Tag set “{name}”: the score below which it gives no label must be from 0 to under 1."
        for template in self.templates or []:
            why = template.strip() and template_problem(template)
            if why:
                return why
        return ""

    def validate(self, taken_names: Sequence[str] = ()) -> "TagSet":
        """The set as stored (name stripped, labels cleaned), or PhotoclipError saying what is wrong."""
        why = self.problem(taken_names)
        if why:
            raise PhotoclipError(why)
        templates = [t for t in (self.templates or []) if t.strip()] or None
        return TagSet(self.name.strip(), clean_labels(self.labels), self.mode, float(self.threshold), templates,
                      bool(self.enabled), self.id, None if self.abstain is None else float(self.abstain))

    @property
    def prompt_templates(self) -> Sequence[str]:
        return self.templates or DEFAULT_TEMPLATES


def parse_tagsets_toml(text: str, source: str = "tag set file") -> list[TagSet]:
    """A TOML file with [[tagset]] tables (or a single set at top level)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PhotoclipError(f"{source} is not valid TOML: {exc}") from exc
    tables = data.get("tagset")
    if tables is None:
        tables = [data] if "name" in data else []
    if isinstance(tables, dict):
        tables = [tables]
    if not tables:
        raise PhotoclipError(f"{source} defines no tag set (expected [[tagset]] tables with name and labels).")
    sets = []
    for table in tables:
        try:
            sets.append(TagSet(
                name=str(table["name"]), labels=[str(x) for x in table["labels"]],
                mode=str(table.get("mode", "single")), threshold=float(table.get("threshold", DEFAULT_THRESHOLD)),
                templates=[str(x) for x in table["templates"]] if table.get("templates") else None,
                enabled=bool(table.get("enabled", True)),
                abstain=float(table["abstain"]) if table.get("abstain") is not None else None).validate())
        except KeyError as exc:
            raise PhotoclipError(f"{source}: a tag set is missing '{exc.args[0]}'.") from exc
        except (TypeError, ValueError) as exc:
            raise PhotoclipError(f"{source}: a tag set has a wrong value: {exc}") from exc
    return sets


def load_tagsets_file(path: str | Path) -> list[TagSet]:
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise PhotoclipError(f"Cannot read {path}: {exc.strerror or exc}") from exc
    return parse_tagsets_toml(text, str(path))


def _toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'


def dump_tagsets_toml(sets: Sequence[TagSet]) -> str:
    out = []
    for ts in sets:
        out.append("[[tagset]]")
        out.append(f"name = {_toml_str(ts.name)}")
        out.append(f"mode = {_toml_str(ts.mode)}")
        out.append(f"threshold = {ts.threshold}")
        out.append(f"enabled = {'true' if ts.enabled else 'false'}")
        if ts.abstain is not None:
            out.append(f"abstain = {ts.abstain}")
        out.append("labels = [" + ", ".join(_toml_str(x) for x in ts.labels) + "]")
        if ts.templates:
            out.append("templates = [" + ", ".join(_toml_str(x) for x in ts.templates) + "]")
        out.append("")
    return "\n".join(out)


class LabelEmbeddings:
    """Prompt-ensembled text embeddings of tag sets, kept per (model key, precision, labels,
    templates) in memory and, with a ``folder``, in files there (one .npy per set, written
    atomically), so a new process does not encode every prompt again."""

    def __init__(self, embedder, folder: Optional[Path] = None) -> None:
        self.embedder = embedder
        self.folder = Path(folder) if folder is not None else None
        self._cache: dict[tuple, np.ndarray] = {}

    def _key(self, ts: TagSet) -> tuple:
        return (self.embedder.identity, self.embedder.precision, tuple(ts.labels),
                tuple(ts.prompt_templates))

    def file_for(self, ts: TagSet) -> Optional[Path]:
        if self.folder is None:
            return None
        digest = hashlib.sha256(json.dumps(self._key(ts)).encode()).hexdigest()[:32]
        return self.folder / f"{digest}.npy"

    def for_set(self, ts: TagSet) -> np.ndarray:
        key = self._key(ts)
        mat = self._cache.get(key)
        if mat is None:
            path = self.file_for(ts)
            mat = self._read(path, len(ts.labels)) if path is not None else None
            if mat is None:
                mat = self._encode(ts)
                if path is not None:
                    self._write(path, mat)
            self._cache[key] = mat
        return mat

    def _encode(self, ts: TagSet) -> np.ndarray:
        templates = list(ts.prompt_templates)
        prompts = [t.format(label) for label in ts.labels for t in templates]
        vecs = self.embedder.encode_texts(prompts).reshape(len(ts.labels), len(templates), -1)
        mat = vecs.mean(axis=1)
        mat /= np.linalg.norm(mat, axis=1, keepdims=True) + 1e-12
        return mat.astype(np.float32)

    def _read(self, path: Path, n_labels: int) -> Optional[np.ndarray]:
        try:
            mat = np.load(path, allow_pickle=False)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:  # a damaged file: encoded again and rewritten
            log.warning("label embeddings %s unreadable (%s); encoding them again", path.name, exc)
            return None
        if (mat.dtype != np.float32 or mat.shape != (n_labels, self.embedder.dim)
                or not np.isfinite(mat).all()):
            log.warning("label embeddings %s do not fit this tag set; encoding them again", path.name)
            return None
        return mat

    def _write(self, path: Path, mat: np.ndarray) -> None:
        from .paths import atomic_write

        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_write(path, "save label embeddings to", mode="wb") as f:
                np.save(f, mat, allow_pickle=False)
        except (OSError, StorageError) as exc:  # a cache: tagging goes on without it
            log.warning("%s", exc)


def label_probabilities(vectors: np.ndarray, label_matrix: np.ndarray, logit_scale: float) -> np.ndarray:
    """softmax(logit_scale · cos) over a set's labels, for each photo vector."""
    logits = logit_scale * (vectors @ label_matrix.T)
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)


def assign(ts: TagSet, probs: np.ndarray, thresholds: Optional[np.ndarray] = None,
           abstain: float = 0.0) -> list[list[tuple[str, float]]]:
    """The tags each photo gets: the best label (single; none when it scores below ``abstain``) or
    every label at or over its threshold (multi: ``thresholds``, one a label, else the set's)."""
    cut = np.full(len(ts.labels), ts.threshold) if thresholds is None else np.asarray(thresholds)
    out = []
    for row in probs:
        if ts.mode == "single":
            i = int(row.argmax())
            out.append([(ts.labels[i], float(row[i]))] if row[i] >= abstain else [])
        else:
            idx = np.flatnonzero(row >= cut)
            idx = idx[np.argsort(-row[idx])]
            out.append([(ts.labels[i], float(row[i])) for i in idx])
    return out
