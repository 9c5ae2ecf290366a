//! Reusable widgets. Each one owns its accessibility wiring (labels, descriptions, live regions,
//! focus), so pages only say what to show.

mod alert;
mod dialog;
mod header;
mod heading;
mod live;
mod new_password;
mod password_field;
mod policy_checklist;
mod primary_button;
mod public_page;
mod reset_steps;
mod shell;
mod stepper;
mod strength_meter;
mod text_field;
mod toast;

pub use alert::{Alert, AlertKind};
pub use dialog::Dialog;
pub use header::{AdminNav, Header};
pub use heading::PageHeading;
pub use live::{announce, provide_announcer, LiveRegion};
pub use new_password::{apply_server_error, check_new_password, NewPasswordFields, PasswordErrors};
pub use password_field::PasswordField;
pub use policy_checklist::PolicyChecklist;
pub use primary_button::PrimaryButton;
pub use public_page::PublicPage;
pub use reset_steps::{ChooseNewPassword, ResetComplete};
pub use shell::{replace, Session, Shell};
pub use stepper::Stepper;
pub use strength_meter::StrengthMeter;
pub use text_field::TextField;
pub use toast::Toast;

use std::cell::Cell;

thread_local! {
    static NEXT_ID: Cell<u32> = const { Cell::new(0) };
}

/// A document-unique element id, for `for=`, `aria-describedby` and `aria-labelledby`.
pub fn unique_id(prefix: &str) -> String {
    let n = NEXT_ID.with(|c| {
        let n = c.get().wrapping_add(1);
        c.set(n);
        n
    });
    format!("{prefix}-{n}")
}

/// Joins the ids that describe a control, or nothing when there are none.
pub fn describedby(ids: &[Option<&str>]) -> Option<String> {
    let joined = ids.iter().flatten().copied().collect::<Vec<_>>().join(" ");
    (!joined.is_empty()).then_some(joined)
}
