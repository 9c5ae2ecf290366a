//! Step 1's field: whatever is typed, parsing must not panic, and what it accepts must be stable
//! (an accepted email or phone number parses again to itself).
#![no_main]

use libfuzzer_sys::fuzz_target;
use server::domain::identifier::{EmailAddress, Identifier, PhoneNumber};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let _ = app::ident::classify(s);
    match Identifier::parse(s, phonenumber::country::Id::SE) {
        Some(Identifier::Email(e)) => {
            assert_eq!(EmailAddress::parse(e.as_str()).as_ref(), Some(&e));
            let _ = e.masked();
        }
        Some(Identifier::Phone(p)) => {
            assert!(p.e164().starts_with('+'));
            assert_eq!(PhoneNumber::parse(p.e164(), phonenumber::country::Id::SE).as_ref(), Some(&p));
            let masked = p.masked();
            assert!(masked.starts_with('+'));
            let _ = p.prefix();
        }
        None => {}
    }
});
