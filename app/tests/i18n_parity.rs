//! The translation key-parity check: every key of the English table has a Swedish text with the
//! same `{placeholders}`. The compiler already refuses a missing key (each table is an exhaustive
//! `match`); this catches a dropped or misspelt placeholder, which would show "{name}" to users.
//! It reads the tables as text so it runs without the `csr` feature.

use std::collections::{BTreeMap, BTreeSet};

const EN: &str = include_str!("../src/i18n/en.rs");
const SV: &str = include_str!("../src/i18n/sv.rs");

/// `Key => "text",` lines of a table, by key.
fn table(source: &str) -> BTreeMap<&str, &str> {
    source
        .lines()
        .filter_map(|line| {
            let (key, rest) = line.trim().split_once(" => \"")?;
            let text = rest.strip_suffix("\",")?;
            key.chars()
                .all(|c| c.is_ascii_alphanumeric())
                .then_some((key, text))
        })
        .collect()
}

fn placeholders(text: &str) -> BTreeSet<&str> {
    text.split('{')
        .skip(1)
        .filter_map(|part| part.split_once('}').map(|(name, _)| name))
        .collect()
}

#[test]
fn english_and_swedish_have_the_same_keys() {
    let (en, sv) = (table(EN), table(SV));
    assert!(en.len() > 100, "the English table was not parsed");
    let en_keys: BTreeSet<_> = en.keys().collect();
    let sv_keys: BTreeSet<_> = sv.keys().collect();
    assert_eq!(en_keys, sv_keys);
}

#[test]
fn every_translation_keeps_the_placeholders_and_says_something() {
    let sv = table(SV);
    for (key, text) in table(EN) {
        let other = sv.get(key).copied().unwrap_or_default();
        assert!(
            !text.trim().is_empty() && !other.trim().is_empty(),
            "{key} is empty"
        );
        assert_eq!(
            placeholders(text),
            placeholders(other),
            "placeholders of {key}"
        );
    }
}

#[test]
fn the_words_the_product_promises_in_swedish_are_there() {
    let sv: BTreeSet<&str> = table(SV).into_values().collect();
    for word in [
        "Glömt lösenord",
        "E-postadress eller telefonnummer",
        "Nästa",
        "Verifieringskod",
        "Skicka koden igen",
        "Nytt lösenord",
        "Bekräfta nytt lösenord",
        "Spara",
        "Gå till Mina möten",
        "Mina möten",
        "Användarhantering",
    ] {
        assert!(sv.contains(word), "{word}");
    }
    let all = SV;
    assert!(all.contains("Kontot finns inte"));
    assert!(all.contains("Länken har upphört att gälla"));
}
