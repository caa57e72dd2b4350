//! The repository carries what its code cites: every `btp-api.md §N.M` and `clients.md §N` in the
//! sources and docs names a section that exists in `docs/`, so a clone without anything beside it
//! can follow every reference.

use std::collections::BTreeSet;
use std::path::Path;

use crate::root;

/// Section numbers of a Markdown file: `## 2. Title` gives `2`, `### 2.3 Title` gives `2.3`.
fn sections(markdown: &str) -> BTreeSet<String> {
    markdown
        .lines()
        .filter(|l| l.starts_with("## ") || l.starts_with("### "))
        .filter_map(|l| {
            let number = l.trim_start_matches('#').trim().split(' ').next()?;
            let number = number.trim_end_matches('.');
            number
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.')
                .then(|| number.to_owned())
                .filter(|n| !n.is_empty())
        })
        .collect()
}

/// Every `<doc> §N[.M]` in `text`, with the doc's name.
fn references(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for doc in ["btp-api.md", "clients.md"] {
        let marker = format!("{doc} §");
        let mut rest = text;
        while let Some(at) = rest.find(&marker) {
            rest = &rest[at + marker.len()..];
            let number: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let number = number.trim_end_matches('.').to_owned();
            if !number.is_empty() {
                out.push((doc.to_owned(), number));
            }
        }
    }
    out
}

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if !matches!(name.as_str(), "target" | "fixtures" | ".git") {
                files(&path, out);
            }
        } else if name.ends_with(".rs") || name.ends_with(".md") {
            out.push(path);
        }
    }
}

#[test]
fn every_cited_section_of_the_api_reference_exists_in_the_repository() {
    let root = root();
    let docs: Vec<(String, BTreeSet<String>)> = ["btp-api.md", "clients.md"]
        .iter()
        .map(|d| {
            let text = std::fs::read_to_string(root.join("docs").join(d)).unwrap();
            ((*d).to_owned(), sections(&text))
        })
        .collect();
    assert!(
        docs[0].1.contains("2.3") && docs[0].1.contains("10"),
        "{docs:?}"
    );
    let mut paths = Vec::new();
    files(&root.join("crates"), &mut paths);
    paths.push(root.join("README.md"));
    let mut cited = 0;
    let mut dangling = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap();
        for (doc, number) in references(&text) {
            cited += 1;
            let known = docs.iter().find(|(d, _)| *d == doc).map(|(_, s)| s);
            if !known.is_some_and(|s| s.contains(&number)) {
                dangling.push(format!("{}: {doc} §{number}", path.display()));
            }
        }
    }
    assert!(cited > 100, "the check found the references ({cited})");
    assert!(
        dangling.is_empty(),
        "references to no section:\n{}",
        dangling.join("\n")
    );
}

#[test]
fn the_check_reads_numbers_as_written() {
    assert_eq!(
        references("see btp-api.md §2.10, and clients.md §3."),
        vec![
            ("btp-api.md".to_owned(), "2.10".to_owned()),
            ("clients.md".to_owned(), "3".to_owned())
        ]
    );
    assert!(sections("## 2. CF\n### 2.10 Codes\n").contains("2.10"));
    assert!(!sections("## 2. CF\n").contains("2.1"));
}
