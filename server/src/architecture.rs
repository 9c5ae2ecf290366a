//! The layering the code promises, checked: no import circle among the top-level modules, and
//! no SQL, no store of reset state and no rate-limit bookkeeping in the HTTP handlers. A change
//! that breaks the shape fails here, not in a review months later.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every `.rs` file under `dir`, with its text (test modules cut off: tests may reach anywhere).
fn sources(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            let text = text
                .split("#[cfg(test)]\nmod tests")
                .next()
                .unwrap_or_default()
                .to_string();
            out.push((path.display().to_string(), text));
        }
    }
    out
}

fn src() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The top-level module a file belongs to (`routes/admin.rs` -> `routes`).
fn module_of(root: &Path, file: &str) -> String {
    let rel = Path::new(file).strip_prefix(root).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// `crate::name` references in a text.
fn crate_refs(text: &str) -> BTreeSet<String> {
    text.match_indices("crate::")
        .map(|(i, _)| {
            text[i + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect::<String>()
        })
        .filter(|m| !m.is_empty())
        .collect()
}

#[test]
fn no_module_depends_on_itself_through_others() {
    let root = src();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (file, text) in sources(&root) {
        let module = module_of(&root, &file);
        if module == "tests" || file.ends_with("/tests.rs") || file.ends_with("architecture.rs") {
            continue;
        }
        let refs: Vec<String> = crate_refs(&text)
            .into_iter()
            .filter(|m| *m != module)
            .collect();
        graph.entry(module).or_default().extend(refs);
    }
    // A module that reaches itself again through its dependencies is in a circle.
    for start in graph.keys() {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<&String> = graph[start].iter().collect();
        while let Some(m) = stack.pop() {
            assert!(m != start, "{start} imports itself through {seen:?}");
            if seen.insert(m.clone()) {
                stack.extend(graph.get(m).into_iter().flatten());
            }
        }
    }
    assert!(graph.contains_key("routes") && graph.contains_key("reset"));
}

#[test]
fn handlers_hold_no_sql_and_no_reset_state() {
    let root = src().join("routes");
    for (file, text) in sources(&root) {
        for forbidden in [
            "sqlx::query",
            "store::reset",
            "store::limits",
            "code_hash",
            "token_hash(\"reset",
        ] {
            assert!(!text.contains(forbidden), "{file} uses {forbidden}");
        }
    }
}

#[test]
fn the_check_sees_a_circle_and_sql_when_there_is_one() {
    // The detectors themselves: a reference is found, a test module is cut off.
    let refs = crate_refs("use crate::store::reset; crate::routes::x();");
    assert_eq!(
        refs.into_iter().collect::<Vec<_>>(),
        vec!["routes".to_string(), "store".to_string()]
    );
    let cut = "a\n#[cfg(test)]\nmod tests { crate::x }"
        .split("#[cfg(test)]\nmod tests")
        .next()
        .unwrap();
    assert!(!cut.contains("crate::x"));
}
