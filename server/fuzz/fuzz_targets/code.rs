//! Step 2's field: a pasted code is either exactly six ASCII digits after dropping spaces and
//! dashes, or refused; the policy check never panics on any password either.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Some(code) = app::ident::normalize_code(s) {
        assert_eq!(code.len(), 6);
        assert!(code.bytes().all(|b| b.is_ascii_digit()));
    }
    let _ = app::policy::check(&app::policy::PolicyConfig::modern(), s, &["zoom".to_string()]);
    let _ = app::policy::check(&app::policy::PolicyConfig::classic(), s, &[]);
});
