//! A message about the whole form rather than one field.

use leptos::prelude::*;

/// How an [`Alert`] looks and how urgently it is announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertKind {
    /// A failure: `role=alert`, read at once.
    Error,
    /// Guidance such as "sign in with Google": `role=status`.
    Info,
    /// A success: `role=status`.
    Success,
}

/// A boxed message with the right live-region role for its kind.
#[component]
pub fn Alert(
    /// Error, info or success.
    kind: AlertKind,
    /// The message and any links.
    children: Children,
) -> impl IntoView {
    let (role, class) = match kind {
        AlertKind::Error => ("alert", "alert alert-error"),
        AlertKind::Info => ("status", "alert alert-info"),
        AlertKind::Success => ("status", "alert alert-success"),
    };
    view! {
        <div role=role class=class>
            {children()}
        </div>
    }
}
