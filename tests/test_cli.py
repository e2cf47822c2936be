"""The command line as a user runs it: real subprocesses, a tiny random model, a temporary library."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest


@pytest.fixture
def cli(tmp_path):
    env = dict(os.environ, PHOTOCLIP_HOME=str(tmp_path / "lib"), PHOTOCLIP_MODELS=str(tmp_path / "models"))

    def run(*args, check=True):
        proc = subprocess.run([sys.executable, "-m", "photoclip", *args], env=env, capture_output=True,
                              text=True, timeout=300)
        if check and proc.returncode != 0:
            raise AssertionError(f"photoclip {args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc

    return run


def test_cli_index_search_tag_export_status(cli, photo_folder, tiny_config, tmp_path):
    out = cli("index", str(photo_folder), "--model", tiny_config, "--pretrained", "random", "--no-tag")
    assert "12 new" in out.stdout
    assert "WARNING" in out.stderr and "random" in out.stderr  # random weights are announced loudly
    # progress lines (not a terminal: plain lines, no bar)
    assert "Indexing photos" in out.stderr
    # the library remembers its model: search needs no --model
    res = json.loads(cli("search", "a red circle", "--json", "--limit", "5").stdout)
    assert len(res) == 5 and all(set(r) == {"path", "score", "taken", "camera", "lens", "place", "width", "height",
                                            "kind"} for r in res)
    assert [r["score"] for r in res] == sorted((r["score"] for r in res), reverse=True)
    plain = cli("search", "a red circle", "--limit", "5").stdout.splitlines()
    assert [line.split(None, 1)[1] for line in plain] == [r["path"] for r in res]
    sim = json.loads(cli("search", "--image", res[0]["path"], "--json", "--limit", "1").stdout)
    assert sim[0]["path"] == res[0]["path"]

    cli("tagsets", "add", "colours", "red", "green", "blue", "--mode", "single")
    toml = tmp_path / "mine.toml"
    toml.write_text('[[tagset]]\nname = "shapes"\nmode = "multi"\nthreshold = 0.2\nlabels = ["circle", "square"]\n'
                    '[[tagset]]\nname = "sure shapes"\nlabels = ["circle", "square"]\nabstain = 0.99\n')
    assert "shapes" in cli("tagsets", "import", str(toml)).stdout
    assert "Tagged" in cli("tag", "--set", "colours", "--set", "shapes", "--set", "sure shapes").stdout
    listing = cli("tagsets", "list").stdout
    assert "colours (single)" in listing and "shapes (multi, threshold 0.2)" in listing
    assert "sure shapes (single, no label below 0.99)" in listing

    dest = tmp_path / "tags.csv"
    cli("export-tags", str(dest))
    with open(dest, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    colour_rows = [r for r in rows if r["tag_set"] == "colours"]
    assert len(colour_rows) == 12 and {r["tag"] for r in colour_rows} <= {"red", "green", "blue"}
    # the set's own abstain score: with two labels and random weights no photo is 99 % sure
    assert not [r for r in rows if r["tag_set"] == "sure shapes"]

    status = json.loads(cli("status", "--json").stdout)
    assert status["photos"] == 12 and status["embedded"] == 12 and status["problems"] == 0
    assert status["folders"][0]["photos"] == 12
    assert "Photos:   12" in cli("status").stdout

    # re-running on an unchanged folder: nothing embedded
    assert "12 unchanged" in cli("index").stdout


def test_cli_errors_are_readable(cli, tmp_path):
    proc = cli("index", str(tmp_path / "missing"), check=False)
    assert proc.returncode == 1 and "Not a folder" in proc.stderr and "Traceback" not in proc.stderr
    proc = cli("search", "--after", "last summer", check=False)
    assert proc.returncode == 1 and "expected YYYY-MM-DD" in proc.stderr and "Traceback" not in proc.stderr
    proc = cli("search", "--after", "2024-07-01", "--before", "2024-06-01", check=False)
    assert proc.returncode == 1 and "the date range is empty" in proc.stderr
    proc = cli("tagsets", "import", str(tmp_path / "nope.toml"), check=False)
    assert proc.returncode == 1 and "Cannot read" in proc.stderr
    proc = cli("search", "x", "--tag", "nocolon", check=False)
    assert proc.returncode == 1 and "SET:LABEL" in proc.stderr


def test_cli_version_and_self_test(cli):
    assert cli("--version").stdout.startswith("photoclip ")
    out = cli("--self-test")
    assert "self-test OK" in out.stdout and "text search" in out.stdout  # says what it checked
    assert "WARNING" not in out.stderr and "random" not in out.stderr.lower(), out.stderr  # and quietly


def test_library_and_model_options_work_before_and_after_every_subcommand(cli, tmp_path, tiny_config):
    from photoclip.cli import build_parser

    parser = build_parser()
    commands = [["index"], ["search", "q"], ["tagsets", "list"], ["tagsets", "add", "s", "a", "b"],
                ["tagsets", "remove", "s"], ["tagsets", "import", "f.toml"], ["tagsets", "export", "f.toml"],
                ["tag"], ["export-tags", "t.csv"], ["status"], ["folders"], ["download-model"], ["watch"],
                ["duplicates"]]
    opts = ["--library", "L", "--model", "M", "--pretrained", "P", "--device", "cpu", "--threads", "1",
            "--precision", "bf16"]
    for command in commands:
        for argv in (opts + command, command + opts):
            args = parser.parse_args(argv)
            assert (args.library, args.model, args.pretrained, args.device, args.threads,
                    args.precision) == ("L", "M", "P", "cpu", 1, "bf16"), argv
    # and for real: a tag set added with the library named after the action lands in that library
    other = str(tmp_path / "other-lib")
    cli("tagsets", "add", "colours", "red", "green", "--library", other, "--model", tiny_config,
        "--pretrained", "random")
    assert "colours (single)" in cli("--library", other, "tagsets", "list").stdout
    assert "colours (single)" not in cli("tagsets", "list").stdout


def test_labels_are_normalised_once_and_the_user_is_told(cli, tiny_config):
    out = cli("tagsets", "add", "sky", "\tnight  sky\r", "sunset", " dawn", "--model", tiny_config,
              "--pretrained", "random").stdout
    assert "saved as 'night sky'" in out and "saved as 'dawn'" in out and "'sunset'" not in out
    from photoclip.core.tagging import TagSet

    assert TagSet("s", ["\tnight  sky\r", "night sky", "sunset"]).validate().labels == ["night sky", "sunset"]
