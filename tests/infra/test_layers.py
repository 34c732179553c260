"""scripts/layers.py: the real tree passes; a planted upward dependency and a planted file cycle fail."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import layers  # noqa: E402


def test_the_real_tree_flows_one_way():
    assert layers.main() == 0


def crate(root, name, deps=(), files=None):
    d = root / "crates" / name.removeprefix("tripline-")
    (d / "src").mkdir(parents=True)
    lines = "\n".join(f'{x}.workspace = true' for x in deps)
    (d / "Cargo.toml").write_text(f'[package]\nname = "{name}"\n\n[dependencies]\n{lines}\n\n[dev-dependencies]\n')
    for path, text in (files or {"lib.rs": ""}).items():
        (d / "src" / path).write_text(text)


def run_on(tmp_path, monkeypatch, capsys):
    (tmp_path / "functions").mkdir()
    monkeypatch.setattr(layers, "ROOT", str(tmp_path))
    code = layers.main()
    return code, capsys.readouterr().out


def test_an_upward_dependency_fails(tmp_path, monkeypatch, capsys):
    crate(tmp_path, "tripline-event", deps=["tripline-dsl"])
    crate(tmp_path, "tripline-dsl", deps=["tripline-event"])
    code, out = run_on(tmp_path, monkeypatch, capsys)
    assert code == 1
    # (layer numbers follow scripts/layers.py's LAYERS and change when a layer is added)
    assert "tripline-event (layer" in out and "depends on tripline-dsl (layer" in out
    assert "dependencies flow down only" in out


def test_two_files_importing_each_other_fail(tmp_path, monkeypatch, capsys):
    crate(tmp_path, "tripline-event", files={
        "lib.rs": "mod a;\nmod b;\npub use a::A;\n",
        "a.rs": "use crate::b::B;\npub struct A;\n",
        "b.rs": "pub struct B;\nfn f() -> crate::a::A { crate::a::A }\n",
    })
    code, out = run_on(tmp_path, monkeypatch, capsys)
    assert code == 1
    assert "a.rs" in out and "b.rs" in out and "import each other" in out
