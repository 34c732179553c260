//! Every alert in the registry has a Lambda binary, and every alert binary runs a registry entry.

use std::collections::BTreeMap;
use std::path::Path;

use tripline_functions::binary_name;
use tripline_runtime::registry;

/// `src/bin/*.rs` that call `run_alert("…")`: file stem → alert name.
fn alert_binaries() -> BTreeMap<String, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/bin");
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("directory entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let Some(start) = text.find("run_alert(\"") else { continue };
        let rest = &text[start + "run_alert(\"".len()..];
        let name = rest.split('"').next().unwrap_or_default().to_string();
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
        assert!(out.insert(stem.clone(), name).is_none(), "{stem} listed twice");
    }
    out
}

#[test]
fn every_registry_entry_has_a_binary() {
    let bins = alert_binaries();
    let entries = registry::entries();
    assert!(!entries.is_empty(), "the registry is empty");
    for e in &entries {
        let stem = binary_name(e.name);
        assert_eq!(
            bins.get(&stem).map(String::as_str),
            Some(e.name),
            "functions/src/bin/{stem}.rs must call tripline_runtime::lambda::run_alert(\"{}\")",
            e.name
        );
    }
}

#[test]
fn every_alert_binary_runs_a_registry_entry_named_like_it() {
    let bins = alert_binaries();
    assert!(!bins.is_empty(), "no alert binaries found");
    for (stem, name) in &bins {
        assert!(
            registry::find(name).is_some(),
            "src/bin/{stem}.rs runs {name:?}, which is not in the registry"
        );
        assert_eq!(
            stem,
            &binary_name(name),
            "src/bin/{stem}.rs runs {name:?}: name the file after the alert"
        );
    }
    assert_eq!(bins.len(), registry::entries().len());
}
